"""Invalidations that cannot be lost: recorded in the database, honoured by every process.

A write's invalidation is recorded (`record`) in the writer's own transaction, so it commits or
rolls back with the rows it is about. After commit the writer bumps the generations in Redis and
deletes the record (`clear`). When Redis cannot be told (a blip, a partition of this pod, a
short-lived command whose one attempt failed), the record stays, and every serving process finds
it on its next sweep (`sweep`, every WAZEN_CACHE_PENDING_POLL_SECONDS): it bypasses those scopes
(`GenerationalCache.bypass`) and retries the bump; whichever process succeeds deletes the record.
A stale value can therefore be served only between a lost bump and the next sweep of the reader's
process, never for the rest of the TTL.

After a `migrate` that applied migrations, every cache's keys are retired (`after_migrate`): data
migrations write through historical models, which have neither signals nor the invalidating
manager. A retirement Redis could not take is recorded too (scope `*`: the whole cache).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Hashable

from django.conf import settings
from django.db import connections

from cachekit import registry
from cachekit.component import EVERY_SCOPE, GenerationalCache
from cachekit.guard import CacheUnavailable, RateLimitedLog
from cachekit.metrics import CACHE_PENDING_INVALIDATIONS
from cachekit.models import PendingInvalidation
from cachekit.stores import default_store

logger = logging.getLogger(__name__)


def record(scopes: dict[str, set[Hashable]], using: str) -> dict[str, list[int]]:
    """Record the scopes (in the current transaction, if any); their ids per cache."""
    rows = [
        PendingInvalidation(cache=name, scope=str(scope))
        for name, named in scopes.items()
        for scope in named
    ]
    if not rows:
        return {}
    created = PendingInvalidation.objects.using(using).bulk_create(rows)
    ids: dict[str, list[int]] = defaultdict(list)
    for row in created:
        ids[row.cache].append(row.pk)
    return ids


def clear(ids: list[int], using: str) -> None:
    if ids:
        PendingInvalidation.objects.using(using).filter(pk__in=ids).delete()


def sweep(using: str = "default") -> int:
    """Hold every recorded scope in this process, retry its bump, delete what landed.

    Returns how many records are still pending. A database error leaves the bypassed scopes as they
    were (the previous sweep's view) and is logged; the next sweep tries again.
    """
    rows = list(PendingInvalidation.objects.using(using).values_list("pk", "cache", "scope"))
    by_cache: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for pk, name, scope in rows:
        by_cache[name][scope].append(pk)
    remaining = 0
    for instance in registry.caches():
        recorded = by_cache.get(instance.name, {})
        instance.bypass(set(recorded))
        gauge = CACHE_PENDING_INVALIDATIONS.labels(cache=instance.name)
        gauge.set(sum(len(pks) for pks in recorded.values()))
        if not recorded:
            continue
        landed = _retire(instance) if EVERY_SCOPE in recorded else instance.invalidate(*recorded)
        if landed:
            clear([pk for pks in recorded.values() for pk in pks], using)
            instance.bypass(set())
            gauge.set(0)
        else:
            remaining += sum(len(pks) for pks in recorded.values())
    return remaining


def after_migrate(sender, using: str = "default", plan=None, **kwargs) -> None:
    """Retire every cached value after migrations ran (see the module docstring); recorded for
    the sweep when Redis cannot be told, so a deploy's data migration is never served stale."""
    if sender.name != "cachekit" or not plan:  # sent once per app; nothing applied: no change
        return
    retire_all(using)


def retire_all(using: str = "default") -> list[str]:
    """Retire everything every cache of this build holds in Redis; the caches that could not
    be told (recorded in the database, retried and bypassed by every process meanwhile). A
    process-local store reaches this process only, so it is recorded too."""
    shared = default_store().shared
    failed = [instance.name for instance in registry.caches() if not (_retire(instance) and shared)]
    record({name: {EVERY_SCOPE} for name in failed}, using)
    return failed


def _retire(instance: GenerationalCache) -> bool:
    """Delete every key of the cache (generations, entries of every version, fill locks): the
    next reader mints a fresh generation that no stored entry carries."""
    instance.forget_local()
    try:
        instance.guard.run("invalidate", lambda: default_store().delete_prefix(instance.key_space))
    except CacheUnavailable:
        return False
    return True


class Sweeper:
    """One per serving process: sweeps every `interval` seconds on a daemon thread (a greenlet
    under gevent). Started by the WSGI application when WAZEN_CACHE_PENDING_POLL_SECONDS > 0."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cachekit-sweeper", daemon=True)
        self._log = RateLimitedLog(logger)

    def start(self) -> Sweeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                sweep()
            except Exception as error:  # the database is down, or a bug: keep sweeping
                self._log.warning("pending invalidations: sweep failed (%r); retrying", error)
            finally:
                connections.close_all()  # hand the connection back to the pool between sweeps


def start_sweeping() -> Sweeper | None:
    interval = settings.WAZEN_CACHE_PENDING_POLL_SECONDS
    return Sweeper(interval).start() if interval > 0 else None
