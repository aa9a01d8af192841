"""The shared catalog cache: one query per miss, none per hit.

Layout in Redis (keys get django-redis' `wazen:1:` prefix):
    catalog:gen:<company>   integer generation, never expires; bumped after every committed write
    catalog:snap:<company>  {"generation": g, "snapshot": {...}} with TTL CACHE_TIMEOUT
    catalog:fill:<company>  short lock held by the one process refilling the snapshot

A read fetches both keys in one MGET and accepts the snapshot only if its generation equals the
current one. A reader that loaded rows before a writer committed stores them under the old
generation, so a late fill can never resurrect stale data. Concurrent misses are collapsed:
threads of a process share one fill (single flight), processes share it through the fill lock.
Redis failures are absorbed by `resilience.redis_guard`: the snapshot then comes from the
database and the request is counted as a fallback.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from catalog.resilience import CacheUnavailable, redis_guard
from catalog.selectors import catalog_snapshot_from_db
from catalog.snapshot import CatalogSnapshot
from ops.metrics import (
    CATALOG_CACHE_FALLBACKS,
    CATALOG_CACHE_INVALIDATIONS,
    CATALOG_CACHE_REQUESTS,
)

__all__ = ["CacheUnavailable", "cache_stats", "invalidate", "orderable_services", "ping", "warm"]

_POLL_INTERVAL = 0.02
_FILL_LOCK_TTL = 10


def _gen_key(company_id: int) -> str:
    return f"catalog:gen:{company_id}"


def _snap_key(company_id: int) -> str:
    return f"catalog:snap:{company_id}"


def _fill_key(company_id: int, generation: int) -> str:
    return f"catalog:fill:{company_id}:{generation}"


@dataclass
class _Counters:
    lock: threading.Lock = field(default_factory=threading.Lock)
    hits: int = 0
    misses: int = 0
    fallbacks: int = 0
    invalidations: int = 0

    def add(self, name: str) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + 1)


_counters = _Counters()
_pending_lock = threading.Lock()
_pending_invalidations: set[int] = set()


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    result: CatalogSnapshot | None = None
    error: BaseException | None = None


_flights: dict[tuple[int, int], _Flight] = {}
_flights_lock = threading.Lock()


# --- public API ---------------------------------------------------------------------------------


def orderable_services(company_id: int) -> CatalogSnapshot:
    """The company's orderable, active services: from Redis when it can, else the database."""
    if not _flush_pending_invalidations(company_id):
        return _fallback(company_id)
    try:
        generation, snapshot = redis_guard.run("get", lambda: _read(company_id))
    except CacheUnavailable:
        return _fallback(company_id)
    if snapshot is not None:
        _counters.add("hits")
        CATALOG_CACHE_REQUESTS.labels(result="hit").inc()
        return snapshot
    _counters.add("misses")
    CATALOG_CACHE_REQUESTS.labels(result="miss").inc()
    return _single_flight((company_id, generation), lambda: _fill(company_id, generation))


def invalidate(company_id: int) -> bool:
    """Bump the company's generation so no reader accepts the current snapshot again.

    Called after commit. When Redis is unreachable the company is remembered and served from the
    database by this process until a later bump succeeds; other processes may serve their cached
    snapshot until its TTL ends (the documented bound on staleness during an outage).
    """
    _counters.add("invalidations")
    CATALOG_CACHE_INVALIDATIONS.inc()
    try:
        redis_guard.run("invalidate", lambda: _bump_generation(company_id))
    except CacheUnavailable:
        with _pending_lock:
            _pending_invalidations.add(company_id)
        return False
    with _pending_lock:
        _pending_invalidations.discard(company_id)
    return True


def warm(company_ids: list[int]) -> int:
    """Load the given companies' snapshots into the cache; returns how many were read."""
    for company_id in company_ids:
        orderable_services(company_id)
    return len(company_ids)


def cache_stats() -> dict[str, Any]:
    """This process' counters since start, plus the cache backend's current state."""
    with _counters.lock:
        hits, misses = _counters.hits, _counters.misses
        fallbacks, invalidations = _counters.fallbacks, _counters.invalidations
    lookups = hits + misses
    return {
        "backend": settings.CACHE_BACKEND,
        "breaker": redis_guard.breaker.state,
        "hits": hits,
        "misses": misses,
        "errors": redis_guard.errors,
        "fallbacks": fallbacks,
        "invalidations": invalidations,
        "hit_ratio": round(hits / lookups, 4) if lookups else None,
        "pending_invalidations": len(_pending_invalidations),
        "last_error": redis_guard.last_error or None,
        "timeout_seconds": settings.CACHE_TIMEOUT,
    }


def ping() -> float:
    """Round-trip the cache (set, get, delete) even while the breaker is open; returns seconds.

    Raises CacheUnavailable. A success closes the breaker, so recovery is noticed at the next probe.
    """
    started = time.perf_counter()
    key = f"catalog:ping:{threading.get_ident()}:{time.monotonic_ns()}"

    def round_trip() -> None:
        cache.set(key, 1, timeout=10)
        if cache.get(key) != 1:
            raise CacheUnavailable("cache did not return the value just written")
        cache.delete(key)

    redis_guard.run("ping", round_trip, force=True)
    return time.perf_counter() - started


def reset_for_tests() -> None:
    """Forget this process' counters, flights, pending invalidations and breaker state."""
    global _counters
    _counters = _Counters()
    with _pending_lock:
        _pending_invalidations.clear()
    redis_guard.reset()


# --- internals ----------------------------------------------------------------------------------


def _read(company_id: int) -> tuple[int, CatalogSnapshot | None]:
    """One round trip: the current generation and the snapshot, if it belongs to it."""
    values = cache.get_many([_gen_key(company_id), _snap_key(company_id)])
    generation = values.get(_gen_key(company_id))
    if generation is None:
        generation = _start_generation(company_id)
    entry = values.get(_snap_key(company_id))
    if entry and entry.get("generation") == generation:
        return generation, CatalogSnapshot.from_payload(entry["snapshot"])
    return generation, None


def _start_generation(company_id: int) -> int:
    # A fresh, unique generation (not 0): if the key was evicted or Redis restarted, no snapshot
    # written under an earlier generation can match it.
    cache.add(_gen_key(company_id), time.time_ns(), timeout=None)
    return cache.get(_gen_key(company_id))


def _bump_generation(company_id: int) -> None:
    try:
        cache.incr(_gen_key(company_id))
    except ValueError:  # no generation yet (or evicted): any new unique value invalidates
        cache.set(_gen_key(company_id), time.time_ns(), timeout=None)


def _fill(company_id: int, generation: int) -> CatalogSnapshot:
    """Refill after a miss. One process holds the fill lock and queries; others wait for it."""
    if connection.in_atomic_block:
        # Rows read inside a transaction may be uncommitted writes that could still roll back
        # (and would then never be invalidated): serve them, never cache them.
        return catalog_snapshot_from_db(company_id=company_id)
    try:
        leader = redis_guard.run(
            "lock", lambda: cache.add(_fill_key(company_id, generation), 1, timeout=_FILL_LOCK_TTL)
        )
        if not leader:
            snapshot = _wait_for_other_filler(company_id, generation)
            if snapshot is not None:
                return snapshot
    except CacheUnavailable:
        return _fallback(company_id)
    snapshot = catalog_snapshot_from_db(company_id=company_id)
    entry = {"generation": generation, "snapshot": snapshot.to_payload()}
    try:
        redis_guard.run("set", lambda: cache.set(_snap_key(company_id), entry))
        if leader:
            redis_guard.run("lock", lambda: cache.delete(_fill_key(company_id, generation)))
    except CacheUnavailable:
        pass  # the reader still gets its data; the next request retries the cache
    return snapshot


def _wait_for_other_filler(company_id: int, generation: int) -> CatalogSnapshot | None:
    deadline = time.monotonic() + settings.WAZEN_CACHE_FILL_LOCK_WAIT
    while time.monotonic() < deadline:
        time.sleep(_POLL_INTERVAL)
        current, snapshot = redis_guard.run("get", lambda: _read(company_id))
        if snapshot is not None or current != generation:
            return snapshot  # filled, or invalidated meanwhile (None: read the DB ourselves)
    return None


def _single_flight(key: tuple[int, int], load: Callable[[], CatalogSnapshot]) -> CatalogSnapshot:
    """Threads of this process that miss the same generation together share the first one's load.

    Keyed by generation: a reader that saw a newer generation never waits for (and never gets)
    a load that may have started before the write committed.
    """
    with _flights_lock:
        flight = _flights.get(key)
        leader = flight is None
        if leader:
            flight = _flights[key] = _Flight()
    if not leader:
        flight.done.wait()
        if flight.error is not None:
            raise flight.error
        return flight.result
    try:
        flight.result = load()
        return flight.result
    except BaseException as error:
        flight.error = error
        raise
    finally:
        with _flights_lock:
            _flights.pop(key, None)
        flight.done.set()


def _flush_pending_invalidations(company_id: int) -> bool:
    """Retry invalidations that failed during an outage. False: this company must skip the cache."""
    with _pending_lock:
        pending = list(_pending_invalidations)
    for pending_id in pending:
        try:
            redis_guard.run("invalidate", lambda cid=pending_id: _bump_generation(cid))
        except CacheUnavailable:
            break
        with _pending_lock:
            _pending_invalidations.discard(pending_id)
    with _pending_lock:
        return company_id not in _pending_invalidations


def _fallback(company_id: int) -> CatalogSnapshot:
    _counters.add("fallbacks")
    CATALOG_CACHE_FALLBACKS.inc()
    return catalog_snapshot_from_db(company_id=company_id)
