"""A short-lived writer (a command, a Job, a shell) that cannot reach Redis must not leave the
serving processes on the old catalog until the TTL: its invalidation is recorded in the database
and every worker honours it within one sweep (WAZEN_CACHE_PENDING_POLL_SECONDS)."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from testsupport.live_server import GunicornApp, manage
from testsupport.servers import free_port

pytestmark = pytest.mark.slow


def prices(app: GunicornApp, key: str) -> set[str]:
    request = urllib.request.Request(
        app.url("/api/v1/services"), headers={"Authorization": f"Bearer {key}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return {service["price"] for service in json.loads(response.read())["services"]}


def test_a_writer_that_lost_redis_reaches_every_worker_within_a_sweep(tmp_path, redis_server):
    if redis_server.process is None:
        redis_server.start()
    app = GunicornApp(tmp_path, redis_url=redis_server.url).start()
    try:
        key = app.seed_demo_key()
        for _ in range(20):  # both workers cache the catalog
            assert "4321.00" not in prices(app, key)
        lost = {**app.env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
        manage(
            "shell", "-c",
            "from catalog.models import Service; "
            "Service.objects.filter(company__slug='demo').update(price='4321.00')",
            env=lost,
        )  # fmt: skip
        written = time.monotonic()
        while prices(app, key) != {"4321.00"}:
            assert time.monotonic() - written < 5, "the lost invalidation never reached the server"
            time.sleep(0.1)
        for _ in range(40):  # and from then on, on every worker
            assert prices(app, key) == {"4321.00"}
    finally:
        app.stop()
