"""A rolling upgrade: two builds of the app whose cached payloads differ serve at once, from one
Redis and one PostgreSQL, under load, while the catalog is written through either build.

The second build is this tree with a field added to the catalog entry (what a real release that
extends the snapshot does). Expected: no response >= 500, no entry of one build read by the other
(both keep their own versioned entries), and every write visible through both builds at once,
since they share the generation keys.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import tarfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from testsupport.live_server import GunicornApp, metric_sum
from testsupport.paths import APP_DIR, REPO
from testsupport.servers import PostgresServer

pytestmark = [
    pytest.mark.slow,
    # It brings its own PostgreSQL: the suite's second pass (WAZEN_TEST_DB=postgres) would only
    # repeat it.
    pytest.mark.once,
]

FIELD_ANCHOR = "    category: str\n"


def next_build(target: Path) -> Path:
    """A copy of the app whose ServiceEntry gained a field with a default."""
    shutil.copytree(
        APP_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "db.sqlite3", "staticfiles")
    )
    snapshot = target / "catalog" / "snapshot.py"
    source = snapshot.read_text()
    assert source.count(FIELD_ANCHOR) == 1, "ServiceEntry changed: update this test's patch"
    snapshot.write_text(source.replace(FIELD_ANCHOR, FIELD_ANCHOR + '    badge: str = ""\n'))
    return target


def fetch(url: str, key: str, body: dict | None = None) -> tuple[int, dict | None]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url,
        data=data,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def write_through_each_and_read_through_both(builds, key: str, *, first_price: int) -> None:
    """A price written through each build in turn shows on every read that follows, through
    both builds at once (they share the generation keys)."""
    for round_, writer in enumerate((*builds, *builds)):
        price = f"{first_price + round_}.00"
        writer.manage(
            "shell", "-c",
            "from catalog.models import Service; "
            f"Service.objects.filter(company__slug='demo').update(price='{price}')",
        )  # fmt: skip
        for reader in builds:
            for _ in range(5):
                _, body = fetch(reader.url("/api/v1/services"), key)
                assert {s["price"] for s in body["services"]} == {price}, reader.app_dir
        time.sleep(0.3)


@contextlib.contextmanager
def serving(tmp_path: Path, redis_server, apps: dict[str, Path]) -> Iterator[list[GunicornApp]]:
    """Each build of the app under gunicorn, in order, over one Redis and one PostgreSQL."""
    if redis_server.process is None:
        redis_server.start()
    redis_server.cli("FLUSHALL")
    postgres = PostgresServer().start()
    builds = []
    try:
        for name, app_dir in apps.items():
            app = GunicornApp(
                tmp_path / name, redis_url=redis_server.url, app_dir=app_dir,
                database_url=postgres.url,
            )  # fmt: skip
            builds.append(app.start())
        yield builds
    finally:
        for app in builds:
            app.stop()
        postgres.stop()


@pytest.fixture
def two_builds(tmp_path, redis_server):
    apps = {"old": APP_DIR, "new": next_build(tmp_path / "next-app")}
    with serving(tmp_path, redis_server, apps) as builds:
        yield builds


def test_two_builds_share_one_redis_during_a_rollout(two_builds, redis_server):
    old, new = two_builds
    key = old.seed_demo_key()
    statuses: Counter = Counter()
    stop = threading.Event()

    def client(n: int) -> None:
        while not stop.is_set():
            app = (old, new)[n % 2]
            if n % 3:
                status, _ = fetch(app.url("/api/v1/services"), key)
            else:
                status, _ = fetch(app.url("/api/v1/chat"), key, {"message": "What do you offer?"})
            statuses[status] += 1
            n += 1

    clients = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for thread in clients:
        thread.start()
    try:
        write_through_each_and_read_through_both((old, new), key, first_price=500)
    finally:
        stop.set()
        for thread in clients:
            thread.join(15)

    assert sum(statuses.values()) > 100
    assert set(statuses) == {200}, statuses
    entries = redis_server.cli("KEYS", "wazen:1:catalog:v*").split()
    assert len({entry.split(":")[3] for entry in entries}) == 2  # one schema version per build
    shapes = {
        entry.split(":")[3]: set(json.loads(redis_server.cli("GET", entry))["d"]["services"][0])
        for entry in entries
    }
    assert sorted("badge" in fields for fields in shapes.values()) == [False, True]
    for app in (old, new):
        assert metric_sum(app.metrics(), "wazen_cache_requests_total", result="undecodable") == 0


# The build that landed before the cachekit / tenancy / catalog redesign (issue 19): its catalog
# app still holds Company and ApiKey, and its caches know nothing of recorded invalidations.
LANDED_BUILD = "4ef664d161c274f3fb27fb9f077ca4e97453373c"


def landed_build(target: Path) -> Path:
    """The app of LANDED_BUILD, from this repository's history."""
    target.mkdir(parents=True)
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", LANDED_BUILD, "app"],
            check=True, capture_output=True, timeout=60,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"the landed build {LANDED_BUILD} is not in this clone's history: {error}")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target / "app"


@pytest.fixture
def landed_and_new(tmp_path, redis_server):
    # The new build migrates first (the chart's migration Job); the landed one then finds the new
    # schema, as its pods still serving during the rollout do.
    apps = {"new": APP_DIR, "landed": landed_build(tmp_path / "landed")}
    with serving(tmp_path, redis_server, apps) as builds:
        yield builds


def test_the_landed_build_and_this_one_serve_together_with_writes_through_either(landed_and_new):
    new, landed = landed_and_new
    key = new.seed_demo_key()
    statuses: Counter = Counter()
    stop = threading.Event()

    def client(n: int) -> None:
        while not stop.is_set():
            statuses[fetch((new, landed)[n % 2].url("/api/v1/services"), key)[0]] += 1
            n += 1

    clients = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for thread in clients:
        thread.start()
    try:
        write_through_each_and_read_through_both((landed, new), key, first_price=700)
        # A key revoked through the landed build (its ApiKey lives in catalog.models).
        landed.manage(
            "shell", "-c",
            "from catalog.models import ApiKey; from django.utils import timezone; "
            "ApiKey.objects.update(revoked_at=timezone.now())",
        )  # fmt: skip
        for reader in (new, landed):
            assert fetch(reader.url("/api/v1/services"), key)[0] == 401, reader.app_dir
    finally:
        stop.set()
        for thread in clients:
            thread.join(15)
    assert sum(statuses.values()) > 50
    assert set(statuses) <= {200, 401}, statuses
