"""Before authentication: what a flood of bad keys may cost.

A request whose key is missing, malformed, unknown or revoked costs a database query (unknown
keys are not cached: see tenancy/keys.py), so failures are limited per client address:
`WAZEN_AUTH_FAILURES_PER_MINUTE_PER_IP` failed authentications per minute, counted in Redis like
the other limits (api/ratelimit.py: one hash per window, no key per address or per bad key). An
address over the limit gets `429 auth_rate_limited` with `Retry-After` for the rest of the minute;
this process also remembers that locally, so its further requests cost neither Redis nor the
database. A key this process already knows to be valid still gets through from a blocked address
(and is then authenticated as usual): clients that share an address with a flood (behind one NAT
or proxy) keep working. Counted in `wazen_auth_failures_total{outcome}`; logged once per
interval, never once per request (Django's own 4xx WARNING is suppressed for these answers).

The client address: the peer's, or, when the peer is the image's nginx on a unix socket (no
address), nginx's `X-Real-IP`, which nginx always overwrites.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.http import HttpRequest

from api.errors import ApiError
from api.metrics import AUTH_FAILURES
from api.ratelimit import MINUTE, Limit, count
from cachekit.component import MISS
from cachekit.guard import RateLimitedLog
from tenancy import keys

log = RateLimitedLog(logging.getLogger("wazen.auth"))
_MAX_REMEMBERED = 10_000  # addresses this process refuses locally; the oldest go first


class Blocked:
    """Addresses over the limit, until their window ends (per process, bounded)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}

    def retry_after(self, address: str) -> int | None:
        with self._lock:
            until = self._until.get(address)
            if until is None:
                return None
            if until <= time.time():
                del self._until[address]
                return None
            return max(1, int(until - time.time() + 0.999))

    def block(self, address: str, seconds: int) -> None:
        with self._lock:
            if len(self._until) >= _MAX_REMEMBERED:
                self._until.pop(next(iter(self._until)))
            self._until[address] = time.time() + seconds

    def clear(self) -> None:
        with self._lock:
            self._until.clear()


blocked = Blocked()


def reset() -> None:
    """Forget blocked addresses and the log's interval (a test starting like a fresh process)."""
    blocked.clear()
    log.reset()


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or request.headers.get("X-Real-IP", "") or "unknown"


def _limit() -> Limit:
    return Limit(
        "auth_failures_per_ip", "address", MINUTE,
        settings.WAZEN_AUTH_FAILURES_PER_MINUTE_PER_IP, "auth_rate_limited",
    )  # fmt: skip


def _throttled(retry_after: int) -> ApiError:
    AUTH_FAILURES.labels(outcome="throttled").inc()
    return ApiError(
        429,
        "auth_rate_limited",
        f"Too many failed authentications from your address; retry in {retry_after} s.",
        headers={"Retry-After": str(retry_after)},
    )


def refuse_if_blocked(request: HttpRequest) -> None:
    """429 at once for an address this process knows is over the limit (no Redis, no query),
    unless the request carries a key this process holds as valid."""
    retry_after = blocked.retry_after(client_address(request))
    if retry_after is None:
        return
    _, _, token = request.headers.get("Authorization", "").partition(" ")
    if keys.resolutions().held(keys.hash_key(token.strip())) in (MISS, None):
        raise _throttled(retry_after)


def failed(request: HttpRequest, error: ApiError) -> ApiError:
    """Count a failed authentication; the error to answer with (the 401, or a 429 when this
    address has now failed more often than the limit)."""
    address = client_address(request)
    log.warning("Failed authentication (%s) from %s", error.code, address)
    limit = _limit()
    over = count([limit], {"address": address}) if limit.limit > 0 else None
    if over is None:
        AUTH_FAILURES.labels(outcome="rejected").inc()
        return error
    retry_after = over[1]
    blocked.block(address, retry_after)
    return _throttled(retry_after)
