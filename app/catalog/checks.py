"""System checks that turn cache misconfiguration into a start-up error.

Django's built-in RedisCache passes every OPTIONS key to redis-py, so django-redis options such as
CLIENT_CLASS only fail at the first cache call — in production, under traffic. These checks run
with `manage.py check`, `migrate`, and when the WSGI application loads (config/wsgi.py).
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

DJANGO_BUILTIN_REDIS = "django.core.cache.backends.redis.RedisCache"
DJANGO_REDIS_BACKENDS = {
    "django_redis.cache.RedisCache",
    "django_prometheus.cache.backends.redis.RedisCache",
}
DJANGO_REDIS_ONLY_OPTIONS = {
    "CLIENT_CLASS",
    "SERIALIZER",
    "COMPRESSOR",
    "SOCKET_CONNECT_TIMEOUT",
    "SOCKET_TIMEOUT",
    "CONNECTION_POOL_KWARGS",
    "CONNECTION_POOL_CLASS",
    "IGNORE_EXCEPTIONS",
    "PASSWORD",
    "REDIS_CLIENT_CLASS",
    "REDIS_CLIENT_KWARGS",
    "PARSER_CLASS",
}
SAFE_SERIALIZERS = {
    "django_redis.serializers.json.JSONSerializer",
    "django_redis.serializers.msgpack.MSGPackSerializer",
}


@register(Tags.caches)
def check_cache_configuration(app_configs=None, **kwargs) -> list[Error]:
    errors: list[Error] = []
    for alias, config in settings.CACHES.items():
        backend = config.get("BACKEND", "")
        options = config.get("OPTIONS", {}) or {}
        if backend == DJANGO_BUILTIN_REDIS:
            misplaced = sorted(DJANGO_REDIS_ONLY_OPTIONS & set(options))
            if misplaced:
                errors.append(
                    Error(
                        f"CACHES[{alias!r}] uses Django's built-in RedisCache with django-redis "
                        f"options {', '.join(misplaced)}; redis-py rejects them at the first "
                        "cache call.",
                        hint="Use BACKEND 'django_redis.cache.RedisCache' (or the "
                        "django_prometheus wrapper) with these options.",
                        id="catalog.E001",
                    )
                )
            errors.append(
                Error(
                    f"CACHES[{alias!r}] uses Django's built-in RedisCache, which pickles values.",
                    hint="Nothing pickled goes into Redis: use django-redis with the JSON or "
                    "msgpack serializer.",
                    id="catalog.E002",
                )
            )
        elif backend in DJANGO_REDIS_BACKENDS:
            serializer = options.get("SERIALIZER", "django_redis.serializers.pickle")
            if serializer not in SAFE_SERIALIZERS:
                errors.append(
                    Error(
                        f"CACHES[{alias!r}] uses serializer {serializer!r}; "
                        "cached values must not be pickled.",
                        hint="Set OPTIONS['SERIALIZER'] to "
                        "'django_redis.serializers.json.JSONSerializer'.",
                        id="catalog.E003",
                    )
                )
            if not config.get("LOCATION"):
                errors.append(
                    Error(
                        f"CACHES[{alias!r}] has no LOCATION.",
                        hint="Set REDIS_URL.",
                        id="catalog.E004",
                    )
                )
            if options.get("IGNORE_EXCEPTIONS"):
                errors.append(
                    Error(
                        f"CACHES[{alias!r}] sets IGNORE_EXCEPTIONS: errors would look like misses "
                        "and bypass the catalog cache's fallback accounting.",
                        id="catalog.E005",
                    )
                )
    return errors
