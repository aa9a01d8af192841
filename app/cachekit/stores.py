"""Where generations and entries live: Redis, or one process' memory when there is no Redis.

The store speaks bytes and keys only; meaning (generations, envelopes, versions) belongs to
`GenerationalCache`. Redis is driven through redis-py directly, on one connection pool per
process built from REDIS_URL (`redis_client`, shared with the rate limiter): the hit path is one
small GET, with no cache framework's key, serializer or instrumentation layers around it.

Generations are random 63-bit integers, not counters: a generation only has to differ from every
generation a live entry was stored under, and a fresh random value does that whether the key was
bumped, evicted, or lost in a Redis restart. (Builds before the versioned cache INCR the same key;
INCR of a random integer is still a new value, so old and new pods keep sharing invalidations
during a rolling upgrade.)
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Protocol

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

# A generation outlives any entry stored under it (entries live CACHE_TIMEOUT); when it expires,
# the next reader mints a new one, which costs one miss and never serves stale data.
GENERATION_TTL = 24 * 3600

_GET_OR_START = """
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) then return current end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return ARGV[1]
"""


def new_generation() -> int:
    return secrets.randbits(63)


def as_generation(raw: bytes | None) -> int | None:
    """A stored generation, or None when missing, foreign or corrupt (a new one is minted)."""
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


class Store(Protocol):
    shared: bool  # seen by every process (Redis), or by this one only

    def get(self, key: str) -> bytes | None: ...
    def get_many(self, keys: list[str]) -> list[bytes | None]: ...
    def set(self, key: str, value: bytes, ttl: float) -> None: ...
    def add(self, key: str, value: bytes, ttl: float) -> bool: ...
    def delete(self, key: str) -> None: ...
    def get_or_start_generation(self, key: str) -> int: ...
    def bump_generations(self, keys: list[str]) -> None: ...
    def delete_prefix(self, prefix: str) -> int: ...


class RedisStore:
    shared = True

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._get_or_start = self.client.register_script(_GET_OR_START)

    def get(self, key: str) -> bytes | None:
        return self.client.get(key)

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        return self.client.mget(keys)

    def set(self, key: str, value: bytes, ttl: float) -> None:
        self.client.set(key, value, px=max(1, int(ttl * 1000)))

    def add(self, key: str, value: bytes, ttl: float) -> bool:
        return bool(self.client.set(key, value, px=max(1, int(ttl * 1000)), nx=True))

    def delete(self, key: str) -> None:
        self.client.delete(key)

    def get_or_start_generation(self, key: str) -> int:
        return int(self._get_or_start(keys=[key], args=[new_generation(), GENERATION_TTL]))

    def bump_generations(self, keys: list[str]) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.set(key, new_generation(), ex=GENERATION_TTL)
            pipe.execute()

    def delete_prefix(self, prefix: str) -> int:
        deleted = 0
        batch: list[bytes] = []
        for key in self.client.scan_iter(match=f"{_glob_escape(prefix)}*", count=500):
            batch.append(key)
            if len(batch) == 500:
                deleted += self.client.unlink(*batch)
                batch.clear()
        if batch:
            deleted += self.client.unlink(*batch)
        return deleted


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


class LocalMemoryStore:
    """One process' memory, for a single-process server and tests (DJANGO_CACHE_BACKEND=locmem).

    Correct within one process only: several processes would each keep their own generations,
    so a write in one would never reach the others' readers. cachekit.checks refuses it for a
    server of more than one process.
    """

    shared = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, tuple[bytes, float]] = {}

    def _live(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[1] <= time.monotonic():
            del self._data[key]
            return None
        return item[0]

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._live(key)

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        with self._lock:
            return [self._live(key) for key in keys]

    def set(self, key: str, value: bytes, ttl: float) -> None:
        with self._lock:
            self._data[key] = (value, time.monotonic() + ttl)

    def add(self, key: str, value: bytes, ttl: float) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._data[key] = (value, time.monotonic() + ttl)
            return True

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def get_or_start_generation(self, key: str) -> int:
        with self._lock:
            current = self._live(key)
            if current is None or not current.isdigit():
                current = str(new_generation()).encode()
                self._data[key] = (current, time.monotonic() + GENERATION_TTL)
            return int(current)

    def bump_generations(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                value = str(new_generation()).encode()
                self._data[key] = (value, time.monotonic() + GENERATION_TTL)

    def delete_prefix(self, prefix: str) -> int:
        with self._lock:
            doomed = [key for key in self._data if key.startswith(prefix)]
            for key in doomed:
                del self._data[key]
            return len(doomed)


_local_memory = LocalMemoryStore()
_clients: dict[str, redis.Redis] = {}
_stores: dict[str, RedisStore] = {}
_lock = threading.Lock()


def redis_client() -> redis.Redis:
    """This process' client for REDIS_URL: one connection pool, bounded, with short timeouts and
    no retries (a hung or gone Redis costs one short wait, then the caller's breaker opens;
    redis-py's default is three retries with jittered back-offs, drawn from the global `random`).
    A pooled connection that a Redis restart closed is noticed and replaced before use."""
    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        with _lock:
            client = _clients.get(url)
            if client is None:
                client = _clients[url] = redis.Redis.from_url(
                    url,
                    socket_timeout=settings.WAZEN_CACHE_SOCKET_TIMEOUT,
                    socket_connect_timeout=settings.WAZEN_CACHE_SOCKET_TIMEOUT,
                    max_connections=settings.WAZEN_CACHE_MAX_CONNECTIONS,
                    health_check_interval=30,
                    retry=Retry(NoBackoff(), 0),
                )
    return client


def default_store() -> Store:
    """The store for the configured backend (tests point REDIS_URL at their own server)."""
    if settings.CACHE_BACKEND != "redis":
        return _local_memory
    store = _stores.get(settings.REDIS_URL)
    if store is None:
        client = redis_client()
        with _lock:
            store = _stores.setdefault(settings.REDIS_URL, RedisStore(client))
    return store


def forget_local_memory() -> None:
    """Empty the process-local store (a test starting like a fresh process)."""
    global _local_memory
    _local_memory = LocalMemoryStore()
