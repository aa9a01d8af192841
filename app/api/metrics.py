"""The API's own metrics (rate limits, quotas, failed authentications, replies in flight), beside
the code that changes them."""

from prometheus_client import Counter, Gauge

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

# Replies in flight: the autoscaler's signal (a Pods metric through prometheus-adapter) and the
# operator's view of how close each pod is to WAZEN_MAX_INFLIGHT_REPLIES. livesum: the pod's
# workers added up, a dead worker's share dropped.
REPLIES_IN_FLIGHT = Gauge(
    "wazen_replies_in_flight",
    "Assistant replies being produced right now (streamed or whole), summed over the workers.",
    multiprocess_mode="livesum",
)
REPLIES_REJECTED = Counter(
    "wazen_replies_rejected",
    "Replies refused at once with 503 because the worker held WAZEN_MAX_INFLIGHT_REPLIES.",
)
REPLIES_HUNG_UP = Counter(
    "wazen_replies_client_gone",
    "Replies stopped because the client closed its connection before the reply was sent.",
)
