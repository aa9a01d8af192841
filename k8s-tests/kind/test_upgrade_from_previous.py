"""Upgrade from the previous chart version (issue 11): the chart as it was at a git ref
(K8S_UPGRADE_FROM_REF, default: the newest commit whose charts/wazen-ai/ differs from the
working tree) is installed as a second release, then upgraded to the working tree's chart under
a background client in the cluster: no failed request. A second upgrade that changes nothing
must not touch the pods. Both releases use the image under test. Runs after test_kind.py (file
order), in the suite's namespace, and uninstalls its release.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chartinfo import render
from clients import log
from cluster import (
    CHART_DIR,
    NAMESPACE,
    Cluster,
    KindStack,
    chart_at,
    helm_values_args,
    previous_chart_ref,
)

RELEASE = "wazen-prev"
# Two replicas (a rollout can keep one serving), no volumes (nothing left after uninstall).
VALUES = {
    "replicaCount": 2,
    "postgresql.persistence.enabled": False,
    "redis.persistence.enabled": False,
}


def live(stack: KindStack) -> tuple[dict, dict[str, tuple[str, int]]]:
    """(the Deployment's pod template as stored, {pod: (uid, restarts)}) of the release."""
    name = stack.chart.app_deployment()["metadata"]["name"]
    deployment = json.loads(
        stack.cluster.kubectl("get", "deployment", "-n", NAMESPACE, name, "-o", "json")
    )
    selector = deployment["spec"]["selector"]["matchLabels"]
    labels = ",".join(f"{k}={v}" for k, v in selector.items())
    pods = json.loads(
        stack.cluster.kubectl("get", "pods", "-n", NAMESPACE, "-l", labels, "-o", "json")
    )["items"]
    return deployment["spec"]["template"], {
        p["metadata"]["name"]: (
            p["metadata"]["uid"],
            sum(c.get("restartCount", 0) for c in p["status"].get("containerStatuses", [])),
        )
        for p in pods
        if not p["metadata"].get("deletionTimestamp")
    }


def helm_release(cluster: Cluster, verb: str, chart: Path) -> None:
    cluster.helm(
        verb, RELEASE, str(chart), "-n", NAMESPACE, *helm_values_args([], VALUES, chart),
        "--wait", "--timeout", "10m",
    )  # fmt: skip


@pytest.fixture(scope="module")
def previous(cluster: Cluster, image: str, tmp_path_factory: pytest.TempPathFactory):
    ref = previous_chart_ref()
    if ref is None:
        pytest.skip("no earlier commit has a different charts/wazen-ai/ (K8S_UPGRADE_FROM_REF)")
    old_chart = chart_at(ref, tmp_path_factory.mktemp("previous-chart"))
    log(f"{cluster.name}: installing the chart of {ref[:12]} as release {RELEASE}")
    stack = KindStack(
        cluster, render([], VALUES, release=RELEASE, namespace=NAMESPACE), name=RELEASE
    )
    try:
        helm_release(cluster, "install", old_chart)
        stack.seed_api_key()
        yield stack, ref
    finally:
        stack.close()
        cluster.helm("uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout", "5m")


def test_upgrade_from_the_previous_chart_loses_no_request(previous) -> None:
    stack, ref = previous
    template, pods = live(stack)
    client = stack.background_client(seconds=900)
    helm_release(stack.cluster, "upgrade", CHART_DIR)
    deployment = stack.chart.app_deployment()["metadata"]["name"]
    stack.cluster.kubectl(
        "rollout", "status", "-n", NAMESPACE, f"deployment/{deployment}", "--timeout=5m"
    )
    ok, failures = client.result()
    after_template, after_pods = live(stack)
    rolled = after_template != template
    log(f"{stack.name}: {ref[:12]} -> working tree: {ok} replies, {len(failures)} failed, "
        f"pod template {'changed (pods rolled)' if rolled else 'unchanged'}")  # fmt: skip
    assert ok > 0
    assert not failures, failures[:10]
    if not rolled:
        assert after_pods == pods, "pods restarted although their template did not change"


def test_upgrade_that_changes_nothing_restarts_no_pod(previous) -> None:
    stack, _ = previous
    template, pods = live(stack)
    helm_release(stack.cluster, "upgrade", CHART_DIR)
    assert live(stack) == (template, pods)
