"""The kind suite's scenarios on this machine (see k8s-tests/README.md): the rendered chart's app
container with real Redis, PostgreSQL and Prometheus, probed like the kubelet probes it.

Tests run in file order on one session stack; each leaves Redis up and every pod Ready.
"""

from __future__ import annotations

import re

import pytest
import scenarios
from chartinfo import dashboard_files, dashboard_queries, dashboard_variables, render
from clients import log
from suite import HARD, NOT_ON_TWIN, SOFT, VALUES_FILES

HIT_RATIO = re.compile(r'wazen_catalog_cache_requests_total\{[^}]*result="hit"')
QUANTILE = re.compile(r"histogram_quantile\(\s*([0-9.]+)\s*,.*wazen_reply_duration_seconds_bucket")


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
    endpoint = stack.chart.metrics_endpoints()[0]
    pods = set(stack.pods())
    stack.prometheus.wait_for(
        f'up{{job="{endpoint.job}", namespace="{endpoint.namespace}"}} == 1',
        lambda v: len(v) == len(pods),
        timeout=60,
        what="every pod's target up",
    )
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


def test_dashboards_hit_ratio_and_latency(stack):
    files = dashboard_files()
    assert files, "the chart ships no Grafana dashboard"
    settle = 3 * _seconds(stack.chart.metrics_endpoints()[0].interval)
    traffic = scenarios.drive_measured_traffic(stack, chats=60, settle=settle)
    log(f"traffic: 60 chats, counters give hit ratio {traffic.hit_ratio:.3f}")
    assert traffic.hit_ratio > 0.5, "a warm catalog cache should mostly hit"
    unavailable = dict(NOT_ON_TWIN)
    if not stack.redis_exporter:
        unavailable["redis_"] = "redis_exporter is not installed (prometheus-redis-exporter)"
    ratio_exprs, quantile_exprs = [], []
    for path in files:
        values = scenarios.dashboard_variable_values(stack, dashboard_variables(path))
        queries = dashboard_queries(path)
        scenarios.check_every_panel_has_data(stack, queries, values, unavailable)
        from chartinfo import substitute

        for query in queries:
            expr = substitute(query.expr, values)
            if HIT_RATIO.search(expr) and "/" in expr:
                ratio_exprs.append(expr)
            if match := QUANTILE.search(expr):
                quantile_exprs.append((expr, float(match.group(1))))
    for rule in (r for g in stack.chart.rule_groups() for r in g["rules"] if "record" in r):
        if HIT_RATIO.search(rule["expr"]) and "/" in rule["expr"]:
            ratio_exprs.append(rule["record"])
    assert ratio_exprs, "no dashboard panel or recording rule computes the hit ratio"
    assert quantile_exprs, "no dashboard panel shows a reply latency quantile"
    for expr in ratio_exprs:
        scenarios.check_hit_ratio(stack, expr, traffic)
    for expr, q in quantile_exprs:
        scenarios.check_latency_quantile(stack, expr, q, traffic)


def test_redis_down_soft_readiness_replies_continue_and_alert_fires(stack):
    alerts = scenarios.cache_alerts(stack.chart)
    scenarios.check_cache_outage_soft(stack, alerts[0] if alerts else None)
    assert not stack.restarts(), stack.restarts()


def test_graceful_worker_reload_loses_no_request(stack):
    """The twin's rollout: gunicorn's graceful reload (SIGHUP) of every pod replaces all workers
    while a background client chats; the kind suite does the real `helm upgrade`."""
    scenarios.check_no_failed_requests_during(
        stack, stack.reload_pods, "a graceful reload of every pod", seconds=120
    )
    scenarios.check_pods_ready(stack)


def test_redis_down_hard_readiness_goes_not_ready_then_ready(stack, reroll):
    hard = render(VALUES_FILES, HARD)
    env = hard.app_env()
    assert env["WAZEN_HEALTH_CACHE_CRITICAL"]["value"] == "true", env.get(
        "WAZEN_HEALTH_CACHE_CRITICAL"
    )
    assert render(VALUES_FILES, SOFT).app_env()["WAZEN_HEALTH_CACHE_CRITICAL"]["value"] == "false"
    reroll(hard)
    scenarios.check_cache_outage_hard(stack)
    assert not stack.restarts(), f"liveness must not fail because Redis is down: {stack.restarts()}"


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration):
        total += float(number) * units[unit]
    if not total:
        pytest.fail(f"cannot read the duration {duration!r}")
    return total
