"""The system check turns the seed's broken cache configuration into a start-up error."""

from __future__ import annotations

import pytest
from django.core.management.base import SystemCheckError

from catalog.checks import check_cache_configuration
from config.caches import build_caches
from ops.startup import fail_on_system_check_errors

# The seed's production configuration: Django's built-in backend with django-redis options.
SEED_CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://redis:6379/1",
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        "TIMEOUT": 300,
    }
}


def ids(settings) -> list[str]:
    return [error.id for error in check_cache_configuration()]


def test_seed_configuration_is_rejected(settings):
    settings.CACHES = SEED_CACHES
    errors = check_cache_configuration()
    assert [e.id for e in errors] == ["catalog.E001", "catalog.E002"]
    assert "CLIENT_CLASS" in errors[0].msg


def test_pickle_serializer_and_missing_location_are_rejected(settings):
    caches = build_caches(backend="redis", redis_url="")
    del caches["default"]["OPTIONS"]["SERIALIZER"]  # django-redis' default: pickle
    caches["default"]["OPTIONS"]["IGNORE_EXCEPTIONS"] = True
    settings.CACHES = caches
    assert ids(settings) == ["catalog.E003", "catalog.E004", "catalog.E005"]


@pytest.mark.parametrize("backend", ["redis", "locmem"])
def test_shipped_configurations_pass(settings, backend):
    settings.CACHES = build_caches(backend=backend, redis_url="redis://127.0.0.1:6379/0")
    assert ids(settings) == []


def test_wsgi_start_up_refuses_the_seed_configuration(settings):
    settings.CACHES = SEED_CACHES
    with pytest.raises(SystemCheckError, match=r"catalog\.E001"):
        fail_on_system_check_errors()
