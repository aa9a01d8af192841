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
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chart_k8s import container
from render import REPO_ROOT, find_one, render
from tests.servers import RedisServer, free_port, wait_for_port

pytestmark = [pytest.mark.chart, pytest.mark.slow]

APP_DIR = REPO_ROOT / "app"
GUNICORN_CONF = REPO_ROOT / "docker" / "gunicorn.conf.py"
POD_IP = "10.244.1.7"


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return render()


def app_env(docs: list[dict[str, Any]], tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The chart's ConfigMap settings plus what the pod gets from Secrets, for a local run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WAZEN_"))}
    env.update(find_one(docs, "ConfigMap", "wazen-ai")["data"])
    env.update(
        DJANGO_SECRET_KEY="chart-script-test-key-" + "k" * 40,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        # Always set in the pod (DJANGO_CACHE_BACKEND=redis needs it); these commands never
        # connect to it.
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        POD_IP=POD_IP,
        HOME=str(tmp_path),
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR")  # one-off commands: the entrypoint unsets it too
    env.update(overrides)
    return env


def manage(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=APP_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_wait_for_migrations_waits_then_passes(docs: list[dict[str, Any]], tmp_path: Path) -> None:
    spec = find_one(docs, "Deployment")["spec"]["template"]["spec"]
    args = container(spec, "wait-for-migrations")["args"]
    assert args[0] == "manage"
    env = app_env(docs, tmp_path)

    # Database unreachable: keeps waiting.
    down = app_env(docs, tmp_path, DATABASE_URL=f"postgres://u:p@127.0.0.1:{free_port()}/x")
    with pytest.raises(subprocess.TimeoutExpired) as waited:
        manage(args[1:], down, timeout=4)
    assert b"database not ready" in (waited.value.stderr or b"")

    # Migrations pending: keeps waiting.
    with pytest.raises(subprocess.TimeoutExpired) as waited:
        manage(args[1:], env, timeout=4)
    assert b"migrations pending" in (waited.value.stdout or b"")

    # Applied: exits 0.
    assert manage(["migrate", "--noinput", "-v", "0"], env, timeout=120).returncode == 0
    done = manage(args[1:], env, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every migration is applied" in done.stdout


@pytest.fixture(scope="module")
def served_app(
    docs: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """The app under the image's gunicorn config with the chart's settings, plus Redis."""
    tmp_path = tmp_path_factory.mktemp("served-app")
    redis = RedisServer(tmp_path / "redis").start()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    http_port, metrics_port = free_port(), free_port()
    env = app_env(
        docs,
        tmp_path,
        REDIS_URL=redis.url,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        PORT=str(http_port),
        METRICS_PORT=str(metrics_port),
    )
    migrate_env = {k: v for k, v in env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    assert manage(["migrate", "--noinput", "-v", "0"], migrate_env, timeout=120).returncode == 0
    log = (tmp_path / "gunicorn.log").open("w")
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(GUNICORN_CONF),
            "config.wsgi:application",
        ],
        cwd=APP_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(http_port, timeout=30)
        wait_for_port(metrics_port, timeout=30)
        # What the kubelet does before the helm test runs: the startup probe, Host = pod IP.
        request = urllib.request.Request(
            f"http://127.0.0.1:{http_port}/health/startup",
            headers={"Host": f"{POD_IP}:8000", "User-Agent": "kube-probe/1.30"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        yield {
            "READY_URL": f"http://127.0.0.1:{http_port}/health/ready",
            "METRICS_URL": f"http://127.0.0.1:{metrics_port}/metrics",
        }
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
        log.close()
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
    docs: list[dict[str, Any]], served_app: dict[str, str]
) -> None:
    proc = run_helm_test_script(docs, served_app)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "wazen_cache_available" in proc.stdout


def test_helm_test_script_fails_without_the_assistant_metrics(
    docs: list[dict[str, Any]], served_app: dict[str, str]
) -> None:
    proc = run_helm_test_script(
        docs,
        served_app,
        EXPECTED_METRICS="wazen_cache_available,wazen_metric_that_does_not_exist",
        TIMEOUT_SECONDS="4",
    )
    assert proc.returncode == 1
    assert "lacks wazen_metric_that_does_not_exist" in proc.stderr
