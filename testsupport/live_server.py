"""The app under real gunicorn (docker/gunicorn.conf.py), as the image runs it, on free ports."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from testsupport.paths import APP_DIR, GUNICORN_CONF
from testsupport.servers import free_port, wait_for_port

SECRET = "live-server-secret-key-" + "s" * 40


def manage(*args: str, env: dict[str, str], app_dir: Path = APP_DIR) -> str:
    # One-off commands keep their metrics to themselves, out of the workers' aggregate.
    env = {k: v for k, v in env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=app_dir, env=env, check=True,
        capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip


@dataclass
class GunicornApp:
    directory: Path
    redis_url: str
    workers: int = 2
    app_dir: Path = APP_DIR  # another build of the app (tests of rolling upgrades)
    database_url: str = ""  # default: a SQLite file of its own
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. the LLM provider, limits
    port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PROMETHEUS_"))}
        return {
            **base,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": SECRET,
            "DATABASE_URL": self.database_url or f"sqlite:///{self.directory / 'db.sqlite3'}",
            "REDIS_URL": self.redis_url,
            "PROMETHEUS_MULTIPROC_DIR": str(self.directory / "metrics"),
            "PORT": str(self.port),
            "METRICS_PORT": str(self.metrics_port),
            "METRICS_ADDR": "127.0.0.1",
            "GUNICORN_WORKERS": str(self.workers),
            "GUNICORN_THREADS": "2",
            "LOG_FORMAT": "json",
            "STATIC_ROOT": str(self.directory / "static"),
            **self.extra_env,
        }

    def start(self) -> GunicornApp:
        (self.directory / "metrics").mkdir(parents=True, exist_ok=True)
        self.manage("migrate", "--noinput")
        self.manage("collectstatic", "--noinput")
        self.log = (self.directory / "gunicorn.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF),
             "--bind", f"127.0.0.1:{self.port}", "config.wsgi:application"],
            cwd=self.app_dir, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for_port(self.port, timeout=30)
        wait_for_port(self.metrics_port, timeout=30)
        return self

    def manage(self, *args: str) -> str:
        return manage(*args, env=self.env, app_dir=self.app_dir)

    def seed_demo_key(self) -> str:
        out = self.manage("seed_demo")
        return out.strip().rsplit("=", 1)[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics") as response:
            return response.read().decode()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=40)
        self.process = None
        self.log.close()


def metric_sum(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total
