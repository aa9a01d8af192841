"""The servers under test, started by the benchmark itself: PostgreSQL with pg_stat_statements,
Redis with the chart's default memory limit, and gunicorn with the image's configuration
(docker/gunicorn.conf.py: 2 gevent workers unless the contract's env says otherwise).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from benchmarks import probes
from testsupport.servers import PostgresServer, RedisServer, free_port

REPO = Path(__file__).resolve().parents[1]

CHART_VALUES = REPO / "charts" / "wazen-ai" / "values.yaml"


def chart_redis_limits() -> dict[str, str]:
    """The chart's default redis.maxmemory and policy: the bench runs under the same limit."""
    values = yaml.safe_load(CHART_VALUES.read_text())["redis"]
    return {"maxmemory": str(values["maxmemory"]), "policy": str(values["maxmemoryPolicy"])}


def start_postgres() -> PostgresServer:
    return PostgresServer(settings=("shared_preload_libraries=pg_stat_statements",)).start()


def start_redis(workdir: Path) -> RedisServer:
    limits = chart_redis_limits()
    return RedisServer(
        workdir / "redis",
        extra_args=("--maxmemory", limits["maxmemory"], "--maxmemory-policy", limits["policy"]),
    ).start()


def base_env(workdir: Path, postgres: PostgresServer, redis: RedisServer) -> dict[str, str]:
    """The environment of both the harness' Django and the gunicorn under test."""
    static = workdir / "static"
    static.mkdir(parents=True, exist_ok=True)
    return {
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        "DJANGO_SECRET_KEY": "bench-" + "k" * 60,
        "DATABASE_URL": postgres.url,
        "REDIS_URL": redis.url,
        "STATIC_ROOT": str(static),
        "PYTHONPATH": str(REPO / "app"),  # the Django project (benchmarks is installed)
    }


def setup_django(env: dict[str, str]) -> None:
    """Django in the harness process: migrations, seeding and the project's management commands."""
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def stop_process(process: subprocess.Popen | None, timeout: float) -> None:
    """SIGTERM, and SIGKILL if it has not exited within `timeout` seconds."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Gunicorn:
    """One gunicorn master with the image's config file, bound to loopback on a free port."""

    env: dict[str, str]
    workdir: Path
    port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    app: str = "config.wsgi:application"  # another WSGI app under the same configuration
    chdir: Path = REPO / "app"

    def start(self, ready_path: str, timeout: float = 60.0, attempts: int = 3) -> Gunicorn:
        """Start and wait until `ready_path` answers 200. A free port can be taken by another
        process between its choice and gunicorn's bind: then new ports, up to `attempts`."""
        for attempt in range(attempts):
            if self._launch(ready_path, timeout):
                return self
            log = (self.workdir / f"gunicorn-{self.port}.log").read_text(errors="replace")
            if "Address already in use" not in log or attempt == attempts - 1:
                raise RuntimeError(f"gunicorn exited; see {self.workdir}/gunicorn-{self.port}.log")
            self.port, self.metrics_port = free_port(), free_port()
        raise AssertionError("unreachable")

    def _launch(self, ready_path: str, timeout: float) -> bool:
        """True once serving; False if gunicorn exited; TimeoutError if neither."""
        metrics = Path(tempfile.mkdtemp(prefix="metrics-", dir=self.workdir))
        env = {
            **os.environ,
            **self.env,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
            "METRICS_PORT": str(self.metrics_port),
            "METRICS_ADDR": "127.0.0.1",
        }
        log = (self.workdir / f"gunicorn-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "-c", str(REPO / "docker" / "gunicorn.conf.py"),
                "--bind", f"127.0.0.1:{self.port}",
                "--chdir", str(self.chdir),
                self.app,
            ],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if probes.request(self.port, ready_path).status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"gunicorn not serving {ready_path} after {timeout}s")

    def stop(self) -> None:
        stop_process(self.process, timeout=30)
        self.process = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid
