"""What keeps a Redis outage from becoming an application outage.

- `is_outage` tells Redis being unreachable, slow or out of memory (absorbed: the caller falls
  back to the database) from programming and configuration errors (raised).
- `CircuitBreaker` stops sending requests to Redis for a cooldown after an error, so an outage
  costs one socket timeout per cooldown and process instead of one per request.
- `RedisGuard` puts the two together for one named user of Redis (a cache instance, the rate
  limiter): its own breaker, its own metric labels, its own rate-limited log line. One user's
  errors never open another's breaker or show up under another's name.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from cachekit.metrics import CACHE_AVAILABLE, CACHE_ERRORS

T = TypeVar("T")

_OUTAGE_RESPONSES = (
    "OOM", "READONLY", "LOADING", "MASTERDOWN", "BUSY", "NOAUTH", "WRONGPASS", "TRYAGAIN",
    "CLUSTERDOWN",
)  # fmt: skip
CANDIDATE_ERRORS = (
    RedisConnectionError,
    RedisTimeoutError,
    ResponseError,
    socket.timeout,
)


def is_outage(error: BaseException) -> bool:
    """True for errors that mean 'Redis cannot serve now', False for bugs that must surface."""
    if isinstance(error, RedisConnectionError | RedisTimeoutError | socket.timeout):
        return True
    if isinstance(error, ResponseError):
        # redis-py moves the reply's code (READONLY, OOM, …) from the message to `status_code`.
        code = getattr(error, "status_code", None) or str(error)
        return code.startswith(_OUTAGE_RESPONSES)
    return False


class CacheUnavailable(Exception):
    """Redis cannot be used right now; the caller serves from the database instead."""


class CircuitBreaker:
    """Closed → (error) → open for a cooldown → half-open: one trial call decides.

    Thread-safe. While open, callers skip Redis. The trial slot is released whatever the trial
    call does (success, outage, or any other exception), so the breaker can never stick in
    "half-open" with nobody allowed through.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._opened_at: float | None = None
        self._trial_running = False
        CACHE_AVAILABLE.labels(cache=name).set(1)

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
            CACHE_AVAILABLE.labels(cache=self.name).set(1)

    def record_failure(self) -> None:
        with self._lock:
            self._opened_at = time.monotonic()
            self._trial_running = False
        CACHE_AVAILABLE.labels(cache=self.name).set(0)

    def release_trial(self) -> None:
        """The trial ended without a verdict on Redis (e.g. a programming error): let the next
        caller try, state unchanged."""
        with self._lock:
            self._trial_running = False


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


class RedisGuard:
    """Runs one named user's Redis operations behind its breaker; outages → CacheUnavailable.

    Logs go to the logger `wazen.cache.<name>`, errors to `wazen_cache_errors_total{cache=name}`.

    With a `probe` (a cheap round trip), an open breaker re-probes Redis by itself after each
    cooldown, so a process that gets no traffic still notices the recovery (and its
    `wazen_cache_available` gauge does not stay 0 long after Redis is back).
    """

    def __init__(
        self,
        name: str,
        *,
        probe: Callable[[], object] | None = None,
        meanwhile: str = "serving from the database",
    ) -> None:
        self.name = name
        self.breaker = CircuitBreaker(name)
        self._probe = probe
        self._meanwhile = meanwhile
        self._log = RateLimitedLog(logging.getLogger(f"wazen.cache.{name}"))
        self._lock = threading.Lock()
        self._reprobe: threading.Timer | None = None
        self.errors = 0
        self.last_error = ""

    def run(self, operation: str, fn: Callable[[], T], *, force: bool = False) -> T:
        """Call fn unless the breaker is open (force: probe anyway, e.g. the health check)."""
        if not force and not self.breaker.allow():
            raise CacheUnavailable("circuit breaker open")
        try:
            result = fn()
        except CANDIDATE_ERRORS as error:
            if not is_outage(error):
                self.breaker.release_trial()
                raise
            self._record(operation, error)
            raise CacheUnavailable(str(error)) from error
        except BaseException:
            self.breaker.release_trial()
            raise
        self.breaker.record_success()
        return result

    def _record(self, operation: str, error: BaseException) -> None:
        detail = f"{type(error.__cause__ or error).__name__}: {error.__cause__ or error}"
        with self._lock:
            self.errors += 1
            self.last_error = detail
        CACHE_ERRORS.labels(cache=self.name, operation=operation).inc()
        self.breaker.record_failure()
        self._log.warning(
            "Redis unavailable for %r during %s (%s); %s",
            self.name,
            operation,
            detail,
            self._meanwhile,
        )
        self._schedule_reprobe()

    def _schedule_reprobe(self) -> None:
        if self._probe is None:
            return
        with self._lock:
            if self._reprobe is not None and self._reprobe.is_alive():
                return
            self._reprobe = threading.Timer(self.breaker.cooldown, self._run_reprobe)
            self._reprobe.daemon = True
            self._reprobe.start()

    def cancel_reprobe(self) -> None:
        """Stop a scheduled re-probe (a test ending: it would talk to the next test's Redis)."""
        with self._lock:
            if self._reprobe is not None:
                self._reprobe.cancel()
                self._reprobe = None

    def _run_reprobe(self) -> None:
        with self._lock:
            self._reprobe = None
        if self.breaker.state == "closed":
            return  # traffic noticed the recovery first
        try:
            self.run("probe", self._probe, force=True)
        except CacheUnavailable:
            pass  # _record scheduled the next attempt
        except Exception:  # a programming error in the probe must not kill the timer silently
            logging.getLogger(f"wazen.cache.{self.name}").exception("re-probe failed")
