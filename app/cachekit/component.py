"""A generational, tenant-keyed cache of plain data: one component, one instance per entity.

Layout in Redis for an instance named N with schema version V (`wazen:1:` is the key space
every build since the first has used, so old and new pods share generations during a rollout):

    wazen:1:N:gen:<scope>           random generation; replaced after every committed write
    wazen:1:N:vV:<scope>            the entry, sealed with its generation (envelope.py)
    wazen:1:N:fill:<scope>:<gen>    short lock held by the one process refilling the entry

Why each part:
- **Generations** make invalidation one SET and make a late fill harmless: a reader stores what it
  loaded under the generation it read *before* loading, so rows read before a writer committed
  land under a generation that the writer's after-commit bump has already retired.
- **Versioned entries**: V is in the key, so builds with different payload schemas never read each
  other's entries during a rolling upgrade, while the generation key (unversioned) is shared, so a
  write through either build invalidates both. An entry that still does not decode is a counted
  miss (`result="undecodable"`), never an exception.
- **Local layer**: decoded values are kept per process with their generation; a hit reads only the
  generation (a few bytes) and compares. Consistency is Redis' generation, always.
- **Single flight + fill lock**: concurrent misses for one generation share one load within a
  process (threads) and across processes (a SET NX lock, with a re-read after winning it).
- **Transactions**: inside an atomic block the cache is bypassed before any access: the caller
  sees its own uncommitted writes, and nothing uncommitted is stored or shared with other threads.
- **Outages**: every Redis call runs behind the instance's own `RedisGuard`; an outage serves from
  the database (counted as a fallback). A failed invalidation is remembered and retried; until it
  succeeds this process bypasses the cache for that scope. Other processes learn of it from the
  database (cachekit/pending.py) and `bypass` the scope too, until a bump succeeds.

Pending and bypassed scopes are kept as text, the form they have in Redis keys and in the database.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from cachekit import envelope
from cachekit.guard import CacheUnavailable, RedisGuard
from cachekit.local import LocalEntries, SingleFlight
from cachekit.metrics import CACHE_FALLBACKS, CACHE_INVALIDATIONS, CACHE_LOADS, CACHE_REQUESTS
from cachekit.stores import Store, as_generation, default_store

V = TypeVar("V")
logger = logging.getLogger(__name__)

KEY_SPACE = "wazen:1"
EVERY_SCOPE = "*"  # bypassed or pending: every scope of the cache (cachekit/pending.py)
_FILL_LOCK_TTL = 10.0
_POLL_INTERVAL = 0.02


MISS: Any = type("Miss", (), {"__repr__": lambda self: "MISS"})()


@dataclass
class _Counters:
    hits: int = 0
    misses: int = 0
    undecodable: int = 0
    fallbacks: int = 0
    invalidations: int = 0


class GenerationalCache(Generic[V]):
    """Caches `load(scope)` per scope; see the module docstring for the guarantees.

    load:   reads the value from the database (the one query of a miss).
    encode: value → JSON-able payload; decode: payload → value (may raise on a foreign shape).
    ttl:    seconds to keep a value; 0: not cached, and the scope's generation is dropped too.
    """

    def __init__(
        self,
        *,
        name: str,
        schema_version: str,
        load: Callable[[Any], V],
        encode: Callable[[V], Any],
        decode: Callable[[Any], V],
        ttl: Callable[[V], float],
        store: Callable[[], Store] = default_store,
        database: str = DEFAULT_DB_ALIAS,
    ) -> None:
        self.name = name
        self.schema_version = schema_version
        self.load, self.encode, self.decode, self.ttl = load, encode, decode, ttl
        self.store = store
        self.database = database
        self.guard = RedisGuard(name, probe=self._round_trip)
        self._local = LocalEntries(lambda: settings.WAZEN_CACHE_LOCAL_MAX_ENTRIES)
        self._flights = SingleFlight()
        self._lock = threading.Lock()
        self._counters = _Counters()
        self._pending: set[str] = set()  # this process could not bump them (retried on reads)
        self._bypassed: frozenset[str] = frozenset()  # another process could not (pending.py)
        self._requests = {
            result: CACHE_REQUESTS.labels(cache=name, result=result)
            for result in ("hit", "miss", "undecodable")
        }
        self._fallbacks = CACHE_FALLBACKS.labels(cache=name)
        self._loads = {
            reason: CACHE_LOADS.labels(cache=name, reason=reason)
            for reason in ("miss", "fallback", "transaction")
        }
        self._invalidations = CACHE_INVALIDATIONS.labels(cache=name)

    @property
    def key_space(self) -> str:
        """The prefix of every key this cache writes (all versions)."""
        return f"{KEY_SPACE}:{self.name}:"

    def generation_key(self, scope: Hashable) -> str:
        return f"{self.key_space}gen:{scope}"

    def entry_key(self, scope: Hashable) -> str:
        return f"{self.key_space}v{self.schema_version}:{scope}"

    def _fill_key(self, scope: Hashable, generation: int) -> str:
        return f"{self.key_space}fill:{scope}:{generation}"

    # --- public API ----------------------------------------------------------------------------

    def get(self, scope: Hashable) -> V:
        """The value for scope: from the cache when it is current, else loaded (and stored)."""
        if connections[self.database].in_atomic_block:
            self._loads["transaction"].inc()
            return self.load(scope)
        if self._bypassed and (str(scope) in self._bypassed or EVERY_SCOPE in self._bypassed):
            return self._fallback(scope)
        if self._pending and not self._retry_pending(scope):
            return self._fallback(scope)
        try:
            generation, value, result = self.guard.run("get", lambda: self._read(scope))
        except CacheUnavailable:
            return self._fallback(scope)
        self._count(result)
        if value is not MISS:
            return value
        if not settings.WAZEN_CACHE_SINGLE_FLIGHT:
            return self._fill(scope, generation, use_lock=False)
        return self._flights.run((scope, generation), lambda: self._fill(scope, generation))

    def held(self, scope: Hashable) -> Any:
        """The value this process holds for scope, unchecked (possibly stale), or MISS."""
        return MISS if (local := self._local.get(scope)) is None else local.value

    def get_then(
        self,
        scope: Hashable,
        then: GenerationalCache,
        then_scope: Callable[[V], Hashable | None],
    ) -> tuple[V, Any]:
        """`self.get(scope)`, then `then.get(then_scope(value))` (None when it gives no scope).

        When both values are held locally, one MGET reads both generations: a request that
        resolves an API key and then its company's catalog makes one Redis round trip, not two.
        Anything else (a local miss, an invalidation, an outage, a transaction, a failed
        invalidation waiting for retry) takes the two ordinary lookups.
        """
        fast = self._both_current(scope, then, then_scope)
        if fast is not None:
            return fast
        value = self.get(scope)
        next_scope = then_scope(value)
        return value, (then.get(next_scope) if next_scope is not None else None)

    def _both_current(
        self, scope: Hashable, then: GenerationalCache, then_scope: Callable[[V], Hashable | None]
    ) -> tuple[V, Any] | None:
        first = self._local.get(scope)
        if first is None or self._pending or then._pending or self._bypassed or then._bypassed:
            return None
        next_scope = then_scope(first.value)
        second = then._local.get(next_scope) if next_scope is not None else None
        store = self.store()
        if (
            second is None
            or then.store() is not store
            or connections[self.database].in_atomic_block
            or connections[then.database].in_atomic_block
            or then.guard.breaker.state != "closed"
        ):
            return None
        keys = [self.generation_key(scope), then.generation_key(next_scope)]
        try:
            current = self.guard.run("get", lambda: store.get_many(keys))
        except CacheUnavailable:
            return None  # the ordinary lookups fall back and count it
        if [as_generation(raw) for raw in current] != [first.generation, second.generation]:
            return None
        self._count("hit")
        then._count("hit")
        return first.value, second.value

    def invalidate(self, *scopes: Hashable) -> bool:
        """Retire the scopes' current entries now. False if Redis could not be told (retried)."""
        scopes_set = {str(scope) for scope in scopes}
        if not scopes_set:
            return True
        for scope in scopes:
            self._local.discard(scope)
        with self._lock:
            self._counters.invalidations += len(scopes_set)
        self._invalidations.inc(len(scopes_set))
        keys = [self.generation_key(scope) for scope in scopes_set]
        try:
            self.guard.run("invalidate", lambda: self.store().bump_generations(keys))
        except CacheUnavailable:
            with self._lock:
                self._pending |= scopes_set
            return False
        with self._lock:
            self._pending -= scopes_set
        return True

    def forget_local(self) -> None:
        """Drop this process' decoded entries (every scope is being retired)."""
        self._local.clear()

    def bypass(self, scopes: set[str]) -> None:
        """Bypass these scopes until the next call: invalidations another process recorded in
        the database but could not bump in Redis (cachekit/pending.py sets them)."""
        self._bypassed = frozenset(scopes)

    def stats(self) -> dict[str, Any]:
        """This process' counters since start, plus the breaker's current state."""
        with self._lock:
            counters = _Counters(**vars(self._counters))
            pending = len(self._pending | self._bypassed)
        lookups = counters.hits + counters.misses + counters.undecodable
        return {
            "cache": self.name,
            "schema_version": self.schema_version,
            "backend": settings.CACHE_BACKEND,
            "breaker": self.guard.breaker.state,
            "hits": counters.hits,
            "misses": counters.misses + counters.undecodable,
            "undecodable": counters.undecodable,
            "errors": self.guard.errors,
            "fallbacks": counters.fallbacks,
            "invalidations": counters.invalidations,
            "hit_ratio": round(counters.hits / lookups, 4) if lookups else None,
            "pending_invalidations": pending,
            "local_entries": len(self._local),
            "last_error": self.guard.last_error or None,
        }

    def ping(self) -> float:
        """Round-trip Redis (set, get, delete) even while the breaker is open; returns seconds.

        Raises CacheUnavailable. A success closes the breaker, so recovery is noticed at once.
        """
        started = time.perf_counter()
        self.guard.run("ping", self._round_trip, force=True)
        return time.perf_counter() - started

    def _round_trip(self) -> None:
        key = f"{self.key_space}ping:{threading.get_ident()}:{time.monotonic_ns()}"
        store = self.store()
        store.set(key, b"1", 10)
        if store.get(key) != b"1":
            raise CacheUnavailable("cache did not return the value just written")
        store.delete(key)

    # --- internals -----------------------------------------------------------------------------

    def _count(self, result: str) -> None:
        with self._lock:
            if result == "hit":
                self._counters.hits += 1
            elif result == "miss":
                self._counters.misses += 1
            else:
                self._counters.undecodable += 1
        self._requests[result].inc()

    def _read(self, scope: Hashable) -> tuple[int, Any, str]:
        """The current generation and the value stored under it (or MISS), with the result.

        With a local entry: one GET of the generation, plus a GET of the entry only if another
        process refilled it after an invalidation. Without: one MGET of generation and entry.
        """
        store = self.store()
        generation_key = self.generation_key(scope)
        local = self._local.get(scope)
        if local is not None:
            current = as_generation(store.get(generation_key))
            if current == local.generation:
                return current, local.value, "hit"
            raw_entry = store.get(self.entry_key(scope)) if current is not None else None
        else:
            raw_generation, raw_entry = store.get_many([generation_key, self.entry_key(scope)])
            current = as_generation(raw_generation)
        if current is None:
            # Never set, expired or evicted: mint a new one, so no older entry can match it.
            return store.get_or_start_generation(generation_key), MISS, "miss"
        value, expires_at, result = self._decode_entry(raw_entry, current)
        if value is not MISS:
            self._local.put(scope, current, value, expires_at - time.time())
        return current, value, result

    def _decode_entry(self, raw: bytes | None, generation: int) -> tuple[Any, float, str]:
        if raw is None:
            return MISS, 0.0, "miss"
        try:
            opened = envelope.unseal(raw, generation, self.decode)
        except Exception as error:  # any foreign shape is a miss, never a 500
            logger.debug("cache %s: undecodable entry (%r)", self.name, error)
            return MISS, 0.0, "undecodable"
        return (*opened, "hit") if opened is not None else (MISS, 0.0, "miss")

    def _fill(self, scope: Hashable, generation: int, *, use_lock: bool = True) -> V:
        """Load after a miss and store under a generation read before the load.

        One process holds the fill lock and loads; others wait for its entry. The holder reads
        once more after winning the lock: a filler that finished between our miss and our lock
        has already stored what we need.
        """
        store = self.store()
        fill_key = self._fill_key(scope, generation)
        leader = False
        if use_lock:
            try:
                leader = self.guard.run("lock", lambda: store.add(fill_key, b"1", _FILL_LOCK_TTL))
                if leader:
                    generation, value, _ = self.guard.run("get", lambda: self._read(scope))
                else:
                    generation, value = self._wait_for_filler(scope, generation)
            except CacheUnavailable:
                return self._fallback(scope)
            if value is not MISS:
                if leader:
                    self._release(fill_key)
                return value
        self._loads["miss"].inc()
        value = self.load(scope)
        ttl = self.ttl(value)
        if ttl <= 0:  # not to be cached (an unknown API key): leave nothing behind in Redis
            with contextlib.suppress(CacheUnavailable):
                self.guard.run("set", lambda: store.delete(self.generation_key(scope)))
            if leader:
                self._release(fill_key)
            return value
        data = envelope.seal(generation, ttl, self.encode(value))
        try:
            self.guard.run("set", lambda: store.set(self.entry_key(scope), data, ttl))
        except CacheUnavailable:
            pass  # the caller still gets its value; the next request retries the cache
        else:
            self._local.put(scope, generation, value, ttl)
        if leader:
            self._release(fill_key)
        return value

    def _release(self, fill_key: str) -> None:
        # If Redis fails here, the lock expires on its own after _FILL_LOCK_TTL.
        with contextlib.suppress(CacheUnavailable):
            self.guard.run("lock", lambda: self.store().delete(fill_key))

    def _wait_for_filler(self, scope: Hashable, generation: int) -> tuple[int, Any]:
        """Poll until another process stored the entry or the generation moved on.

        Returns the last generation read and the value (MISS: load it ourselves).
        """
        deadline = time.monotonic() + settings.WAZEN_CACHE_FILL_LOCK_WAIT
        while time.monotonic() < deadline:
            time.sleep(_POLL_INTERVAL)
            current, value, _ = self.guard.run("get", lambda: self._read(scope))
            if value is not MISS or current != generation:
                return current, value
        return generation, MISS

    def _retry_pending(self, scope: Hashable) -> bool:
        """Retry invalidations that failed during an outage. False: scope must skip the cache."""
        with self._lock:
            pending = set(self._pending)
        if pending:
            keys = [self.generation_key(s) for s in pending]
            try:
                self.guard.run("invalidate", lambda: self.store().bump_generations(keys))
            except CacheUnavailable:
                return str(scope) not in pending
            with self._lock:
                self._pending -= pending
        return True

    def _fallback(self, scope: Hashable) -> V:
        with self._lock:
            self._counters.fallbacks += 1
        self._fallbacks.inc()
        self._loads["fallback"].inc()
        return self.load(scope)
