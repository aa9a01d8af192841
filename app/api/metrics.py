"""The API's own metrics (rate limits and quotas), beside the code that changes them."""

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
