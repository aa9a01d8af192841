"""The assistant's own Prometheus metrics, defined once and imported where they change.

Under gunicorn the image sets PROMETHEUS_MULTIPROC_DIR, and prometheus_client then writes every
worker's values to files that the master's metrics server aggregates; gauges say how to combine
workers (multiprocess_mode).
"""

from prometheus_client import Counter, Gauge, Histogram

REPLY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 45)
QUERY_BUCKETS = (0, 1, 2, 3, 4, 5, 8, 13, 21)

REPLY_DURATION = Histogram(
    "wazen_reply_duration_seconds",
    "Time to produce an assistant reply, by provider and outcome.",
    ["provider", "outcome"],
    buckets=REPLY_BUCKETS,
)
REPLY_FIRST_CHUNK = Histogram(
    "wazen_reply_first_chunk_seconds",
    "Streamed replies: time from asking the provider to its first text, by provider.",
    ["provider"],
    buckets=REPLY_BUCKETS,
)
REPLIES_ABANDONED = Counter(
    "wazen_replies_abandoned",
    "Streamed replies whose client went away before the end (stored as far as they got).",
    ["provider"],
)


def start_provider_series(provider: str) -> None:
    """Create a provider's streamed-reply series at zero when the provider is built, so that
    dashboards and rate() show 0 rather than nothing before its first streamed (or abandoned)
    reply."""
    REPLY_FIRST_CHUNK.labels(provider=provider)
    REPLIES_ABANDONED.labels(provider=provider)


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
ORDERS_CANCELLED = Counter(
    "wazen_orders_cancelled", "Pending orders cancelled by their customer through the assistant."
)
MIGRATIONS_PENDING = Gauge(
    "wazen_migrations_pending",
    "Unapplied database migrations seen by the startup probe.",
    multiprocess_mode="livemax",
)
