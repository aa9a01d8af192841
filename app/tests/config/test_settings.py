"""Production refuses insecure settings; a proper production environment passes --deploy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

APP_DIR = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "p" * 30 + "roduction-secret-key-with-enough-entropy-0123456789",
    "ALLOWED_HOSTS": "wazen.example.com",
    "REDIS_URL": "redis://:secret@redis:6379/0",
    "DATABASE_URL": "postgres://wazen:secret@postgres:5432/wazen",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_", "DATABASE_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=APP_DIR,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_check_deploy_is_clean():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY must be set"),
        ({"DJANGO_SECRET_KEY": "short"}, "DJANGO_SECRET_KEY must be set"),
        ({"DJANGO_DEBUG": "maybe"}, "is not a boolean"),
        ({"DJANGO_CACHE_BACKEND": "memcached"}, "must be one of redis, locmem"),
        ({"DJANGO_CACHE_BACKEND": "redis", "REDIS_URL": ""}, "needs REDIS_URL"),
        ({"CACHE_TIMEOUT": "five"}, "is not an integer"),
        ({"LLM_PROVIDER": "openai"}, "needs OPENAI_API_KEY"),
    ],
)
def test_insecure_or_invalid_settings_refuse_to_start(env, message):
    result = manage("check", env={**PRODUCTION_ENV, **env})
    assert result.returncode != 0
    assert message in result.stderr


def test_debug_mode_runs_without_a_secret_for_local_work():
    result = manage("check", env={"DJANGO_DEBUG": "true"})
    assert result.returncode == 0, result.stderr


def test_cache_backend_defaults_follow_redis_url():
    code = "from django.conf import settings; print(settings.CACHE_BACKEND, settings.CACHE_TIMEOUT)"
    with_redis = manage("shell", "--no-imports", "-c", code, env=PRODUCTION_ENV)
    without = manage("shell", "--no-imports", "-c", code, env={**PRODUCTION_ENV, "REDIS_URL": ""})
    assert with_redis.stdout.split()[-2:] == ["redis", "300"]
    assert without.stdout.split()[-2:] == ["locmem", "300"]
