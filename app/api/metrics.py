"""The API's own metrics (rate limits, quotas, failed authentications), beside the code that
changes them."""

from prometheus_client import Counter

RATE_LIMITED = Counter(
    "wazen_rate_limited_requests",
    "API requests answered 429 by a rate limit or quota, by company slug and limit.",
    ["company", "limit"],
)
RATE_LIMIT_FAIL_OPEN = Counter(
    "wazen_rate_limit_fail_open",
    "API requests let through without a rate-limit check because Redis was unavailable.",
)
AUTH_FAILURES = Counter(
    "wazen_auth_failures",
    "Failed authentications: rejected (401) or throttled (429: too many from one address).",
    ["outcome"],
)
for _outcome in ("rejected", "throttled"):
    AUTH_FAILURES.labels(outcome=_outcome)  # the series exist from the start, at 0
