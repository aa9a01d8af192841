"""The chart's in-pod scripts, run for real against the app (no cluster needed).

- wait-for-migrations (init container): loops while migrations are pending or the database is
  unreachable, exits 0 once every migration is applied.
- the `helm test` pod: passes against the app served by the image's gunicorn config (with the
  chart's ConfigMap settings), fails when /metrics lacks an expected metric.

Both run as the image runs them, minus the container: the entrypoint's `manage ARGS` is
`python manage.py ARGS` in app/, `web` is gunicorn with docker/gunicorn.conf.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testsupport.chart.app import app_env, manage, served_app
from testsupport.chart.objects import container
from testsupport.chart.render import find_all, find_one, render
from testsupport.paths import APP_DIR
from testsupport.servers import RedisServer, free_port

pytestmark = [pytest.mark.chart, pytest.mark.slow]


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return render()


def waiting_line(args: list[str], env: dict[str, str]) -> str:
    """The first line `manage ARGS` writes to stderr, then it must still be running (waiting).
    No timing: the line is read as soon as it comes (the command starts slowly on a busy host)."""
    with subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=APP_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stderr is not None
            line = process.stderr.readline()
            time.sleep(0.5)
            assert process.poll() is None, f"exited {process.returncode} instead of waiting: {line}"
            return line
        finally:
            process.kill()


def test_wait_for_migrations_waits_then_passes(docs: list[dict[str, Any]], tmp_path: Path) -> None:
    spec = find_one(docs, "Deployment")["spec"]["template"]["spec"]
    args = container(spec, "wait-for-migrations")["args"]
    assert args[0] == "manage"
    env = app_env(docs, tmp_path)

    # Database unreachable: keeps waiting (and says why).
    down = app_env(docs, tmp_path, DATABASE_URL=f"postgres://u:p@127.0.0.1:{free_port()}/x")
    assert "not ready: connection failed" in waiting_line(args[1:], down)

    # Migrations pending: keeps waiting.
    assert "migration(s) pending, waiting" in waiting_line(args[1:], env)

    # Applied: exits 0.
    assert manage(["migrate", "--noinput", "-v", "0"], env, timeout=120).returncode == 0
    done = manage(args[1:], env, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every migration is applied" in done.stdout


def pid_namespace_prefix() -> tuple[str, ...]:
    """`unshare` making the command PID 1 of a new PID namespace, as in a container."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) is needed to run a command as PID 1")
    probe = subprocess.run([unshare, "--pid", "--fork", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a PID namespace here: {probe.stderr.decode().strip()}")
    return (unshare, "--pid", "--fork", "--kill-child")


def test_wait_for_migrations_exits_on_sigterm_as_pid_1(
    docs: list[dict[str, Any]], ci_renders: dict[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    """Defect 6: as PID 1 (a container's init) the old inline loop ignored SIGTERM, so a deleted
    pod stayed Terminating for its whole grace period and was then SIGKILLed (exit 137)."""
    spec = find_one(docs, "Deployment")["spec"]["template"]["spec"]
    args = container(spec, "wait-for-migrations")["args"]
    seed = next(
        j
        for j in find_all(ci_renders["demo-values.yaml"], "Job")
        if "seed" in j["metadata"]["name"]
    )
    assert container(seed["spec"]["template"]["spec"], "wait-for-migrations")["args"] == args
    prefix = pid_namespace_prefix()
    env = app_env(docs, tmp_path)  # an empty SQLite database: every migration is pending
    with subprocess.Popen(
        [*prefix, sys.executable, "manage.py", *args[1:]],
        cwd=APP_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as waiter:
        try:
            assert waiter.stderr is not None
            line = waiter.stderr.readline()  # blocks until it is waiting
            assert "pending, waiting" in line, line
            (pid_1,) = Path(f"/proc/{waiter.pid}/task/{waiter.pid}/children").read_text().split()
            ns_pids = Path(f"/proc/{pid_1}/status").read_text().split("NSpid:")[1].split("\n")[0]
            assert ns_pids.split()[-1] == "1", ns_pids  # PID 1 inside its namespace
            started = time.monotonic()
            os.kill(int(pid_1), signal.SIGTERM)
            waiter.wait(timeout=20)
            elapsed = time.monotonic() - started
        finally:
            if waiter.poll() is None:
                waiter.kill()
    # unshare --fork reports the child's status; 143 = 128 + SIGTERM, the handler's exit code.
    assert waiter.returncode == 143, waiter.returncode
    assert elapsed < 10, f"{elapsed:.1f}s to exit after SIGTERM"


@pytest.fixture(scope="module")
def served(
    docs: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """The app under the image's gunicorn config with the chart's settings, plus Redis."""
    tmp_path = tmp_path_factory.mktemp("served-app")
    redis = RedisServer(tmp_path / "redis").start()
    try:
        with served_app(docs, tmp_path, redis.url) as app:
            yield app.urls()
    finally:
        redis.stop()


def run_helm_test_script(docs: list[dict[str, Any]], urls: dict[str, str], **env: str) -> Any:
    check = container(find_one(docs, "Pod", "test")["spec"], "check")
    pod_env = {e["name"]: e["value"] for e in check["env"]}
    assert check["command"] == ["python3", "-c"]
    return subprocess.run(
        [sys.executable, "-c", check["args"][0]],
        env={"PATH": os.environ["PATH"], **pod_env, **urls, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_helm_test_script_passes_against_the_app(
    docs: list[dict[str, Any]], served: dict[str, str]
) -> None:
    proc = run_helm_test_script(docs, served)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "wazen_cache_available" in proc.stdout


def test_helm_test_script_fails_without_the_assistant_metrics(
    docs: list[dict[str, Any]], served: dict[str, str]
) -> None:
    proc = run_helm_test_script(
        docs,
        served,
        EXPECTED_METRICS="wazen_cache_available,wazen_metric_that_does_not_exist",
        TIMEOUT_SECONDS="4",
    )
    assert proc.returncode == 1
    assert "lacks wazen_metric_that_does_not_exist" in proc.stderr
