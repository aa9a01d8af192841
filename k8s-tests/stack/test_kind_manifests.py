"""What the kind suite generates, checked here without a cluster: the Prometheus it deploys
(manifests valid against the Kubernetes schemas, its configuration accepted by promtool) and the
in-cluster client pod. These are the kind-only parts the twin cannot run.
"""

from __future__ import annotations

import subprocess

import kubernetes_validate
import pytest
import yaml

from testsupport.k8s.chartinfo import render
from testsupport.k8s.cluster import (
    CLIENT_SCRIPT,
    MONITORING_NAMESPACE,
    NAMESPACE,
    RELEASE,
    prometheus_manifests,
)
from testsupport.k8s.suite import SOFT
from testsupport.servers import find_binary

KUBE_VERSION = "1.30.0"  # the oldest minor the chart supports (testsupport/chart/render.py)


@pytest.fixture(scope="module")
def kind_chart():
    return render(*SOFT, release=RELEASE, namespace=NAMESPACE)


def test_prometheus_manifests_are_valid_kubernetes_objects(kind_chart):
    docs = prometheus_manifests(kind_chart)
    kinds = sorted(d["kind"] for d in docs)
    expected = ["Namespace", "ServiceAccount", "Role", "RoleBinding", "ConfigMap"]
    assert kinds == sorted([*expected, "Deployment", "Service"])
    for doc in docs:
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        # Nothing cluster-scoped but the namespace: the suite needs no cluster-admin. The Role
        # and its binding live in the release's namespace (the only one Prometheus discovers).
        if doc["kind"] in ("Role", "RoleBinding"):
            assert doc["metadata"]["namespace"] == NAMESPACE
            assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "wazen-tests"
        elif doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == MONITORING_NAMESPACE


def test_prometheus_config_scrapes_each_servicemonitor_endpoint(kind_chart, tmp_path):
    config_map = next(d for d in prometheus_manifests(kind_chart) if d["kind"] == "ConfigMap")
    config = yaml.safe_load(config_map["data"]["prometheus.yml"])
    endpoints = kind_chart.metrics_endpoints()
    assert [c["job_name"] for c in config["scrape_configs"]] == [e.job_name for e in endpoints]
    for scrape, endpoint in zip(config["scrape_configs"], endpoints, strict=True):
        assert scrape["metrics_path"] == endpoint.path
        assert scrape["scrape_interval"] == endpoint.interval
        keep = [r for r in scrape["relabel_configs"] if r.get("action") == "keep"]
        port = "__meta_kubernetes_endpoint_port_name"
        assert [r["regex"] for r in keep if r["source_labels"] == [port]] == [endpoint.port_name]
        assert len(keep) == len(endpoint.service_selector["matchLabels"]) + 1
        sd = scrape["kubernetes_sd_configs"]
        assert sd == [{"role": "endpoints", "namespaces": {"names": [endpoint.namespace]}}]
        # Debian's Prometheus is built without Kubernetes discovery: promtool checks the rest
        # of the job (relabelings, paths, intervals) with the discovery swapped for a target.
        del scrape["kubernetes_sd_configs"]
        scrape["static_configs"] = [{"targets": ["127.0.0.1:9"]}]
    (tmp_path / "rules.yml").write_text(config_map["data"]["rules.yml"])
    config["rule_files"] = [str(tmp_path / "rules.yml")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    check = subprocess.run(
        [find_binary("promtool"), "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_in_cluster_client_script_compiles():
    compile(CLIENT_SCRIPT, "in-cluster-client", "exec")
