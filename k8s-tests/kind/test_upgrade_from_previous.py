"""Upgrade from the previous release (issues 11, 20): the previous release's chart, pulled from
the OCI registry when one is configured (K8S_UPGRADE_FROM_REGISTRY, K8S_UPGRADE_FROM_VERSION:
the chart with its own image pinned by digest, as a platform team has it installed), else the
chart as it was at a git ref (K8S_UPGRADE_FROM_REF, default: the newest commit whose chart
renders differently; the image under test), is installed as a second release, then upgraded to
the working tree's chart under a background client in the cluster: no failed request, and the
upgrade must change what is deployed (an upgrade that changes nothing proves nothing). A second
upgrade that changes nothing must not touch the pods. Runs after test_kind.py (file order), in
the suite's namespace, and uninstalls its release.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from testsupport.k8s.chartinfo import render
from testsupport.k8s.clients import log
from testsupport.k8s.cluster import (
    CHART_DIR,
    NAMESPACE,
    Cluster,
    KindStack,
    chart_at,
    helm_values_args,
    previous_chart_ref,
    previous_release,
    pull_release_chart,
)
from testsupport.k8s.suite import PREVIOUS_RELEASE as RELEASE
from testsupport.k8s.suite import PREVIOUS_VALUES as VALUES


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


def helm_release(cluster: Cluster, verb: str, chart: Path, app_image: bool = True) -> None:
    cluster.helm(
        verb, RELEASE, str(chart), "-n", NAMESPACE,
        *helm_values_args([], VALUES, chart, app_image=app_image), "--wait", "--timeout", "10m",
    )  # fmt: skip


# Labels every chart version changes by itself: not "something the upgrade changed".
VERSION_LABELS = ("helm.sh/chart", "app.kubernetes.io/version")


def deployed(cluster: Cluster) -> dict[str, dict]:
    """The release's manifest by kind/name, without the labels that name the chart version."""

    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in VERSION_LABELS}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    manifest = cluster.helm("get", "manifest", RELEASE, "-n", NAMESPACE)
    docs = [d for d in yaml.safe_load_all(manifest) if d]
    return {f"{d['kind']}/{d['metadata']['name']}": strip(d) for d in docs}


@pytest.fixture(scope="module")
def previous(cluster: Cluster, image: str, tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp("previous-chart")
    release = previous_release()
    if release is not None:
        reference, version = release
        old_chart = pull_release_chart(reference, version, workdir, cluster.env)
        label, app_image = f"{reference}:{version}", False
    else:
        ref = previous_chart_ref()
        if ref is None:
            pytest.skip(
                "no previous release (K8S_UPGRADE_FROM_REGISTRY) and no earlier commit whose "
                "chart renders differently (K8S_UPGRADE_FROM_REF)"
            )
        old_chart, label, app_image = chart_at(ref, workdir), ref[:12], True
    log(f"{cluster.name}: installing {label} as release {RELEASE}")
    stack = KindStack(
        cluster, render([], VALUES, release=RELEASE, namespace=NAMESPACE), name=RELEASE
    )
    try:
        helm_release(cluster, "install", old_chart, app_image=app_image)
        stack.seed_api_key()
        yield stack, label
    finally:
        stack.close()
        cluster.helm("uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout", "5m")


def test_upgrade_from_the_previous_chart_loses_no_request(previous) -> None:
    stack, ref = previous
    template, pods = live(stack)
    before = deployed(stack.cluster)
    client = stack.background_client(seconds=900)
    helm_release(stack.cluster, "upgrade", CHART_DIR)
    deployment = stack.chart.app_deployment()["metadata"]["name"]
    stack.cluster.kubectl(
        "rollout", "status", "-n", NAMESPACE, f"deployment/{deployment}", "--timeout=5m"
    )
    ok, failures = client.result()
    after_template, after_pods = live(stack)
    after = deployed(stack.cluster)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    rolled = after_template != template
    log(f"{stack.name}: {ref} -> working tree: {ok} replies, {len(failures)} failed, "
        f"pod template {'changed (pods rolled)' if rolled else 'unchanged'}, "
        f"objects changed: {changed}")  # fmt: skip
    assert changed, f"upgrading from {ref} changed no deployed object: it tested nothing"
    assert ok > 0
    assert not failures, failures[:10]
    if not rolled:
        assert after_pods == pods, "pods restarted although their template did not change"


def test_upgrade_that_changes_nothing_restarts_no_pod(previous) -> None:
    stack, _ = previous
    template, pods = live(stack)
    helm_release(stack.cluster, "upgrade", CHART_DIR)
    assert live(stack) == (template, pods)
