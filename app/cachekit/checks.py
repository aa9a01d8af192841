"""A configuration that cannot keep every process's readers coherent refuses to start.

The process-local store (DJANGO_CACHE_BACKEND=locmem) keeps generations in one process: with
several server processes, a write through one would never reach the others' readers (they served
the old catalog for up to CACHE_TIMEOUT). It is accepted for one process only; the server tells
how many it runs (docker/gunicorn.conf.py exports WAZEN_SERVER_PROCESSES). The checks run with
`manage.py check` and when the WSGI application loads (config/wsgi.py).
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.caches)
def check_store_is_shared(app_configs=None, **kwargs) -> list[Error]:
    processes = settings.WAZEN_SERVER_PROCESSES
    if settings.CACHE_BACKEND == "locmem" and processes > 1:
        return [
            Error(
                f"The process-local cache store cannot serve {processes} processes: a write in "
                "one would not reach the others' readers.",
                hint="Set REDIS_URL (make run starts a local redis-server), or run one process "
                "(GUNICORN_WORKERS=1).",
                id="cachekit.E001",
            )
        ]
    return []
