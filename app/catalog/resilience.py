"""What keeps a Redis outage from becoming an application outage.

- `is_outage` tells Redis being unreachable, slow or out of memory (absorbed: the caller falls
  back to the database) from programming and configuration errors (raised).
- `CircuitBreaker` stops sending requests to Redis for a cooldown after an error, so an outage
  costs one socket timeout per cooldown and process instead of one per request.
- `RateLimitedLog` logs an outage once per interval with a count of what it suppressed.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ops.metrics import CATALOG_CACHE_AVAILABLE, CATALOG_CACHE_ERRORS

T = TypeVar("T")

_OUTAGE_RESPONSES = ("OOM", "READONLY", "LOADING", "MASTERDOWN", "BUSY", "NOAUTH", "WRONGPASS")
CANDIDATE_ERRORS = (
    ConnectionInterrupted,
    RedisConnectionError,
    RedisTimeoutError,
    ResponseError,
    socket.timeout,
)


def is_outage(error: BaseException) -> bool:
    """True for errors that mean 'Redis cannot serve now', False for bugs that must surface."""
    cause = error.__cause__ if isinstance(error, ConnectionInterrupted) else error
    if cause is None:
        return True
    if isinstance(cause, RedisConnectionError | RedisTimeoutError | socket.timeout):
        return True
    if isinstance(cause, ResponseError):
        return str(cause).startswith(_OUTAGE_RESPONSES)
    return False


class CircuitBreaker:
    """Closed → (error) → open for a cooldown → half-open: one trial call decides.

    Thread-safe; one per process. While open, callers skip Redis and read the database.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._opened_at: float | None = None
        self._trial_running = False
        CATALOG_CACHE_AVAILABLE.set(1)

    @property
    def cooldown(self) -> float:
        return settings.WAZEN_CACHE_BREAKER_COOLDOWN

    @property
    def state(self) -> str:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            if time.monotonic() - self._opened_at >= self.cooldown:
                return "half-open"
            return "open"

    def allow(self) -> bool:
        """May this call use Redis? In half-open state only one caller at a time may."""
        with self._lock:
            if self._opened_at is None:
                return True
            if time.monotonic() - self._opened_at < self.cooldown or self._trial_running:
                return False
            self._trial_running = True
            return True

    def record_success(self) -> None:
        with self._lock:
            was_open = self._opened_at is not None
            self._opened_at = None
            self._trial_running = False
        if was_open:
            CATALOG_CACHE_AVAILABLE.set(1)

    def record_failure(self) -> None:
        with self._lock:
            self._opened_at = time.monotonic()
            self._trial_running = False
        CATALOG_CACHE_AVAILABLE.set(0)

    def reset(self) -> None:
        with self._lock:
            self._opened_at = None
            self._trial_running = False
        CATALOG_CACHE_AVAILABLE.set(1)


class CacheUnavailable(Exception):
    """Redis cannot be used right now; the caller serves from the database instead."""


class RedisGuard:
    """Runs cache operations behind the breaker; turns outages into CacheUnavailable."""

    def __init__(self) -> None:
        self.breaker = CircuitBreaker()
        self._log = RateLimitedLog(logging.getLogger("catalog.cache"))
        self._lock = threading.Lock()
        self.errors = 0
        self.last_error = ""

    def reset(self) -> None:
        """Back to a fresh process' state (tests)."""
        self.breaker.reset()
        self._log.reset()
        with self._lock:
            self.errors, self.last_error = 0, ""

    def run(self, operation: str, fn: Callable[[], T], *, force: bool = False) -> T:
        """Call fn unless the breaker is open (force: probe anyway, e.g. the health check)."""
        if not force and not self.breaker.allow():
            raise CacheUnavailable("circuit breaker open")
        try:
            result = fn()
        except CANDIDATE_ERRORS as error:
            if not is_outage(error):
                raise
            self._record(operation, error)
            raise CacheUnavailable(str(error)) from error
        self.breaker.record_success()
        return result

    def _record(self, operation: str, error: BaseException) -> None:
        detail = f"{type(error.__cause__ or error).__name__}: {error.__cause__ or error}"
        with self._lock:
            self.errors += 1
            self.last_error = detail
        CATALOG_CACHE_ERRORS.labels(operation=operation).inc()
        self.breaker.record_failure()
        self._log.warning(
            "Catalog cache unavailable during %s (%s); serving from the database", operation, detail
        )


class RateLimitedLog:
    """Logs at most once per WAZEN_CACHE_ERROR_LOG_INTERVAL seconds; says how many it held back."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self._lock = threading.Lock()
        self._last: float | None = None
        self._suppressed = 0

    def reset(self) -> None:
        with self._lock:
            self._last, self._suppressed = None, 0

    def warning(self, message: str, *args: object) -> bool:
        interval = settings.WAZEN_CACHE_ERROR_LOG_INTERVAL
        with self._lock:
            now = time.monotonic()
            if self._last is not None and now - self._last < interval:
                self._suppressed += 1
                return False
            suppressed, self._suppressed, self._last = self._suppressed, 0, now
        self.logger.warning(message + " (%d similar messages suppressed)", *args, suppressed)
        return True


redis_guard = RedisGuard()
