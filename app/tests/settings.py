"""Test settings: the production settings module, with the environment a test run needs.

Tests run with DEBUG off, like production. Redis and PostgreSQL are started by fixtures
(tests/conftest.py), which point REDIS_URL and DATABASES at them.
"""

import os
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-" + "x" * 48)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("LOG_LEVEL", "warning")
os.environ.pop("REDIS_URL", None)
os.environ.pop("DATABASE_URL", None)

from config.settings import *  # noqa: F403 -- the real settings, under test

STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WAZEN_CACHE_BREAKER_COOLDOWN = 0.3
WAZEN_CACHE_ERROR_LOG_INTERVAL = 60
# Static files come from the app directories (finders), not a collectstatic run.
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="wazen-static-"))  # noqa: F405
WHITENOISE_USE_FINDERS = True
