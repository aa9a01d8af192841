"""A plain Django project on the benchmark's PostgreSQL and Redis: no apps, no middleware."""

import os

import dj_database_url

SECRET_KEY = "minimal-" + "k" * 60
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "benchmarks.minimal.app"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
USE_TZ = True
DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/1",
        "KEY_PREFIX": "bench-minimal",
        "TIMEOUT": 300,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SERIALIZER": "django_redis.serializers.json.JSONSerializer",
        },
    }
}
