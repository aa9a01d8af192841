"""Metrics of the generational caches, one series per cache instance (label `cache`).

Under gunicorn the image sets PROMETHEUS_MULTIPROC_DIR, and prometheus_client then writes every
worker's values to files that the master's metrics server aggregates.
"""

from prometheus_client import Counter, Gauge

CACHE_REQUESTS = Counter(
    "wazen_cache_requests",
    "Cache lookups by cache and result: hit, miss, or undecodable (an entry this build cannot "
    "read, e.g. written by another version: treated as a miss).",
    ["cache", "result"],
)
CACHE_ERRORS = Counter(
    "wazen_cache_errors",
    "Redis outage errors seen by a cache, by operation.",
    ["cache", "operation"],
)
CACHE_FALLBACKS = Counter(
    "wazen_cache_fallbacks",
    "Values served from the database because the cache was unavailable.",
    ["cache"],
)
CACHE_LOADS = Counter(
    "wazen_cache_loads",
    "Database loads made by a cache, by reason: miss (a fill), fallback (Redis unavailable) or "
    "transaction (a read inside an atomic block, never cached).",
    ["cache", "reason"],
)
CACHE_INVALIDATIONS = Counter(
    "wazen_cache_invalidations",
    "Invalidations (generation bumps) after committed writes.",
    ["cache"],
)
CACHE_AVAILABLE = Gauge(
    "wazen_cache_available",
    "1 while Redis answers the cache, 0 while its circuit breaker is open.",
    ["cache"],
    multiprocess_mode="livemin",
)
CACHE_PENDING_INVALIDATIONS = Gauge(
    "wazen_cache_pending_invalidations",
    "Invalidations recorded in the database but not yet brought to Redis, as this process' last "
    "sweep found them: their scopes are served from the database until a bump succeeds.",
    ["cache"],
    multiprocess_mode="livemax",
)
