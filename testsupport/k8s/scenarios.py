"""What must hold, once, for both stand-ups of the stack: the kind cluster (k8s-tests/kind) and
the local twin (k8s-tests/stack). Each scenario takes a `Stack` and asserts; the stand-ups only
differ in how they start things, reach pods and stop Redis.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from testsupport.k8s.chartinfo import Chart, PanelQuery
from testsupport.k8s.clients import (
    ChatClient,
    PrometheusAPI,
    Response,
    Sample,
    log,
    request,
    scrape,
    total,
)

# docs/runtime-contract.md: the assistant's own metrics, all present from the first scrape on
# (counters with labels appear after their first increment, so those are checked after traffic).
CONTRACT_METRICS = (
    "wazen_cache_requests_total",
    "wazen_cache_available",
    "wazen_reply_duration_seconds_bucket",
    "wazen_reply_db_queries_bucket",
    "django_http_requests_total_by_method_total",
)
HIT = "wazen_cache_requests_total"
REPLY_BUCKET = "wazen_reply_duration_seconds_bucket"
QUESTIONS = (
    "What services do you offer?",
    "How much does payroll cost?",
    "Hello, what can I order?",
    "I would like to order Payroll",
)


class Stack(Protocol):
    """The few things a scenario needs from a running stack."""

    name: str
    chart: Chart  # the rendered chart this stack was stood up from
    api_key: str
    prometheus: PrometheusAPI

    @property
    def base_urls(self) -> list[str]:
        """Where clients reach the Service (kind: one port-forward; twin: every instance)."""

    def chat_client(self, base_url: str) -> ChatClient:
        """A client for one Service address (with the Host header the chart allows)."""

    def pods(self) -> list[str]: ...

    def metrics_url(self, pod: str) -> str:
        """The pod's metrics endpoint (ServiceMonitor path on the metrics port)."""

    def readiness(self, pod: str) -> Response:
        """GET the readiness path on one pod, asking for JSON."""

    def ready(self) -> dict[str, bool]:
        """Pod -> Ready as the kubelet (or the twin's prober) sees it now."""

    def wait_ready(self, value: bool, timeout: float) -> None:
        """Every pod's Ready becomes `value` (raises TimeoutError otherwise)."""

    def stop_redis(self) -> None: ...

    def start_redis(self) -> None: ...

    def invalidate_catalog(self) -> None:
        """`manage catalog_cache invalidate demo` run like an operator would (a one-off
        process of the app image next to the pods)."""

    def background_client(self, seconds: float) -> BackgroundClient:
        """Start a client that chats through the Service for `seconds`."""

    def issue_api_key(self, name: str) -> str:
        """A new API key of the demo company (`manage issue_api_key demo --name NAME`)."""


# -- helpers --------------------------------------------------------------------------------
def chat_clients(stack: Stack) -> list[ChatClient]:
    return [stack.chat_client(url) for url in stack.base_urls]


def drive_chats(stack: Stack, count: int, start: int = 0) -> list[Response]:
    """`count` chat requests, round-robin over the Service addresses and the questions (an
    order among them), from the `start`-th on; every second one continues a conversation."""
    clients = chat_clients(stack)
    responses = []
    conversation = None
    for i in range(start, start + count):
        response = clients[i % len(clients)].chat(QUESTIONS[i % len(QUESTIONS)], conversation)
        assert response.status == 200, f"chat #{i} -> {response.status}: {response.body[:300]!r}"
        conversation = None if i % 2 else response.json()["conversation_id"]
        responses.append(response)
    return responses


def per_key_minute_limit(chart: Chart) -> int:
    """WAZEN_RATE_LIMIT_KEY_PER_MINUTE as the chart's ConfigMap sets it (0: no limit)."""
    for config in chart.of_kind("ConfigMap"):
        value = (config.get("data") or {}).get("WAZEN_RATE_LIMIT_KEY_PER_MINUTE")
        if value is not None:
            return int(value)
    return 0


def drive_throttled_requests(stack: Stack, api_key: str, extra: int = 30) -> int:
    """More API requests with one key than the release's per-key minute limit allows (the cheap
    catalog read, 8 at a time, through the Service): returns how many got 429, and waits until
    Prometheus has two samples of the throttling counter (the "Throttled requests by company"
    panel's series). Give it a key of its own: that key stays throttled for the minute."""
    from concurrent.futures import ThreadPoolExecutor

    limit = per_key_minute_limit(stack.chart)
    assert limit > 0, "the release sets no per-key rate limit (rateLimits.perKeyPerMinute)"
    client = dataclasses.replace(stack.chat_client(stack.base_urls[0]), api_key=api_key)

    def one(_: int) -> int:
        url = f"{client.base_url}/api/v1/services"
        return request(url, headers=client._headers(), timeout=client.timeout).status

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(one, range(limit + extra)))
    refused = statuses.count(429)
    others = {s for s in statuses if s not in (200, 429)}
    assert refused > 0, f"{limit + extra} requests with one key, none refused (limit {limit})"
    assert not others, f"unexpected statuses besides 200/429: {others}"
    # One more refusal a scrape later, so rate() over the counter has two different samples. The
    # windows are calendar minutes: if one ended meanwhile, the key has `limit` requests again.
    time.sleep(5)
    allowed = 0
    while one(0) != 429:
        allowed += 1
        assert allowed <= limit, f"{allowed} more requests with the throttled key, none refused"
    stack.prometheus.wait_for(
        "count_over_time(wazen_rate_limited_requests_total[1m])",
        lambda v: bool(v) and max(v) >= 2,
        60,
        "throttled-request samples",
    )
    log(f"{stack.name}: {refused + 1} of {limit + extra + 1} requests throttled (limit {limit})")
    return refused + 1


def scrape_all(stack: Stack) -> dict[Sample, float]:
    """Every pod's metrics summed sample by sample (what sum() over pods gives)."""
    summed: dict[Sample, float] = {}
    for pod in stack.pods():
        for key, value in scrape(stack.metrics_url(pod)).items():
            summed[key] = summed.get(key, 0.0) + value
    return summed


def cache_state(body: dict) -> str:
    """The catalog cache's state in a readiness body (ops.health.ProbeView): up / down. The
    public answer names each check and its state, nothing more (no error text)."""
    state = body.get("checks", {}).get("CatalogCache")
    assert state in ("ok", "failed"), f"the readiness body has no cache check: {body}"
    return "up" if state == "ok" else "down"


def cache_reported_up(body: dict) -> bool:
    return cache_state(body) == "up"


def probe_budget(stack: Stack, to: bool) -> float:
    """Seconds within which the kubelet flips Ready to `to` once the cause is there, from the
    rendered readiness probe: the threshold's worth of periods plus one period of phase and
    one probe timeout; going NotReady->Ready also waits for the app's Redis reconnect
    (circuit breaker cooldown, WAZEN_CACHE_BREAKER_COOLDOWN=5 s, and a margin)."""
    probe = stack.chart.probe("readiness")
    runs = probe.success_threshold if to else probe.failure_threshold
    reconnect = 10 if to else 0
    return (runs + 1) * probe.period + probe.timeout + reconnect


# -- scenarios ------------------------------------------------------------------------------
def check_pods_ready(stack: Stack) -> None:
    """Every pod becomes Ready through its probes."""
    stack.wait_ready(True, timeout=180)
    states = stack.ready()
    assert states, "no pods"
    assert all(states.values()), states
    log(f"{stack.name}: pods Ready {sorted(states)}")


def check_chat(stack: Stack) -> dict:
    """A chat request through the Service gets a reply and a conversation id."""
    response = chat_clients(stack)[0].chat("What services do you offer?")
    assert response.status == 200, f"{response.status}: {response.body[:500]!r}"
    body = response.json()
    assert body["reply"].strip(), body
    uuid.UUID(body["conversation_id"])
    follow_up = chat_clients(stack)[0].chat("And the prices?", body["conversation_id"])
    assert follow_up.status == 200, follow_up.body[:500]
    assert follow_up.json()["conversation_id"] == body["conversation_id"]
    log(f"{stack.name}: chat answered in {response.seconds * 1000:.0f} ms")
    check_streamed_reply(stack)
    return body


def check_streamed_reply(stack: Stack) -> None:
    """A streamed reply through the Service (OpenAI-compatible API): event-stream frames with
    text, ended by `data: [DONE]`."""
    response = chat_clients(stack)[0].stream_chat("What services do you offer?")
    assert response.status == 200, f"{response.status}: {response.body[:500]!r}"
    frames = [f for f in response.body.decode().split("\n\n") if f.startswith("data: ")]
    assert frames[-1] == "data: [DONE]", frames[-3:]
    chunks = [json.loads(f.removeprefix("data: ")) for f in frames[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text.strip(), chunks[:3]
    log(f"{stack.name}: streamed reply in {len(chunks)} chunks, {response.seconds * 1000:.0f} ms")


BURST_STREAMS = 24
BURST_PROBE_BOUND = 2.0  # seconds: the catalog stays fast while replies stream


def check_streamed_burst(stack: Stack, streams: int = BURST_STREAMS) -> None:
    """A burst of streamed replies at once through the Service (more than the old 2 x 4 threads
    of one pod) all complete with text and [DONE], while `GET /api/v1/services` keeps answering
    200 within BURST_PROBE_BOUND. Run after the scenarios that compare the reply-latency
    histogram with what clients measured: the burst's replies are slow on purpose."""
    results: list[Response | None] = [None] * streams
    clients = chat_clients(stack)

    def stream(index: int) -> None:
        results[index] = clients[index % len(clients)].stream_chat(
            f"Burst {index}: what do you offer?"
        )

    threads = [threading.Thread(target=stream, args=(i,)) for i in range(streams)]
    for thread in threads:
        thread.start()
    probes: list[Response] = []
    while any(thread.is_alive() for thread in threads):
        probes.append(clients[len(probes) % len(clients)].services())
        time.sleep(0.1)
    for thread in threads:
        thread.join()
    for index, response in enumerate(results):
        assert response is not None, index
        assert response.status == 200, (index, response.status, response.body[:300])
        frames = [f for f in response.body.decode().split("\n\n") if f.startswith("data: ")]
        assert frames[-1] == "data: [DONE]", (index, frames[-3:])
    assert probes, "the burst ended before a probe"
    assert all(p.status == 200 for p in probes), [p.status for p in probes]
    slowest = max(p.seconds for p in probes)
    assert slowest <= BURST_PROBE_BOUND, f"services took {slowest:.2f} s during the burst"
    log(f"{stack.name}: {streams} streams at once; services probe max {slowest * 1000:.0f} ms")


def wait_for_every_target_up(stack: Stack, timeout: float) -> None:
    """Prometheus scrapes every pod behind the Service and port the ServiceMonitor selects."""
    endpoint = stack.chart.app_metrics_endpoint()
    pods = set(stack.pods())
    stack.prometheus.wait_for(
        f'up{{job="{endpoint.job}", namespace="{endpoint.namespace}"}} == 1',
        lambda v: len(v) == len(pods),
        timeout=timeout,
        what="every pod's target up",
    )


def check_metrics_grow(stack: Stack, chats: int = 20) -> None:
    """The metrics port exposes the assistant's metrics and the counters grow with traffic."""
    drive_chats(stack, 2)
    before = scrape_all(stack)
    names = {name for name, _ in before}
    missing = [m for m in CONTRACT_METRICS if m not in names]
    assert not missing, f"metrics endpoint lacks {missing}"
    drive_chats(stack, chats)
    after = scrape_all(stack)
    grown = {
        "cache requests": (total(before, HIT), total(after, HIT)),
        "replies": (
            total(before, "wazen_reply_duration_seconds_count"),
            total(after, "wazen_reply_duration_seconds_count"),
        ),
        "http requests": (
            total(before, "django_http_requests_total_by_method_total"),
            total(after, "django_http_requests_total_by_method_total"),
        ),
    }
    for what, (old, new) in grown.items():
        assert new >= old + chats, f"{what} counter went {old} -> {new} over {chats} chats"
    log(f"{stack.name}: counters grew {grown}")


@dataclass
class TrafficResult:
    """Traffic driven for the Prometheus checks, with every pod's raw counters after it.

    The expectations use the counters over the pods' whole life, which the queries' 5-minute
    windows cover as long as the pods are younger than that (the suites check it)."""

    after: dict[Sample, float]
    client_seconds: list[float]

    def count(self, name: str, **labels: str) -> float:
        return total(self.after, name, **labels)

    @property
    def hit_ratio(self) -> float:
        hits = self.count(HIT, result="hit")
        return hits / (hits + self.count(HIT, result="miss"))

    def buckets(self, name: str) -> list[tuple[float, float]]:
        """[(le, cumulative count)] of a histogram, every other label summed."""
        by_le: dict[float, float] = {}
        for (n, labels), value in self.after.items():
            if n == name:
                le = float(dict(labels)["le"])
                by_le[le] = by_le.get(le, 0.0) + value
        return sorted(by_le.items())


def drive_measured_traffic(stack: Stack, chats: int, scrape_interval: float) -> TrafficResult:
    """Warm up (so every series exists before Prometheus measures increases), then `chats`
    chats spread over six scrape intervals (rate() sees increases only between samples), with
    two catalog invalidations among them, then wait until the last has been scraped."""
    drive_chats(stack, 4)
    time.sleep(2 * scrape_interval)
    pause = 6 * scrape_interval / chats
    responses = []
    for i in range(chats):
        if i in (chats // 3, 2 * chats // 3):
            stack.invalidate_catalog()  # the next lookups miss: a ratio below 1 to check
        responses += drive_chats(stack, 1, start=i)
        time.sleep(pause)
    after = scrape_all(stack)
    time.sleep(2 * scrape_interval)
    return TrafficResult(after, [r.seconds for r in responses])


def _grafana_escape(value: str) -> str:
    """A value inside a PromQL regex string, escaped as Grafana does for multi-value variables
    (regex metacharacters get a backslash, itself escaped for the PromQL string)."""
    return re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\\\1", value)


def dashboard_variable_values(stack: Stack, variables: list[dict]) -> dict[str, str]:
    """Resolve a dashboard's template variables as Grafana would on this stack: query variables
    from the Prometheus label API (all values, as a regex, for multi/includeAll), custom and
    constant ones from their current value; datasource variables become the data source name."""
    from testsupport.k8s.clients import label_values

    values: dict[str, str] = {}
    for var in variables:
        name, kind = var["name"], var.get("type")
        if kind == "datasource":
            values[name] = "prometheus"
        elif kind == "query":
            definition = var.get("query")
            if isinstance(definition, dict):
                definition = definition.get("query", "")
            match = re.fullmatch(r"\s*label_values\((?:(.*),\s*)?(\w+)\)\s*", definition or "")
            assert match, f"dashboard variable {name}: unsupported query {definition!r}"
            selector = match.group(1)
            if selector:
                from testsupport.k8s.chartinfo import substitute

                selector = substitute(selector, values)
            found = label_values(stack.prometheus, match.group(2), selector)
            assert found, f"dashboard variable ${name}: no values for {definition}"
            multi = var.get("multi") or var.get("includeAll")
            values[name] = "(" + "|".join(map(_grafana_escape, found)) + ")" if multi else found[0]
        else:
            current = var.get("current", {}).get("value", var.get("query", ""))
            values[name] = current[0] if isinstance(current, list) else str(current)
    return values


def check_every_panel_has_data(
    stack: Stack, queries: list[PanelQuery], values: dict[str, str], unavailable: dict[str, str]
) -> dict[str, int]:
    """Every dashboard panel expression returns data, except those whose series cannot exist on
    this stack (`unavailable`: a metric name -> why), which are reported, not faked."""
    from testsupport.k8s.chartinfo import substitute

    checked, skipped, empty = 0, [], []
    for query in queries:
        reason = next((why for metric, why in unavailable.items() if metric in query.expr), None)
        if reason:
            skipped.append(f"{query.panel}/{query.ref}: {reason}")
            continue
        expr = substitute(query.expr, values)
        if not stack.prometheus.query(expr):
            empty.append(f"{query.dashboard} '{query.panel}' {query.ref}: {expr}")
        checked += 1
    assert not empty, "panels without data:\n" + "\n".join(empty)
    log(f"{stack.name}: {checked} panel queries returned data; {len(skipped)} not applicable")
    for line in skipped:
        log(f"  not applicable here: {line}")
    return {"checked": checked, "skipped": len(skipped)}


def check_hit_ratio(stack: Stack, expr: str, traffic: TrafficResult | None = None) -> float:
    """The hit-ratio expression returns a value in [0, 1]; with the traffic's raw counters at
    hand, it is the ratio those counters give (rate() over the window ~ the increase)."""
    try:
        values = stack.prometheus.wait_for(
            expr, lambda v: len(v) == 1 and not math.isnan(v[0]), timeout=60, what="hit ratio"
        )
    except AssertionError as error:
        raw = stack.prometheus.query(f"{HIT}[1m]")
        raise AssertionError(f"{error}\nraw series over the last minute: {raw}") from None
    ratio = values[0]
    assert 0.0 <= ratio <= 1.0, ratio
    window = window_increases(stack, HIT, "result")
    from_samples = window.get("hit", 0.0) / sum(window.values())
    assert abs(ratio - from_samples) <= 0.02, (
        f"hit ratio {ratio:.3f}, the window's raw samples give {from_samples:.3f}"
    )
    if traffic is not None:
        expected = traffic.hit_ratio
        assert abs(ratio - expected) <= 0.05, f"hit ratio {ratio:.3f}, counters say {expected:.3f}"
    log(f"{stack.name}: hit ratio {ratio:.3f} (raw samples {from_samples:.3f})")
    return ratio


def quantile_bucket(buckets: list[tuple[float, float]], q: float) -> tuple[float, float]:
    """The (lower, upper) bounds of the bucket holding quantile q, as histogram_quantile picks."""
    count = buckets[-1][1]
    rank = q * count
    lower = 0.0
    for le, cumulative in buckets:
        if cumulative >= rank:
            return lower, le
        lower = le
    return lower, math.inf


def window_increases(stack: Stack, name: str, by: str, window: str = "5m") -> dict[str, float]:
    """Per value of label `by`, the increase of counter `name` over the window computed here
    from the raw samples Prometheus stored (counter resets honoured, no extrapolation)."""
    result: dict[str, float] = {}
    for series in stack.prometheus.query(f"{name}[{window}]"):
        values = [float(v) for _, v in series["values"]]
        increase = sum(b - a if b >= a else b for a, b in itertools.pairwise(values))
        key = series["metric"].get(by, "")
        result[key] = result.get(key, 0.0) + increase
    return result


def check_latency_quantile(stack: Stack, expr: str, q: float, traffic: TrafficResult) -> float:
    """A reply-latency quantile expression: its value lies in the bucket (one bucket of slack
    for rate()'s extrapolation) where the raw bucket samples of the same window put quantile q,
    and that bucket starts below the q-quantile of the latencies the clients measured (a reply
    takes less time inside the pod than the round trip)."""
    values = stack.prometheus.wait_for(
        expr, lambda v: len(v) >= 1 and not math.isnan(v[0]), timeout=60, what=expr
    )
    value = max(values)
    increases = window_increases(stack, REPLY_BUCKET, "le")
    buckets = sorted((float(le), count) for le, count in increases.items())
    bounds = [0.0] + [le for le, _ in buckets]
    lower, upper = quantile_bucket(buckets, q)
    i = bounds.index(lower)
    low_ok, high_ok = bounds[max(0, i - 1)], bounds[min(len(bounds) - 1, i + 2)]
    assert low_ok <= value <= high_ok, (
        f"{expr} = {value:.4f}s; the window's raw buckets put q{q} in ({lower}, {upper}]: {buckets}"
    )
    client = sorted(traffic.client_seconds)
    client_q = client[min(len(client) - 1, int(q * len(client)))]
    assert lower <= client_q, f"q{q} bucket ({lower}, {upper}] above the clients' {client_q:.4f}s"
    log(
        f"{stack.name}: q{q} reply latency {value * 1000:.1f} ms, raw bucket ({lower}, {upper}], "
        f"clients' q{q} {client_q * 1000:.1f} ms"
    )
    return value


@dataclass
class BackgroundClient:
    """Chats through the Service in a thread until stopped; counts every failure."""

    clients: list[ChatClient]
    seconds: float
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> BackgroundClient:
        self._thread = threading.Thread(target=self._run, name="background-client", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        deadline = time.monotonic() + self.seconds
        i = 0
        while time.monotonic() < deadline and not self._stop.is_set():
            client = self.clients[i % len(self.clients)]
            try:
                response = client.chat(QUESTIONS[i % len(QUESTIONS)])
            except OSError as exc:
                self.failures.append(f"#{i}: {type(exc).__name__}: {exc}")
            else:
                if response.status == 200:
                    self.ok += 1
                    self.latencies.append(response.seconds)
                else:
                    self.failures.append(f"#{i}: HTTP {response.status} {response.body[:200]!r}")
            i += 1
            time.sleep(0.05)

    def result(self) -> tuple[int, list[str]]:
        """Stop and return (successful requests, failures)."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=self.seconds + 60)
        return self.ok, self.failures


def check_no_failed_requests_during(
    stack: Stack, action: Callable[[], None], what: str, seconds: float = 600
) -> int:
    """A background client sees no failed request while `action` (a rollout) runs."""
    client = stack.background_client(seconds)
    time.sleep(2)
    action()
    time.sleep(2)
    ok, failures = client.result()
    assert not failures, f"{len(failures)} failed requests during {what}: {failures[:5]}"
    assert ok > 0, f"the background client made no request during {what}"
    log(f"{stack.name}: {ok} requests, none failed, during {what}")
    return ok


def cache_alerts(chart: Chart) -> list[dict]:
    """The alerts about the catalog cache being unavailable, the one reading the availability
    gauge first (it turns within a scrape; the error/fallback rates need traffic)."""
    signals = ("wazen_cache_available", "wazen_cache_fallbacks", "cache_errors")
    found = [a for a in chart.alerts() if any(s in a["expr"] for s in signals)]
    return sorted(found, key=lambda a: "wazen_cache_available" not in a["expr"])


def strip_threshold(expr: str) -> str:
    """An alert's measured quantity without its comparison (`(ratio) < 0.9` -> `(ratio)`)."""
    match = re.fullmatch(r"(?s)(.*?)\s*(<|>|<=|>=|==|!=)\s*[0-9.e+-]+\s*", expr)
    return match.group(1) if match else expr


def check_cache_outage_soft(stack: Stack, alert: dict | None) -> None:
    """Default (soft) readiness: with Redis gone replies keep coming, the readiness body reports
    the cache down, pods stay Ready for the whole probe window, the cache alert's expression
    turns true (and Prometheus has the alert pending or firing); with Redis back the body
    reports it up again and the expression clears."""
    check_pods_ready(stack)
    for pod in stack.pods():
        body = stack.readiness(pod).json()
        assert cache_reported_up(body), f"{pod}: cache not reported up before the outage: {body}"
    expr = alert["expr"] if alert else None
    if expr:
        stack.prometheus.wait_for(expr, lambda v: not v, 120, "cache alert false before outage")
    log(f"{stack.name}: stopping Redis (soft readiness)")
    stack.stop_redis()
    stopped = time.monotonic()
    try:
        deadline = stopped + probe_budget(stack, to=False)
        alert_seen = expr is None
        down_seen: set[str] = set()
        replies = 0
        while time.monotonic() < deadline or not alert_seen or down_seen != set(stack.pods()):
            assert time.monotonic() < deadline + 120, (
                f"after {time.monotonic() - stopped:.0f}s: alert expression true={alert_seen}, "
                f"cache reported down on {sorted(down_seen)} of {stack.pods()}"
            )
            replies += len(drive_chats(stack, 2))
            for pod in stack.pods():
                response = stack.readiness(pod)
                assert response.status == 200, (
                    f"{pod}: soft readiness answered {response.status}: {response.body[:300]!r}"
                )
                if not cache_reported_up(response.json()):
                    down_seen.add(pod)
            not_ready = [p for p, ready in stack.ready().items() if not ready]
            assert not not_ready, f"soft readiness: {not_ready} went NotReady with Redis down"
            if not alert_seen and stack.prometheus.query(expr):
                alert_seen = True
                states = {
                    a["state"]
                    for a in stack.prometheus.alerts()
                    if a["labels"].get("alertname") == alert["alert"]
                }
                log(f"{stack.name}: {alert['alert']} expression true, alert {states or 'not yet'}")
            time.sleep(1)
        if alert:
            stack.prometheus.wait_for(
                f'ALERTS{{alertname="{alert["alert"]}"}}',
                lambda v: bool(v),
                timeout=60,
                what=f"{alert['alert']} pending or firing",
            )
        log(
            f"{stack.name}: Redis down {time.monotonic() - stopped:.0f}s: {replies} replies, "
            "pods stayed Ready, readiness body says cache down"
        )
    finally:
        stack.start_redis()
    log(f"{stack.name}: Redis started again")
    restarted = time.monotonic()
    while True:
        drive_chats(stack, 1)
        if all(cache_reported_up(stack.readiness(pod).json()) for pod in stack.pods()):
            break
        assert time.monotonic() < restarted + 60, "the readiness body still says cache down"
        time.sleep(1)
    log(f"{stack.name}: readiness body says cache up {time.monotonic() - restarted:.1f}s later")
    stack.prometheus.wait_for(
        "min(wazen_cache_available)", lambda v: v == [1.0], 120, "availability back to 1"
    )
    if expr and "[" not in expr:
        # An expression over a rate window stays true for that window; an instant one clears.
        stack.prometheus.wait_for(expr, lambda v: not v, 120, "cache alert expression clears")
    log(f"{stack.name}: cache recovered (availability gauge 1 in Prometheus)")


def check_cache_outage_hard(stack: Stack) -> None:
    """health.cacheCriticalForReadiness=true: Redis gone -> every pod NotReady within the probe
    budget; Redis back -> Ready again."""
    check_pods_ready(stack)
    log(f"{stack.name}: stopping Redis (hard readiness)")
    stack.stop_redis()
    started = time.monotonic()
    try:
        stack.wait_ready(False, timeout=probe_budget(stack, to=False))
        log(f"{stack.name}: pods NotReady {time.monotonic() - started:.1f}s after Redis stopped")
        body = stack.readiness(stack.pods()[0])
        assert body.status == 503, f"readiness {body.status} with Redis down (hard mode)"
        assert not cache_reported_up(body.json())
    finally:
        stack.start_redis()
    started = time.monotonic()
    stack.wait_ready(True, timeout=probe_budget(stack, to=True))
    log(f"{stack.name}: pods Ready {time.monotonic() - started:.1f}s after Redis came back")


def readiness_json(base_url: str, path: str, host: str | None = None) -> Response:
    headers = {"Host": host} if host else None
    return request(f"{base_url}{path}?format=json", headers=headers, timeout=10)
