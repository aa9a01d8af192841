"""Rate limits and quotas per API key and per company, counted in Redis and shared by every pod.

- Fixed windows (a minute, a UTC day): one Redis counter per key, company and window, expiring
  with the window. A window allows up to `limit` requests; a burst across a window boundary can
  reach twice the per-minute limit for a moment, which is the usual trade for one round trip.
- One Lua script checks every applicable counter and increments them only if none is exhausted,
  atomically: concurrent pods can never overshoot a limit, and a refused request spends nothing.
- Each authenticated API request counts against the per-minute limits; each accepted chat request
  also counts as one LLM reply against the daily quotas (charged before the reply is produced,
  so concurrent requests cannot overshoot the quota either).
- Redis down: fail open. The request is served unchecked and counted in
  wazen_rate_limit_fail_open_total; a cache outage must not become an application outage, and the
  breaker keeps the cost of an outage at one socket timeout per cooldown.
- Without Redis (the locmem backend of local development) there is nothing shared to count in,
  and limits are not enforced.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.conf import settings

from api.errors import ApiError
from api.metrics import RATE_LIMIT_FAIL_OPEN, RATE_LIMITED
from catalog.api_keys import Tenant
from catalog.resilience import CacheUnavailable, RedisGuard

MINUTE, DAY = 60, 86_400

# KEYS[i]: counters; ARGV[2i-1]: limit of KEYS[i], ARGV[2i]: its expiry in seconds.
# Returns 0 when every counter had room (all incremented), else the 1-based index of the first
# exhausted one (nothing incremented).
_CHECK_AND_COUNT = """
for i = 1, #KEYS do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used >= tonumber(ARGV[2 * i - 1]) then
    return i
  end
end
for i = 1, #KEYS do
  if redis.call('INCR', KEYS[i]) == 1 then
    redis.call('EXPIRE', KEYS[i], ARGV[2 * i])
  end
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Limit:
    name: str  # metric label and part of the Redis key
    scope: str  # "key" or "company"
    window: int  # seconds
    limit: int  # requests per window; 0 = unlimited
    code: str  # the error code of the 429

    def counter(self, identity: str, now: float) -> tuple[str, int]:
        """The window's Redis key and the seconds until the window ends."""
        index = int(now // self.window)
        return f"wazen:ratelimit:{self.name}:{identity}:{index}", (index + 1) * self.window


def configured_limits(*, charges_reply: bool) -> list[Limit]:
    limits = [
        Limit("key_per_minute", "key", MINUTE, settings.WAZEN_RATE_LIMIT_KEY_PER_MINUTE,
              "rate_limited"),
        Limit("company_per_minute", "company", MINUTE,
              settings.WAZEN_RATE_LIMIT_COMPANY_PER_MINUTE, "rate_limited"),
    ]  # fmt: skip
    if charges_reply:
        limits += [
            Limit("key_replies_per_day", "key", DAY, settings.WAZEN_QUOTA_KEY_REPLIES_PER_DAY,
                  "quota_exceeded"),
            Limit("company_replies_per_day", "company", DAY,
                  settings.WAZEN_QUOTA_COMPANY_REPLIES_PER_DAY, "quota_exceeded"),
        ]  # fmt: skip
    return [limit for limit in limits if limit.limit > 0]


# Its own breaker, log and metric labels (`cache="ratelimit"`): a limiter outage never opens the
# caches' breakers, and the other way round.
guard = RedisGuard(
    "ratelimit", probe=lambda: _redis().ping(), meanwhile="requests pass unchecked (fail open)"
)
_scripts: dict[int, object] = {}


def _script(client):
    """The registered script for this client (EVALSHA, re-sent by redis-py after a flush)."""
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_CHECK_AND_COUNT)
    return script


def _redis():
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def enforce(*, tenant: Tenant, key_hash: str, charges_reply: bool) -> None:
    """Count this request against every configured limit, or raise a 429 ApiError."""
    limits = configured_limits(charges_reply=charges_reply)
    if not limits or settings.CACHE_BACKEND != "redis":
        return
    now = time.time()
    identities = {"key": key_hash[:32], "company": str(tenant.id)}
    counters = [limit.counter(identities[limit.scope], now) for limit in limits]
    keys = [key for key, _ in counters]
    args: list[int] = []
    for limit, (_, window_end) in zip(limits, counters, strict=True):
        args += [limit.limit, math.ceil(window_end - now) + 1]
    try:
        exhausted = guard.run("check", lambda: _script(_redis())(keys=keys, args=args))
    except CacheUnavailable:
        RATE_LIMIT_FAIL_OPEN.inc()
        return
    if not exhausted:
        return
    limit = limits[int(exhausted) - 1]
    retry_after = max(1, math.ceil(counters[int(exhausted) - 1][1] - time.time()))
    RATE_LIMITED.labels(company=tenant.slug, limit=limit.name).inc()
    per = "minute" if limit.window == MINUTE else "day (UTC)"
    what = "requests" if limit.window == MINUTE else "assistant replies"
    owner = "This API key" if limit.scope == "key" else "Your company"
    raise ApiError(
        429,
        limit.code,
        f"{owner} may make {limit.limit} {what} per {per}; retry in {retry_after} s.",
        headers={"Retry-After": str(retry_after)},
    )
