"""The app as the chart's pods run it, minus the container: shared by the chart script tests.

The entrypoint's `manage ARGS` is `python manage.py ARGS` in app/, `web` is gunicorn with
docker/gunicorn.conf.py; the environment is the rendered ConfigMap plus what the pod gets from
Secrets (a SQLite database, a Redis URL).
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testsupport.chart.render import find_one
from testsupport.paths import APP_DIR, GUNICORN_CONF
from testsupport.servers import free_port, wait_for_port

POD_IP = "10.244.1.7"


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


def manage(
    args: list[str], env: dict[str, str], timeout: float, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    """`manage ARGS` as the entrypoint runs it; prefix wraps it (e.g. in a PID namespace)."""
    return subprocess.run(
        [*prefix, sys.executable, "manage.py", *args],
        cwd=APP_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class ServedApp:
    """URLs of a running app: HTTP on every interface (like the pod), metrics on loopback."""

    http_port: int
    metrics_port: int
    env: dict[str, str]

    def urls(self) -> dict[str, str]:
        return {
            "READY_URL": f"http://127.0.0.1:{self.http_port}/health/ready",
            "METRICS_URL": f"http://127.0.0.1:{self.metrics_port}/metrics",
        }


@contextmanager
def served_app(docs: list[dict[str, Any]], tmp_path: Path, redis_url: str) -> Iterator[ServedApp]:
    """The app under the image's gunicorn config with the chart's settings, migrated."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    http_port, metrics_port = free_port(), free_port()
    env = app_env(
        docs,
        tmp_path,
        REDIS_URL=redis_url,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        PORT=str(http_port),
        METRICS_PORT=str(metrics_port),
        # The image collects static files at build time (docker/Dockerfile); here, per app.
        STATIC_ROOT=str(tmp_path / "static"),
    )
    one_off = {k: v for k, v in env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    assert manage(["migrate", "--noinput", "-v", "0"], one_off, timeout=120).returncode == 0
    assert manage(["collectstatic", "--noinput", "-v", "0"], one_off, timeout=120).returncode == 0
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
        # What the kubelet does first: the startup probe, Host = pod IP.
        request = urllib.request.Request(
            f"http://127.0.0.1:{http_port}/health/startup",
            headers={"Host": f"{POD_IP}:8000", "User-Agent": "kube-probe/1.30"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        yield ServedApp(http_port, metrics_port, one_off)
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
        log.close()
