"""Lint, render every ci/ file, strict schema validation, packaging, values schema and `fail`."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from testsupport.chart.render import (
    CHART_DIR,
    HelmError,
    ci_values_files,
    helm_env,
    render,
    run_helm,
    tool,
)

pytestmark = pytest.mark.chart

CI_FILES = ci_values_files()
# The oldest supported Kubernetes and the newest schemas kubernetes-validate ships.
KUBE_VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}
REQUIRED_CI = {
    "default",
    "external-redis",
    "networkpolicy",
    "monitoring",
    "hpa",
    "hard-readiness",
}


def test_ci_files_cover_every_feature() -> None:
    names = {path.name.removesuffix("-values.yaml") for path in CI_FILES}
    assert names >= REQUIRED_CI


def test_helm_lint_strict_defaults() -> None:
    proc = run_helm("lint", "--strict", str(CHART_DIR), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("values_file", CI_FILES, ids=lambda p: p.name)
def test_helm_lint_strict(values_file: Path) -> None:
    proc = run_helm("lint", "--strict", str(CHART_DIR), "--values", str(values_file), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("values_file", CI_FILES, ids=lambda p: p.name)
def test_render_is_schema_valid(values_file: Path, kube_version: str) -> None:
    """Every rendered object is valid, strictly (no unknown field), for old and new Kubernetes."""
    docs = render([values_file], kube_version=kube_version)
    errors = []
    validated = 0
    for doc in docs:
        if doc["kind"] in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, kube_version, strict=True)
            validated += 1
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message} at {exc.path}")
    assert not errors, "\n".join(errors)
    assert validated >= 10


# The fields the Prometheus Operator's CRDs define at these levels (monitoring.coreos.com/v1);
# kubernetes-validate has no CRD schemas, so the chart's use of them is checked here.
SERVICE_MONITOR_SPEC = {
    "endpoints",
    "selector",
    "namespaceSelector",
    "jobLabel",
    "targetLabels",
    "podTargetLabels",
    "sampleLimit",
    "attachMetadata",
}
SERVICE_MONITOR_ENDPOINT = {
    "port",
    "targetPort",
    "path",
    "scheme",
    "interval",
    "scrapeTimeout",
    "relabelings",
    "metricRelabelings",
    "honorLabels",
    "honorTimestamps",
    "params",
    "tlsConfig",
    "basicAuth",
    "authorization",
    "bearerTokenSecret",
    "followRedirects",
    "enableHttp2",
}
RULE_KEYS = {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}


def test_monitoring_crds_use_known_fields(ci_renders: dict[str, list[dict[str, Any]]]) -> None:
    docs = ci_renders["monitoring-values.yaml"]
    monitors = [d for d in docs if d["kind"] == "ServiceMonitor"]
    rules = [d for d in docs if d["kind"] == "PrometheusRule"]
    assert len(monitors) == 2
    assert len(rules) == 1
    for doc in monitors + rules:
        assert doc["apiVersion"] == "monitoring.coreos.com/v1"
        assert doc["metadata"]["namespace"] == "wazen"
    for monitor in monitors:
        assert set(monitor["spec"]) <= SERVICE_MONITOR_SPEC
        for endpoint in monitor["spec"]["endpoints"]:
            assert set(endpoint) <= SERVICE_MONITOR_ENDPOINT
    assert set(rules[0]["spec"]) == {"groups"}
    for group in rules[0]["spec"]["groups"]:
        assert set(group) <= {"name", "interval", "rules", "limit"}
        for rule in group["rules"]:
            assert set(rule) <= RULE_KEYS


def test_package_holds_chart_files_only(tmp_path: Path) -> None:
    run_helm("package", str(CHART_DIR), "--destination", str(tmp_path))
    (archive,) = tmp_path.glob("wazen-ai-*.tgz")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert "wazen-ai/templates/tests/test-readiness-metrics.yaml" in names
    assert "wazen-ai/dashboards/wazen-ai.json" in names
    assert "wazen-ai/values.schema.json" in names
    assert not [n for n in names if n.endswith(".py") or ".checkov" in n or "promtool" in n]


@pytest.mark.parametrize(
    ("set_values", "message"),
    [
        ({"nonsense": 1}, "additional properties 'nonsense' not allowed"),
        ({"redis": {"maxmemorie": "1gb"}}, "maxmemorie"),
        ({"replicaCount": "two"}, "replicaCount"),
        ({"service.type": "ExternalName"}, "service/type"),
        ({"image.digest": "latest"}, "image/digest"),
        ({"monitoring.serviceMonitor.interval": "often"}, "interval"),
    ],
)
def test_schema_rejects_bad_values(set_values: dict[str, Any], message: str) -> None:
    with pytest.raises(HelmError, match=message):
        render(set_values=set_values)


@pytest.mark.parametrize(
    ("set_values", "message"),
    [
        ({"database.url": "postgres://u:p@db/x"}, "postgresql.enabled=true deploys a database"),
        ({"postgresql.enabled": False}, "no database"),
        (
            {
                "postgresql.enabled": False,
                "database.url": "postgres://u:p@db/x",
                "database.existingSecret": "db",
            },
            "not both",
        ),
        ({"externalRedis.url": "redis://r:6379/0"}, "redis.enabled=true deploys Redis"),
        ({"redis.enabled": False}, "needs externalRedis.url"),
        (
            {
                "redis.enabled": False,
                "redis.metrics.enabled": True,
                "externalRedis.url": "redis://r",
            },
            "exporter is a sidecar",
        ),
        (
            {"redis.auth.enabled": False, "redis.auth.existingSecret": "r"},
            "redis.auth.enabled=false",
        ),
        ({"llm.provider": "openai"}, "needs llm.openai.apiKey"),
        ({"terminationGracePeriodSeconds": 30}, "must exceed preStopSleepSeconds"),
        (
            {
                "autoscaling.enabled": True,
                "autoscaling.minReplicas": 5,
                "autoscaling.maxReplicas": 3,
            },
            "minReplicas",
        ),
        (
            {
                "autoscaling.enabled": True,
                "autoscaling.targetCPUUtilizationPercentage": None,
                "autoscaling.targetMemoryUtilizationPercentage": None,
            },
            "needs targetCPUUtilizationPercentage",
        ),
        ({"podDisruptionBudget.minAvailable": 1}, "not both"),
        (
            {"podDisruptionBudget.maxUnavailable": None, "podDisruptionBudget.minAvailable": 2},
            "must be below the minimum replica count",
        ),
        ({"ingress.enabled": True, "ingress.hosts": []}, "at least one entry"),
        (
            {
                "demo.seedJob.enabled": True,
                "migrations.enabled": False,
                "migrations.waitForMigrations.enabled": False,
            },
            "migrated schema",
        ),
    ],
)
def test_contradictory_values_fail(set_values: dict[str, Any], message: str) -> None:
    with pytest.raises(HelmError, match=message):
        render(set_values=set_values)


def test_long_release_name_keeps_names_within_63_characters() -> None:
    release = "a-very-long-release-name-for-the-wazen-assistant-stg"
    docs = render(["ci/monitoring-values.yaml"], release=release)
    for doc in docs:
        assert len(doc["metadata"]["name"]) <= 63, doc["metadata"]["name"]
    names = [(d["kind"], d["metadata"]["name"]) for d in docs]
    assert len(names) == len(set(names))


def test_helm_template_cli_matches_render() -> None:
    """render() is `helm template` (k8s-tests rely on it): the CLI gives the same kinds."""
    proc = subprocess.run(
        [tool("helm"), "template", "wazen-ai", str(CHART_DIR), "--namespace", "wazen"],
        capture_output=True,
        text=True,
        env=helm_env(),
        check=True,
    )
    kinds = sorted(line for line in proc.stdout.splitlines() if line.startswith("kind: "))
    assert kinds == sorted(f"kind: {d['kind']}" for d in render())
