"""A process-local cache store shared by several server processes refuses to start."""

from __future__ import annotations

import os
import subprocess
import sys

from cachekit.checks import check_store_is_shared
from testsupport.paths import REPO


def test_a_process_local_store_is_refused_for_more_than_one_process(settings):
    settings.CACHE_BACKEND = "locmem"
    settings.WAZEN_SERVER_PROCESSES = 2
    assert [error.id for error in check_store_is_shared()] == ["cachekit.E001"]
    settings.WAZEN_SERVER_PROCESSES = 1
    assert check_store_is_shared() == []
    settings.CACHE_BACKEND, settings.WAZEN_SERVER_PROCESSES = "redis", 4
    assert check_store_is_shared() == []


def test_gunicorn_with_two_workers_and_no_redis_does_not_start(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_"))},
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "GUNICORN_WORKERS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "METRICS_PORT": "0",
        "GUNICORN_BIND": f"unix:{tmp_path / 'sock'}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", str(REPO / "docker" / "gunicorn.conf.py"),
         "config.wsgi:application"],
        cwd=REPO / "app", env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "cachekit.E001" in result.stdout + result.stderr
