"""Rate limits and quotas per API key and per company, counted in Redis and shared by every pod.

- Fixed windows (a minute, a UTC day). A window allows up to `limit` requests; a burst across a
  window boundary can reach twice the per-minute limit for a moment, which is the usual trade for
  one round trip.
- One Lua script checks every applicable counter and increments them only if none is exhausted,
  atomically: concurrent pods can never overshoot a limit, and a refused request spends nothing.
- Each authenticated API request counts against the per-minute limits. The daily reply quotas
  are charged by the views only once a reply is about to be produced (the body, the model and the
  conversation were accepted): a 400 or a 404 spends no reply (`charge_reply`).
- **Counters an eviction cannot reset.** The counters of one limit and window are fields of one
  Redis hash *without* a TTL (`wazen:ratelimit:<limit>:<window>`); the script deletes the previous
  window's hash when a new window starts, so at most two hashes per limit exist. Every cache key
  of the app carries a TTL and the chart runs Redis with `maxmemory-policy volatile-lru`, which
  evicts only keys with a TTL: under memory pressure cache entries go (and are read again from
  the database), the counters stay. (A separate logical database would not do: eviction picks
  from every database of the instance.)
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
from django.http import HttpRequest

from api.errors import ApiError
from api.metrics import RATE_LIMIT_FAIL_OPEN, RATE_LIMITED
from cachekit.guard import CacheUnavailable, RedisGuard
from cachekit.stores import redis_client
from tenancy.keys import Tenant

MINUTE, DAY = 60, 86_400

# KEYS[i]: limit i's "current window" pointer. ARGV[1]: how many limits; then per limit: the
# prefix of its window hashes, the window index, the identity (the hash field) and the limit.
# Windows only move forward: a pod whose clock lags counts in the newer window. Returns 0 when
# every counter had room (all incremented), else the 1-based index of the first exhausted one
# (nothing incremented).
_CHECK_AND_COUNT = """
local n = tonumber(ARGV[1])
local hashes = {}
for i = 1, n do
  local prefix, index = ARGV[4 * i - 2], tonumber(ARGV[4 * i - 1])
  local current = tonumber(redis.call('GET', KEYS[i]) or '-1')
  if index > current then
    if current >= 0 then
      redis.call('DEL', prefix .. current)
    end
    redis.call('SET', KEYS[i], index)
    current = index
  end
  hashes[i] = prefix .. current
  local used = tonumber(redis.call('HGET', hashes[i], ARGV[4 * i]) or '0')
  if used >= tonumber(ARGV[4 * i + 1]) then
    return i
  end
end
for i = 1, n do
  redis.call('HINCRBY', hashes[i], ARGV[4 * i], 1)
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

    def window_index(self, now: float) -> int:
        return int(now // self.window)

    def window_end(self, now: float) -> int:
        return (self.window_index(now) + 1) * self.window

    @property
    def hash_prefix(self) -> str:
        return f"wazen:ratelimit:{self.name}:"

    @property
    def pointer_key(self) -> str:
        return f"wazen:ratelimit:{self.name}:window"


def configured_limits(*, charges_reply: bool, requests: bool = True) -> list[Limit]:
    limits = [
        Limit("key_per_minute", "key", MINUTE, settings.WAZEN_RATE_LIMIT_KEY_PER_MINUTE,
              "rate_limited"),
        Limit("company_per_minute", "company", MINUTE,
              settings.WAZEN_RATE_LIMIT_COMPANY_PER_MINUTE, "rate_limited"),
    ] if requests else []  # fmt: skip
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


def reset() -> None:
    """Start like a fresh process (tests): no scheduled re-probe, the breaker closed."""
    guard.cancel_reprobe()
    guard.breaker.record_success()


def _script(client):
    """The registered script for this client (EVALSHA, re-sent by redis-py after a flush)."""
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_CHECK_AND_COUNT)
    return script


def _redis():
    return redis_client()


def count(limits: list[Limit], identities: dict[str, str]) -> tuple[Limit, int] | None:
    """Count one request against `limits` (identity per scope); the exhausted limit and the
    seconds until its window ends, or None (counted, or Redis unavailable: fail open)."""
    if not limits or settings.CACHE_BACKEND != "redis":
        return None
    now = time.time()
    keys: list[str] = []
    args: list[object] = [len(limits)]
    for limit in limits:
        index = limit.window_index(now)
        keys.append(limit.pointer_key)
        args += [limit.hash_prefix, index, identities[limit.scope], limit.limit]
    try:
        exhausted = guard.run("check", lambda: _script(_redis())(keys=keys, args=args))
    except CacheUnavailable:
        RATE_LIMIT_FAIL_OPEN.inc()
        return None
    if not exhausted:
        return None
    limit = limits[int(exhausted) - 1]
    return limit, max(1, math.ceil(limit.window_end(now) - time.time()))


def enforce(*, tenant: Tenant, key_hash: str, charges_reply: bool = False) -> None:
    """Count this request against every configured limit, or raise a 429 ApiError."""
    _refuse_over(tenant, key_hash, configured_limits(charges_reply=charges_reply))


def charge_reply(request: HttpRequest) -> None:
    """Charge one assistant reply to the daily quotas, or raise a 429: called by a view once the
    request was accepted and the reply is about to be produced (or streamed)."""
    limits = configured_limits(charges_reply=True, requests=False)
    _refuse_over(request.tenant, request.api_key_hash, limits)


def _refuse_over(tenant: Tenant, key_hash: str, limits: list[Limit]) -> None:
    over = count(limits, {"key": key_hash[:32], "company": str(tenant.id)})
    if over is None:
        return
    limit, retry_after = over
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
