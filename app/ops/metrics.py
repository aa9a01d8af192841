"""The assistant's own Prometheus metrics, defined once and imported where they change.

Under gunicorn the image sets PROMETHEUS_MULTIPROC_DIR, and prometheus_client then writes every
worker's values to files that the master's metrics server aggregates; gauges say how to combine
workers (multiprocess_mode).
"""

from prometheus_client import Counter, Gauge, Histogram

REPLY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 45)
QUERY_BUCKETS = (0, 1, 2, 3, 4, 5, 8, 13, 21)

CATALOG_CACHE_REQUESTS = Counter(
    "wazen_catalog_cache_requests",
    "Catalog snapshot lookups in the cache, by result (hit or miss).",
    ["result"],
)
CATALOG_CACHE_ERRORS = Counter(
    "wazen_catalog_cache_errors",
    "Redis errors seen by the catalog cache, by operation.",
    ["operation"],
)
CATALOG_CACHE_FALLBACKS = Counter(
    "wazen_catalog_cache_fallbacks",
    "Catalog snapshots served from the database because the cache was unavailable.",
)
CATALOG_CACHE_INVALIDATIONS = Counter(
    "wazen_catalog_cache_invalidations",
    "Catalog invalidations (generation bumps) after committed writes.",
)
CATALOG_CACHE_AVAILABLE = Gauge(
    "wazen_catalog_cache_available",
    "1 while Redis answers the catalog cache, 0 while its circuit breaker is open.",
    multiprocess_mode="livemin",
)
REPLY_DURATION = Histogram(
    "wazen_reply_duration_seconds",
    "Time to produce an assistant reply, by provider and outcome.",
    ["provider", "outcome"],
    buckets=REPLY_BUCKETS,
)
REPLY_DB_QUERIES = Histogram(
    "wazen_reply_db_queries",
    "Database queries executed while producing one assistant reply.",
    buckets=QUERY_BUCKETS,
)
LLM_DURATION = Histogram(
    "wazen_llm_request_duration_seconds",
    "Time spent in the LLM provider per reply, by provider.",
    ["provider"],
    buckets=REPLY_BUCKETS,
)
LLM_ERRORS = Counter(
    "wazen_llm_errors",
    "LLM provider failures answered with an apology, by provider and reason.",
    ["provider", "reason"],
)
DATABASE_UNAVAILABLE = Counter(
    "wazen_database_unavailable",
    "Requests answered 503 because the database was unreachable (OperationalError).",
)
ORDERS_CREATED = Counter("wazen_orders_created", "Orders placed through the assistant.")
MIGRATIONS_PENDING = Gauge(
    "wazen_migrations_pending",
    "Unapplied database migrations seen by the startup probe.",
    multiprocess_mode="livemax",
)
