"""A rolling upgrade in the twin: pods of the previous app image are replaced one by one by pods
of this one, under a client that always talks to the current rotation (the Service's endpoints),
with the database already migrated (the chart's migration Job runs before pods roll).

While both builds serve, they share Redis: their cache entries are versioned apart, their
generations are shared, so a write through either is seen by both at once. Expected: 0 failed
requests and correct data throughout.

The previous image is built from `PREVIOUS_APP_REF` (default: the parent of the last commit that
changed app/), or taken as is from `PREVIOUS_IMAGE` when that image exists. (The file is named
to run after test_stack.py, whose latency checks read a window this test's traffic would skew.)
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time

import pytest

from testsupport.k8s.chartinfo import ROOT
from testsupport.k8s.clients import ChatClient, log
from testsupport.k8s.twin import LocalStack, container_env, podman

PREVIOUS_IMAGE = os.environ.get("PREVIOUS_IMAGE", "localhost/wazen-ai:previous")


def git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def previous_ref() -> str:
    if ref := os.environ.get("PREVIOUS_APP_REF"):
        return ref
    if git("status", "--porcelain", "--", "app"):
        return "HEAD"  # uncommitted app changes: HEAD is the previous build
    return git("log", "-1", "--format=%H", "--", "app") + "^"


@pytest.fixture(scope="module")
def previous_image(backend) -> str:
    if backend.mode != "podman":
        pytest.skip("a rolling upgrade between images needs podman (the twin runs processes)")
    exists = podman("image", "exists", PREVIOUS_IMAGE, check=False) == ""
    if "PREVIOUS_IMAGE" in os.environ and exists:
        return PREVIOUS_IMAGE
    ref = git("rev-parse", previous_ref())
    conf = ROOT / ".tools" / "containers" / "containers.conf"
    with tempfile.TemporaryDirectory(prefix="wazen-previous-") as tree:
        git("worktree", "add", "--detach", tree, ref)
        try:
            log(f"building {PREVIOUS_IMAGE} from {ref[:12]}")
            subprocess.run(
                ["make", "-C", tree, "--no-print-directory", "image", f"IMAGE={PREVIOUS_IMAGE}"],
                check=True, capture_output=True, text=True, timeout=900,
                env={**os.environ, "CONTAINERS_CONF": str(conf)},
            )  # fmt: skip
        finally:
            git("worktree", "remove", "--force", tree)
    return PREVIOUS_IMAGE


class RotationClient:
    """Chats and lists services through whichever pods are in the rotation at each request.

    Paced at about 6 requests/s in all, below the chart's per-key rate limit (600 per minute).
    """

    def __init__(self, stack: LocalStack, key: str) -> None:
        self.stack, self.key, self.ok, self.failures = stack, key, 0, []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,)) for n in range(3)]

    def __enter__(self) -> RotationClient:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _run(self, n: int) -> None:
        while not self._stop.is_set():
            urls = self.stack.base_urls
            client = ChatClient(urls[n % len(urls)], self.key, self.stack.host_header)
            n += 1
            try:
                response = client.chat("What do you offer?") if n % 3 == 0 else client.services()
            except OSError as error:
                self.failures.append(f"{type(error).__name__}: {error}")
                continue
            if response.status == 200:
                self.ok += 1
            else:
                self.failures.append(f"HTTP {response.status}: {response.body[:200]!r}")
            time.sleep(0.5)


def prices_seen(stack: LocalStack, key: str) -> list[set[str]]:
    seen = []
    for url in stack.base_urls:
        client = ChatClient(url, key, host=stack.host_header)
        response = client.services()
        assert response.status == 200, response.body[:300]
        seen.append({service["price"] for service in response.json()["services"]})
    return seen


def set_prices(stack: LocalStack, price: str) -> None:
    env = container_env(stack.chart, "write", "10.0.0.1", stack.namespace)
    stack.backend.manage(
        env, "shell", "-c",
        f"from catalog.models import Service; Service.objects.update(price='{price}')",
    )  # fmt: skip


def test_rolling_upgrade_from_the_previous_image(stack: LocalStack, previous_image: str):
    # A key of its own: the per-key rate limit's window is not shared with earlier scenarios.
    env = container_env(stack.chart, "issue-key", "10.0.0.1", stack.namespace)
    issued = stack.backend.manage(env, "issue_api_key", "demo").split()
    key = next(word for word in issued if word.startswith("wz_"))
    listing = ChatClient(stack.base_urls[0], key, host=stack.host_header).services()
    seeded = {service["id"]: service["price"] for service in listing.json()["services"]}
    replicas = len(stack.app_pods)
    for pod in list(stack.app_pods):  # back to the previous release
        stack.retire_pod(pod, drain_seconds=0)
    stack.start_pods(replicas, image=previous_image)
    stack.on_pods_changed()
    stack.wait_ready(True, timeout=180)
    assert len({frozenset(p) for p in prices_seen(stack, key)}) == 1

    with RotationClient(stack, key) as client:
        for step, old in enumerate(list(stack.app_pods)):
            new = stack.new_pod()
            stack.wait_pod(new, True, timeout=180)
            stack.app_pods.append(new)
            stack.on_pods_changed()
            stack.retire_pod(old)
            price = f"{700 + step}.00"
            set_prices(stack, price)  # written while old and new builds share Redis
            assert prices_seen(stack, key) == [{price}] * len(stack.app_pods), f"step {step}"
            log(f"rolling upgrade: {step + 1}/{replicas} pods replaced, {client.ok} requests ok")
    log(f"rolling upgrade: {client.ok} requests, {len(client.failures)} failed")
    assert client.failures == []
    assert client.ok > 30
    images = {podman("inspect", "--format", "{{.ImageName}}", p.handle) for p in stack.app_pods}
    assert previous_image not in images
    restore_prices(stack, seeded)


def restore_prices(stack: LocalStack, prices: dict[int, str]) -> None:
    """Later scenarios read the catalog as seeded."""
    env = container_env(stack.chart, "write", "10.0.0.1", stack.namespace)
    stack.backend.manage(
        env, "shell", "-c",
        "from catalog.models import Service\n"
        f"for pk, price in {prices!r}.items(): Service.objects.filter(pk=pk).update(price=price)",
    )  # fmt: skip
