"""CACHES for each backend, built in one place so tests get exactly the production shape."""

from __future__ import annotations

from typing import Any


def build_caches(
    *,
    backend: str,
    redis_url: str = "",
    timeout: int = 300,
    socket_timeout: float = 0.25,
    max_connections: int = 50,
) -> dict[str, dict[str, Any]]:
    if backend == "locmem":
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "TIMEOUT": timeout,
                "KEY_PREFIX": "wazen",
            }
        }
    return {
        "default": {
            # django-redis, wrapped by django-prometheus for its cache hit/miss counters.
            "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "TIMEOUT": timeout,
            "KEY_PREFIX": "wazen",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                # Plain data as JSON: nothing pickled ever goes into (or comes out of) Redis.
                "SERIALIZER": "django_redis.serializers.json.JSONSerializer",
                # Short timeouts: a hung Redis costs one short wait, then the breaker opens.
                "SOCKET_CONNECT_TIMEOUT": socket_timeout,
                "SOCKET_TIMEOUT": socket_timeout,
                "CONNECTION_POOL_KWARGS": {
                    "max_connections": max_connections,
                    "health_check_interval": 30,
                },
                # Errors must reach catalog.cache, which counts them and falls back to the DB.
                "IGNORE_EXCEPTIONS": False,
            },
        }
    }
