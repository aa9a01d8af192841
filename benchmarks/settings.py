"""Django settings for the benchmark server: the project's settings, plus the comparison variants.

Every variant runs in the same gunicorn processes, behind the same middleware, against the same
database and Redis, so the only difference between two variants is the view. The variants' caches
live in Redis database 1 with their own prefix, so they never touch the project's keys.
"""

import os

from config.settings import *  # noqa: F403 -- the real settings, under benchmark

_redis_url = os.environ["REDIS_URL"]
_variant_redis = _redis_url.rsplit("/", 1)[0] + "/1"
_plain_django_redis = {
    "BACKEND": "django_redis.cache.RedisCache",
    "LOCATION": _variant_redis,
    "TIMEOUT": 300,
    "OPTIONS": {
        "CLIENT_CLASS": "django_redis.client.DefaultClient",
        "SERIALIZER": "django_redis.serializers.json.JSONSerializer",
    },
}
# The project uses no Django cache (app/cachekit talks to Redis directly); the variants do.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # The seed's fix: cache.get/cache.set of the list, django-redis with the JSON serializer.
    "seedfix": {**_plain_django_redis, "KEY_PREFIX": "bench-seedfix"},
    # django-cachalot's own cache, JSON too: nothing pickled goes into Redis.
    "cachalot": {**_plain_django_redis, "KEY_PREFIX": "bench-cachalot"},
}

# cachalot patches the ORM globally but caches only the databases listed here: a second alias
# for the same PostgreSQL database, used by the cachalot variant alone. The project's queries
# (alias "default") are never cached by it.
DATABASES["cachalot"] = {  # noqa: F405
    **DATABASES["default"],  # noqa: F405
    "ENGINE": "django.db.backends.postgresql",
}
INSTALLED_APPS = [*INSTALLED_APPS, "cachalot"]  # noqa: F405
CACHALOT_CACHE = "cachalot"
CACHALOT_DATABASES = ["cachalot"]
CACHALOT_TIMEOUT = 300

ROOT_URLCONF = "benchmarks.urls"
