"""Alert rules (promtool check + unit tests), runbook links, the Grafana dashboard."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from testsupport.chart.render import (
    DASHBOARDS_DIR,
    REPO_ROOT,
    dashboards,
    find_all,
    find_one,
    panel_expressions,
    prometheus_rule_groups,
    render,
    tool,
)

pytestmark = pytest.mark.chart

HERE = Path(__file__).resolve().parent
RUNBOOKS = REPO_ROOT / "docs" / "runbooks.md"
CONTRACT = (REPO_ROOT / "docs" / "runtime-contract.md").read_text()
REQUIRED_ALERTS = {
    "WazenCatalogCacheHitRatioLow",
    "WazenReplyLatencyHigh",
    "WazenHttp5xxRatioHigh",
    "WazenCatalogCacheErrorsRising",
    "WazenCatalogCacheFallbacksRising",
    "WazenRedisDown",
    "WazenCompanyThrottled",
    "WazenRepliesRefused",
    "WazenMigrationsPending",
    "WazenMigrationJobFailed",
    "WazenPodsNotReady",
}
# Renders that carry a PrometheusRule, and the promtool unit-test file for each.
RULE_RENDERS = {
    "app-only": ([], {"monitoring.prometheusRule.enabled": True}, "app-alerts-test.yaml"),
    "exporter": (["ci/monitoring-values.yaml"], {}, "exporter-alerts-test.yaml"),
}
# Metric names that are not the app's own (contract) metrics, by source.
FOREIGN_METRICS = {
    "django_http_requests_total_by_method_total",  # django-prometheus
    "django_http_responses_total_by_status_total",
    "django_http_requests_latency_seconds_by_view_method_bucket",
    "redis_up",  # redis_exporter
    "kube_pod_status_ready",  # kube-state-metrics
    "kube_job_failed",
    "kube_pod_init_container_status_running",
    "up",  # Prometheus itself
}


def rules_of(name: str) -> dict[str, Any]:
    values, set_values, _ = RULE_RENDERS[name]
    return prometheus_rule_groups(render(values, set_values))


def alerts_of(groups: dict[str, Any]) -> list[dict[str, Any]]:
    return [rule for group in groups["groups"] for rule in group["rules"] if "alert" in rule]


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (identifiers followed by a selector or range)."""
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    names = set(re.findall(r"\b([a-z_:][a-z0-9_:]*)\s*[{\[]", without_strings))
    keywords = {"by", "without", "on", "ignoring", "group_left", "group_right"}
    return names - keywords


def base_metric(name: str) -> str:
    """A histogram's series name without its _bucket/_sum/_count suffix."""
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and not name.endswith("_total"):
            return name.removesuffix(suffix)
    return name


def known_metric(name: str) -> bool:
    known = contract_metrics() | FOREIGN_METRICS
    return name in known or base_metric(name) in known


def contract_metrics() -> set[str]:
    return set(re.findall(r"^\| `(wazen_[a-z_]+)`", CONTRACT, flags=re.MULTILINE))


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("promtool"), *args], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("name", list(RULE_RENDERS))
def test_promtool_check_rules(name: str, tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules_of(name), sort_keys=False))
    proc = promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(REQUIRED_ALERTS)} rules found" in proc.stdout


@pytest.mark.parametrize("name", list(RULE_RENDERS))
def test_promtool_unit_tests(name: str, tmp_path: Path) -> None:
    """Series that make each alert fire, and series that must not (tests/promtool/*.yaml)."""
    groups = rules_of(name)
    # promtool compares every annotation; summary/description are templated with $value and
    # already parsed by `check rules`, so only the runbook link is compared.
    for rule in alerts_of(groups):
        rule["annotations"] = {"runbook_url": rule["annotations"]["runbook_url"]}
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(groups, sort_keys=False))
    test_file = RULE_RENDERS[name][2]
    shutil.copy(HERE / "promtool" / test_file, tmp_path / test_file)
    proc = promtool("test", "rules", test_file, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tested = set(re.findall(r"alertname: (\w+)", (HERE / "promtool" / test_file).read_text()))
    if name == "app-only":
        assert tested == REQUIRED_ALERTS


def test_promtool_unit_tests_catch_a_wrong_expectation(tmp_path: Path) -> None:
    """The harness is not vacuous: a wrong expectation fails."""
    groups = rules_of("app-only")
    for rule in alerts_of(groups):
        rule["annotations"] = {"runbook_url": rule["annotations"]["runbook_url"]}
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(groups, sort_keys=False))
    wrong = {
        "rule_files": ["rules.yaml"],
        "tests": [
            {
                "interval": "1m",
                "input_series": [],
                "alert_rule_test": [
                    {
                        "eval_time": "10m",
                        "alertname": "WazenMigrationJobFailed",
                        "exp_alerts": [{"exp_labels": {"severity": "critical"}}],
                    }
                ],
            }
        ],
    }
    (tmp_path / "wrong.yaml").write_text(yaml.safe_dump(wrong))
    assert promtool("test", "rules", "wrong.yaml", cwd=tmp_path).returncode == 1


def test_every_alert_is_documented_and_linked() -> None:
    runbooks = RUNBOOKS.read_text()
    headings = re.findall(r"^## (.+)$", runbooks, flags=re.MULTILINE)
    anchors = {github_anchor(h) for h in headings}
    alerts = alerts_of(rules_of("exporter"))
    assert {a["alert"] for a in alerts} == REQUIRED_ALERTS
    # One section per alert, named after it.
    assert set(headings) == REQUIRED_ALERTS
    base = "https://github.com/wazen-ai/wazen-ai/blob/main/docs/runbooks.md#"
    for alert in alerts:
        annotations = alert["annotations"]
        assert annotations["summary"], alert["alert"]
        assert len(annotations["description"]) > 40, alert["alert"]
        url = annotations["runbook_url"]
        assert url.startswith(base)
        assert url.removeprefix(base) in anchors
        assert alert["labels"]["severity"] in {"warning", "critical"}
        assert alert["labels"]["team"] == "wazen"


# Documents that state how many alerts the chart has, and the chart README, which names each one.
ALERT_COUNT_DOCS = [
    REPO_ROOT / "README.md",
    REPO_ROOT / "charts" / "wazen-ai" / "README.md",
    REPO_ROOT / "docker" / "README.md",
    *sorted((REPO_ROOT / "docs").glob("**/*.md")),
]
NUMBER_WORDS = {"eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13}


def test_docs_count_and_name_every_alert() -> None:
    """A count of alerts in the docs ("9 alerts") is the chart's count, and the chart README's
    monitoring section names every alert (a count went stale when alerts were added)."""
    alerts = {a["alert"] for a in alerts_of(rules_of("exporter"))}
    stale = []
    for doc in ALERT_COUNT_DOCS:
        text = doc.read_text()
        pattern = r"\b(\d+|" + "|".join(NUMBER_WORDS) + r")\s+(?:\w+\s+)?alerts\b"
        for match in re.finditer(pattern, text, flags=re.IGNORECASE):
            word = match.group(1).lower()
            count = int(word) if word.isdigit() else NUMBER_WORDS[word]
            if count != len(alerts):
                stale.append(f"{doc.relative_to(REPO_ROOT)}: {match.group(0)!r}")
    assert not stale, f"the chart has {len(alerts)} alerts; stale counts: {stale}"
    chart_readme = (REPO_ROOT / "charts" / "wazen-ai" / "README.md").read_text()
    unnamed = sorted(alert for alert in alerts if f"`{alert}`" not in chart_readme)
    assert not unnamed, f"charts/wazen-ai/README.md does not name {unnamed}"


def test_alerts_use_known_metrics_scoped_to_the_release() -> None:
    for alert in alerts_of(rules_of("exporter")):
        expr = alert["expr"]
        unknown = {name for name in metric_names(expr) if not known_metric(name)}
        assert not unknown, f"{alert['alert']}: {unknown}"
        # Every selector is scoped to the release's namespace.
        for selector in re.findall(r"\{([^}]*)\}", expr):
            assert 'namespace="wazen"' in selector, f"{alert['alert']}: {selector}"


def test_kube_state_metrics_alerts_can_be_turned_off() -> None:
    groups = prometheus_rule_groups(
        render(
            set_values={
                "monitoring.prometheusRule.enabled": True,
                "monitoring.prometheusRule.kubeStateMetrics": False,
            }
        )
    )
    alerts = alerts_of(groups)
    assert {a["alert"] for a in alerts} == REQUIRED_ALERTS - {
        "WazenMigrationJobFailed",
        "WazenPodsNotReady",
    }
    assert not [a for a in alerts if "kube_" in a["expr"]]


def test_thresholds_are_values() -> None:
    groups = prometheus_rule_groups(
        render(
            set_values={
                "monitoring.prometheusRule.enabled": True,
                "monitoring.prometheusRule.thresholds.cacheHitRatio": 0.8,
                "monitoring.prometheusRule.thresholds.cacheHitRatioFor": "30m",
            }
        )
    )
    (alert,) = [a for a in alerts_of(groups) if a["alert"] == "WazenCatalogCacheHitRatioLow"]
    assert alert["expr"].rstrip().endswith("< 0.8")
    assert alert["for"] == "30m"


# --- dashboard -------------------------------------------------------------------------------


def dashboard_files() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in DASHBOARDS_DIR.glob("*.json")}


def substitute_variables(expr: str) -> str:
    """Grafana's template variables as a Prometheus query would see them (all values)."""
    return re.sub(r"\$\{?(namespace|job)\}?", ".+", expr)


def test_dashboard_config_map_carries_the_files_and_sidecar_label(
    ci_renders: dict[str, list[dict[str, Any]]],
) -> None:
    docs = ci_renders["monitoring-values.yaml"]
    config_map = find_one(docs, "ConfigMap", "dashboards")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["annotations"] == {"grafana_folder": "Wazen AI"}
    assert dashboards(docs) == dashboard_files()
    assert not [
        d
        for d in find_all(ci_renders["default-values.yaml"], "ConfigMap")
        if "dash" in d["metadata"]["name"]
    ]


def test_dashboard_label_value_folder_and_namespace_are_values() -> None:
    docs = render(
        set_values={
            "monitoring.dashboards.enabled": True,
            "monitoring.dashboards.label": "wazen/dashboard",
            "monitoring.dashboards.labelValue": "yes",
            "monitoring.dashboards.folderAnnotation": "k8s-sidecar-target-directory",
            "monitoring.dashboards.folder": "/tmp/dashboards/Wazen",
            "monitoring.dashboards.namespace": "grafana",
        }
    )
    config_map = find_one(docs, "ConfigMap", "dashboards")
    assert config_map["metadata"]["labels"]["wazen/dashboard"] == "yes"
    assert "grafana_dashboard" not in config_map["metadata"]["labels"]
    assert config_map["metadata"]["annotations"] == {
        "k8s-sidecar-target-directory": "/tmp/dashboards/Wazen"
    }
    assert config_map["metadata"]["namespace"] == "grafana"


def test_dashboard_panels_cover_the_sre_questions() -> None:
    (dashboard,) = dashboard_files().values()
    exprs = "\n".join(panel_expressions(dashboard))
    for needle in (
        "django_http_requests_total_by_method_total",  # request rate
        "histogram_quantile(0.5, sum by (le) (rate(django_http_requests_latency_seconds_by_view",
        "histogram_quantile(0.95, sum by (le) (rate(django_http_requests_latency_seconds_by_view",
        "histogram_quantile(0.99, sum by (le) (rate(django_http_requests_latency_seconds_by_view",
        'status=~"5.."',  # errors
        'wazen_cache_requests_total{cache="catalog", result="hit"',  # hit ratio
        "wazen_reply_db_queries_sum",  # DB queries per reply
        "wazen_llm_request_duration_seconds_bucket",  # LLM latency
        "redis_up",
        "wazen_cache_available",
        "kube_pod_status_ready",  # readiness
        "wazen_rate_limited_requests_total",  # throttled companies
        "wazen_rate_limit_fail_open_total",
    ):
        assert needle in exprs, needle


def test_dashboard_json_is_clean() -> None:
    for name, dashboard in dashboard_files().items():
        assert dashboard["uid"]
        assert dashboard["title"]
        variables = {v["name"] for v in dashboard["templating"]["list"]}
        assert variables == {"datasource", "namespace", "job"}
        ids = []
        stack = list(dashboard["panels"])
        while stack:
            panel = stack.pop()
            stack.extend(panel.get("panels", []))
            ids.append(panel["id"])
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, name
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                assert set(target) == {"datasource", "expr", "legendFormat", "refId"}
        assert len(ids) == len(set(ids))


def test_dashboard_expressions_parse_and_use_known_metrics(tmp_path: Path) -> None:
    """promtool parses every panel expression (as a recording rule), variables substituted."""
    rules = []
    for dashboard in dashboard_files().values():
        for index, expr in enumerate(panel_expressions(dashboard)):
            rules.append({"record": f"dashboard:expr_{index}", "expr": substitute_variables(expr)})
            unknown = {name for name in metric_names(expr) if not known_metric(name)}
            assert not unknown, f"{expr}: {unknown}"
    assert len(rules) >= 20
    (tmp_path / "dashboard.yaml").write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]})
    )
    proc = promtool("check", "rules", "dashboard.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
