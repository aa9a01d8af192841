"""The Kubernetes suite (`make k8s-test`, on kind or with K8S_CLUSTER=existing on the cluster of
KUBECONFIG; see k8s-tests/README.md for where it has run).

Tests run in file order on one release; each leaves Redis up and every pod Ready, and the last
one uninstalls the release.
"""

from __future__ import annotations

import json
import time

import pytest
import yaml

from testsupport.k8s import scenarios
from testsupport.k8s.chartinfo import dashboard_files, dashboard_queries, dashboard_variables
from testsupport.k8s.clients import log
from testsupport.k8s.cluster import (
    CHART_DIR,
    DISTRIBUTION_DEFAULTS,
    K8S_CLUSTER,
    MONITORING_CRDS,
    MONITORING_NAMESPACE,
    NAMESPACE,
    NAMESPACE_BASELINE,
    RELEASE,
    helm_values_args,
    namespace_objects,
)
from testsupport.k8s.suite import HARD, SOFT, UPGRADE


def app_pods(stack) -> dict[str, tuple[str, int]]:
    """{pod name: (uid, restarts of its containers)} of the app's pods."""
    selector = stack.chart.app_deployment()["spec"]["selector"]["matchLabels"]
    labels = ",".join(f"{k}={v}" for k, v in selector.items())
    out = stack.cluster.kubectl("get", "pods", "-n", NAMESPACE, "-l", labels, "-o", "json")
    return {
        p["metadata"]["name"]: (
            p["metadata"]["uid"],
            sum(c.get("restartCount", 0) for c in p["status"].get("containerStatuses", [])),
        )
        for p in json.loads(out)["items"]
    }


def jobs(stack) -> list[str]:
    out = stack.cluster.kubectl("get", "jobs", "-n", NAMESPACE, "-o", "name")
    return sorted(out.split())


def test_pods_become_ready_through_their_probes(kind_stack):
    scenarios.check_pods_ready(kind_stack)
    assert len(kind_stack.pods()) == kind_stack.chart.app_replicas()


def test_chat_through_the_service(kind_stack):
    scenarios.check_chat(kind_stack)


def test_metrics_port_exposes_metrics_and_counters_grow(kind_stack):
    scenarios.check_metrics_grow(kind_stack)


def test_first_upgrade_without_changes_restarts_no_pod_and_keeps_the_jobs(kind_stack):
    """Issue 11, defects 1 and 3: revision 2 with the same values must not roll the pods (the
    secret checksum is that of the stored Secret) nor re-create the migration Job."""
    pods, before_jobs = app_pods(kind_stack), jobs(kind_stack)
    deployment = kind_stack.chart.app_deployment()["metadata"]["name"]
    template = lambda: json.loads(  # noqa: E731
        kind_stack.cluster.kubectl("get", "deployment", "-n", NAMESPACE, deployment, "-o", "json")
    )["spec"]["template"]
    before = template()
    kind_stack.upgrade(*SOFT)
    assert template() == before
    assert app_pods(kind_stack) == pods
    assert jobs(kind_stack) == before_jobs
    log(f"{kind_stack.name}: no-op upgrade kept pods {sorted(pods)} and jobs {before_jobs}")


def test_servicemonitor_and_prometheusrule_stored_by_the_api_server(kind_stack):
    if not MONITORING_CRDS["available"]:
        pytest.skip(
            "the cluster has no monitoring.coreos.com CRDs and the suite may not create them"
        )
    for monitor in kind_stack.chart.of_kind("ServiceMonitor"):
        out = kind_stack.cluster.kubectl(
            "get", "servicemonitor", "-n", NAMESPACE, monitor["metadata"]["name"], "-o", "json"
        )
        assert json.loads(out)["spec"]["endpoints"] == monitor["spec"]["endpoints"]
    for rule in kind_stack.chart.of_kind("PrometheusRule"):
        kind_stack.cluster.kubectl(
            "get", "prometheusrule", "-n", NAMESPACE, rule["metadata"]["name"]
        )


def test_prometheus_scrapes_the_servicemonitor_target_and_hit_ratio_has_a_value(kind_stack):
    scenarios.wait_for_every_target_up(kind_stack, timeout=120)
    scenarios.drive_chats(kind_stack, 30)
    expr = next(
        r["expr"]
        for g in kind_stack.chart.rule_groups()
        for r in g["rules"]
        if "wazen_cache_requests_total" in r["expr"] and 'result="hit"' in r["expr"]
    )
    scenarios.check_hit_ratio(kind_stack, scenarios.strip_threshold(expr))


def test_redis_down_soft_readiness(kind_stack):
    alerts = scenarios.cache_alerts(kind_stack.chart)
    scenarios.check_cache_outage_soft(kind_stack, alerts[0] if alerts else None)


def test_helm_upgrade_rolls_out_without_failed_requests(kind_stack):
    before = set(kind_stack.pods())
    scenarios.check_no_failed_requests_during(
        kind_stack, lambda: kind_stack.upgrade(*UPGRADE), "helm upgrade", seconds=900
    )
    after = set(kind_stack.pods())
    assert not before & after, f"pods not replaced by the rollout: {before & after}"
    scenarios.check_pods_ready(kind_stack)


def test_redis_down_hard_readiness(kind_stack):
    kind_stack.upgrade(*HARD)
    try:
        scenarios.check_cache_outage_hard(kind_stack)
    finally:
        kind_stack.upgrade(*SOFT)


def test_dashboard_panels_have_data(kind_stack):
    """After the outages (cache errors, fallbacks, readiness 5xx in hard mode) and orders, every
    panel has data except the ones on series nothing in the suite produces. A key of its own
    goes over the per-key minute limit first: real 429s for "Throttled requests by company"."""
    scenarios.drive_throttled_requests(kind_stack, kind_stack.issue_api_key("throttled"))
    traffic = scenarios.drive_measured_traffic(kind_stack, chats=40, scrape_interval=3)
    assert traffic.hit_ratio > 0.5
    unavailable = {
        "kube_": "kube-state-metrics is not installed by the suite",
        "container_": "the suite's Prometheus does not scrape cAdvisor",
        "wazen_llm_errors_total": "the kind suite does not break the LLM provider (the twin does)",
    }
    for path in dashboard_files():
        values = scenarios.dashboard_variable_values(kind_stack, dashboard_variables(path))
        scenarios.check_every_panel_has_data(
            kind_stack, dashboard_queries(path), values, unavailable
        )


def test_a_burst_of_streamed_replies_while_the_catalog_stays_fast(kind_stack):
    scenarios.check_streamed_burst(kind_stack)


def test_helm_test_passes(kind_stack):
    out = kind_stack.cluster.helm("test", RELEASE, "-n", NAMESPACE, "--logs", "--timeout", "5m")
    log(f"kind: helm test\n{out}")


def manifest_jobs(stack) -> list[str]:
    """The Jobs the release's current manifest names (what `helm uninstall` will delete)."""
    manifest = stack.cluster.helm("get", "manifest", RELEASE, "-n", NAMESPACE)
    docs = [d for d in yaml.safe_load_all(manifest) if d]
    return sorted(f"job.batch/{d['metadata']['name']}" for d in docs if d["kind"] == "Job")


def test_failed_upgrade_then_rollback_leaves_only_the_manifests_jobs(kind_stack):
    """Issue 11, defect 3: an upgrade that fails (its pods cannot start) and the rollback after
    it must leave exactly the Jobs of the current manifest, none that uninstall would miss."""
    values_files, set_values = SOFT
    broken = {**set_values, "image.tag": "does-not-exist"}
    try:
        kind_stack.cluster.helm(
            "upgrade", RELEASE, str(CHART_DIR), "-n", NAMESPACE,
            *helm_values_args(values_files, broken), "--wait", "--timeout", "90s",
        )  # fmt: skip
    except RuntimeError as failed:
        log(f"{kind_stack.name}: the broken upgrade failed as intended: {str(failed)[-200:]}")
    else:
        pytest.fail("an upgrade to an image that does not exist succeeded")
    kind_stack.cluster.helm("rollback", RELEASE, "-n", NAMESPACE, "--wait", "--timeout", "10m")
    scenarios.check_pods_ready(kind_stack)
    deadline = time.monotonic() + 120  # the failed upgrade's Job is deleted in the background
    while jobs(kind_stack) != manifest_jobs(kind_stack) and time.monotonic() < deadline:
        time.sleep(3)
    assert jobs(kind_stack) == manifest_jobs(kind_stack)
    log(f"{kind_stack.name}: after a failed upgrade and a rollback, jobs {jobs(kind_stack)}")


def test_helm_uninstall_leaves_only_documented_pvcs(kind_stack):
    kind_stack.close()
    # PVCs the chart documents as kept after uninstall: its StatefulSets' volumeClaimTemplates.
    documented = {
        f"persistentvolumeclaim/{claim['metadata']['name']}-{sts['metadata']['name']}-{i}"
        for sts in kind_stack.chart.of_kind("StatefulSet")
        for claim in sts["spec"].get("volumeClaimTemplates", [])
        for i in range(sts["spec"].get("replicas", 1))
    }
    kind_stack.cluster.helm("uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout", "5m")
    # Whatever the namespace held before the install (a distribution's own objects, e.g.
    # OpenShift's service CA bundle and builder/deployer accounts) and the known per-namespace
    # defaults of distributions are not the chart's.
    defaults = DISTRIBUTION_DEFAULTS | NAMESPACE_BASELINE
    deadline = time.monotonic() + 120  # dependents (Job pods, endpoints) go by garbage collection
    while True:
        leftovers = sorted(namespace_objects(kind_stack.cluster))
        unexpected = [name for name in leftovers if name not in defaults | documented]
        if not unexpected or time.monotonic() > deadline:
            break
        time.sleep(5)
    assert not unexpected, f"left behind after helm uninstall: {unexpected}"
    cluster_scoped = kind_stack.cluster.kubectl(
        "get", "clusterroles,clusterrolebindings", "-l", f"app.kubernetes.io/instance={RELEASE}",
        "-o", "name",
    )  # fmt: skip
    assert not cluster_scoped.strip(), cluster_scoped
    kept = [n for n in leftovers if n not in defaults]
    log(f"{kind_stack.name}: uninstall left {kept} (documented PVCs)")
    if K8S_CLUSTER == "kind":  # on an existing cluster the session deletes both namespaces
        kind_stack.cluster.kubectl("delete", "namespace", MONITORING_NAMESPACE, "--wait=false")
