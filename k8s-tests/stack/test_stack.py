"""The kind suite's scenarios on this machine (see k8s-tests/README.md): the rendered chart's app
container with real Redis, PostgreSQL and Prometheus, probed like the kubelet probes it.

Tests run in file order on one session stack; each leaves Redis up and every pod Ready.
"""

from __future__ import annotations

import re
import time

import pytest

from testsupport.k8s import scenarios
from testsupport.k8s.chartinfo import (
    dashboard_files,
    dashboard_queries,
    dashboard_variables,
    render,
    substitute,
)
from testsupport.k8s.clients import log
from testsupport.k8s.suite import HARD, LLM_DOWN, NOT_ON_TWIN
from testsupport.k8s.twin import container_env

HIT_RATIO = re.compile(r'wazen_cache_requests_total\{[^}]*result="hit"')
QUANTILE = re.compile(
    r"histogram_quantile\(\s*([0-9.]+)\s*,.*wazen_reply_duration_seconds_bucket", re.S
)


def test_pods_become_ready_through_their_probes(stack):
    probes = {p.kind: p for p in stack.chart.probes()}
    assert {"readiness", "liveness"} <= set(probes), f"the Deployment probes {sorted(probes)}"
    for spec in probes.values():
        log(
            f"prober: {spec.kind} GET :{spec.port}{spec.path} every {spec.period}s "
            f"timeout {spec.timeout}s thresholds {spec.success_threshold}/{spec.failure_threshold}"
        )
    scenarios.check_pods_ready(stack)
    assert not stack.restarts(), stack.restarts()


def test_chat_through_the_service(stack):
    scenarios.check_chat(stack)


def test_metrics_port_exposes_metrics_and_counters_grow(stack):
    scenarios.check_metrics_grow(stack)


def test_prometheus_scrapes_what_the_servicemonitor_selects(stack):
    scenarios.wait_for_every_target_up(stack, timeout=60)
    endpoint = stack.chart.app_metrics_endpoint()
    pods = set(stack.pods())
    targets = [t for t in stack.prometheus.targets() if t["scrapePool"] == endpoint.job_name]
    assert {t["labels"]["pod"] for t in targets} == pods
    for target in targets:
        assert target["scrapeUrl"].endswith(endpoint.path), target["scrapeUrl"]
        assert target["labels"]["endpoint"] == endpoint.port_name
        assert target["labels"]["service"] == endpoint.service
        assert target["health"] == "up", target
    log(f"prometheus: {len(targets)} targets of {endpoint.job_name} every {endpoint.interval}")


def test_rendered_rule_groups_are_loaded_and_evaluate(stack):
    wanted = {g["name"] for g in stack.chart.rule_groups()}
    groups = {g["name"]: g for g in stack.prometheus.rule_groups()}
    assert wanted <= set(groups), f"loaded {sorted(groups)}, rendered {sorted(wanted)}"
    broken = [
        f"{g}/{r.get('name')}: {r.get('lastError')}"
        for g in wanted
        for r in groups[g]["rules"]
        if r.get("health") == "err"
    ]
    assert not broken, broken
    assert scenarios.cache_alerts(stack.chart), "no alert watches the catalog cache"


def test_hit_ratio_and_latency_expressions_have_the_expected_values(stack):
    """The dashboard's and the alerts' hit-ratio and reply-latency expressions agree with the
    pods' own counters and histogram buckets."""
    interval = _seconds(stack.chart.app_metrics_endpoint().interval)
    traffic = scenarios.drive_measured_traffic(stack, chats=60, scrape_interval=interval)
    log(f"traffic: counters give hit ratio {traffic.hit_ratio:.3f}")
    assert traffic.hit_ratio > 0.5, "a warm catalog cache should mostly hit"
    candidates = [
        substitute(q.expr, scenarios.dashboard_variable_values(stack, dashboard_variables(path)))
        for path in dashboard_files()
        for q in dashboard_queries(path)
    ]
    candidates += [scenarios.strip_threshold(a["expr"]) for a in stack.chart.alerts()]
    rules = [r for g in stack.chart.rule_groups() for r in g["rules"]]
    records = [r["record"] for r in rules if "record" in r and HIT_RATIO.search(r["expr"])]
    candidates += records
    ratio_exprs, quantile_exprs = [], []
    for expr in candidates:
        if (HIT_RATIO.search(expr) and "/" in expr) or expr in records:
            ratio_exprs.append(expr)
        if match := QUANTILE.search(expr):
            quantile_exprs.append((expr, float(match.group(1))))
    assert ratio_exprs, "no dashboard panel or alert computes the hit ratio"
    assert quantile_exprs, "no dashboard panel or alert shows a reply latency quantile"
    for expr in ratio_exprs:
        scenarios.check_hit_ratio(stack, expr, traffic)
    for expr, q in quantile_exprs:
        scenarios.check_latency_quantile(stack, expr, q, traffic)


def test_redis_down_soft_readiness_replies_continue_and_alert_fires(stack):
    alerts = scenarios.cache_alerts(stack.chart)
    assert alerts, "no alert watches the catalog cache"
    began = time.monotonic()
    scenarios.check_cache_outage_soft(stack, alerts[0])
    for pod in stack.app_pods:  # the prober's record: not one readiness flip
        assert pod.prober.ready_changes_since(began) == [], pod.prober.ready_changes_since(began)
    assert not stack.restarts(), stack.restarts()


def test_graceful_worker_reload_loses_no_request(stack):
    """The twin's rollout: gunicorn's graceful reload (SIGHUP) of every pod replaces all workers
    while a background client chats; the kind suite does the real `helm upgrade`."""
    scenarios.check_no_failed_requests_during(
        stack, stack.reload_pods, "a graceful reload of every pod", seconds=120
    )
    scenarios.check_pods_ready(stack)


def test_redis_down_hard_readiness_goes_not_ready_then_ready(stack, reroll):
    hard = render(*HARD).keep_secrets_of(stack.chart)
    for chart, expected in ((hard, "true"), (stack.chart, "false")):
        env = container_env(chart, "pod", "10.0.0.1", chart.namespace)
        assert env["WAZEN_HEALTH_CACHE_CRITICAL"] == expected, env
    reroll(hard)
    scenarios.check_pods_ready(stack)
    began = time.monotonic()
    scenarios.check_cache_outage_hard(stack)
    for pod in stack.app_pods:  # the prober's record: exactly NotReady, then Ready
        changes = pod.prober.ready_changes_since(began)
        assert [c.value for c in changes] == [False, True], changes
    assert not stack.restarts(), f"liveness must not fail because Redis is down: {stack.restarts()}"


def test_per_key_minute_limit_throttles_through_the_service(stack):
    """The kind suite's source of 429s for "Throttled requests by company", run here too: a key
    of its own over rateLimits.perKeyPerMinute."""
    refused = scenarios.drive_throttled_requests(stack, stack.issue_api_key("throttled"))
    assert refused >= 2


def test_a_burst_of_streamed_replies_while_the_catalog_stays_fast(stack):
    scenarios.check_streamed_burst(stack)


def test_every_dashboard_panel_returns_data(stack):
    """Last, when the window holds it all: cache errors and fallbacks (Redis outages), 5xx
    (readiness failing in hard mode), orders, and real provider errors from a pod whose LLM
    endpoint is unreachable: every panel expression has data, except those on series that
    cannot exist without a Kubernetes API (listed with the reason)."""
    interval = _seconds(stack.chart.app_metrics_endpoint().interval)
    with stack.extra_pod(render(*LLM_DOWN).keep_secrets_of(stack.chart), "llm-down") as pod:
        stack.wait_pod(pod, True, timeout=120)
        client = stack.chat_client(stack.url(pod))
        for n in range(5):  # one error per scrape interval: rate() sees them grow
            response = client.chat("What services do you offer?")
            expected = 200 if n < 4 else 429  # the fifth is over rateLimits.repliesPerKeyPerDay
            assert response.status == expected, response.body[:300]
            time.sleep(interval)
        stack.prometheus.wait_for(
            "count_over_time(wazen_llm_errors_total[1m])",
            lambda v: bool(v) and max(v) >= 3,
            60,
            "LLM error samples",
        )
        stack.prometheus.wait_for(
            "count_over_time(wazen_rate_limited_requests_total[1m])",
            lambda v: bool(v) and max(v) >= 2,
            60,
            "throttled-request samples",
        )
    unavailable = dict(NOT_ON_TWIN)
    if not stack.redis_exporter:
        unavailable["redis_up"] = "redis_exporter is not installed (prometheus-redis-exporter)"
    checked = 0
    for path in dashboard_files():
        values = scenarios.dashboard_variable_values(stack, dashboard_variables(path))
        found = scenarios.check_every_panel_has_data(
            stack, dashboard_queries(path), values, unavailable
        )
        checked += found["checked"]
    assert checked > 0, "the chart ships no dashboard panel"


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration):
        total += float(number) * units[unit]
    if not total:
        pytest.fail(f"cannot read the duration {duration!r}")
    return total
