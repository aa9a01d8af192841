"""The Kubernetes suite's configuration, checked without a cluster: image references become chart
values, the image-delivery mode follows K8S_CLUSTER / IMAGE_REGISTRY / K8S_IMAGE_LOAD_COMMAND,
every configured image reaches the helm arguments, and the previous chart version (for the
upgrade scenario) is found in git and still renders with the scenario's values.
"""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from testsupport.chart import render as helm  # the chart suite's helm runner
from testsupport.k8s import cluster
from testsupport.k8s.suite import PREVIOUS_RELEASE as RELEASE
from testsupport.k8s.suite import PREVIOUS_VALUES as VALUES


@pytest.mark.parametrize(
    ("ref", "values"),
    [
        ("localhost/wazen-ai:dev", {"x.repository": "localhost/wazen-ai", "x.tag": "dev"}),
        ("registry:5000/team/app:1.2", {"x.repository": "registry:5000/team/app", "x.tag": "1.2"}),
        ("registry:5000/team/app", {"x.repository": "registry:5000/team/app", "x.tag": "latest"}),
        ("redis@sha256:abc", {"x.repository": "redis", "x.digest": "sha256:abc"}),
    ],
)
def test_image_references_become_chart_values(ref: str, values: dict[str, str]) -> None:
    assert cluster.image_values("x", ref) == values


@pytest.mark.parametrize(
    ("k8s_cluster", "env", "mode"),
    [
        ("kind", {}, "kind"),
        ("existing", {}, "none"),
        ("existing", {"IMAGE_REGISTRY": "registry.example.com/team"}, "registry"),
        ("existing", {"K8S_IMAGE_LOAD_COMMAND": "ctr -n k8s.io images import {tar}"}, "command"),
        ("existing", {"K8S_IMAGE_LOAD": "none", "IMAGE_REGISTRY": "r.example.com"}, "none"),
    ],
)
def test_image_load_mode_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, k8s_cluster: str, env: dict[str, str], mode: str
) -> None:
    for name in ("K8S_IMAGE_LOAD", "IMAGE_REGISTRY", "K8S_IMAGE_LOAD_COMMAND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cluster, "K8S_CLUSTER", k8s_cluster)
    assert cluster.image_load_mode() == mode


def test_unknown_image_load_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K8S_IMAGE_LOAD", "scp")
    with pytest.raises(ValueError, match="use kind, registry, command or none"):
        cluster.image_load_mode()


def test_every_configured_image_reaches_helm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        cluster, "DELIVERED", cluster.Delivered("reg.example.com/wazen-ai:t1", "Always")
    )
    monkeypatch.setenv("REDIS_IMAGE", "mirror.example.com/redis:7.4")
    monkeypatch.setenv("REDIS_EXPORTER_IMAGE", "mirror.example.com/redis_exporter:v1.62.0")
    monkeypatch.setenv("POSTGRES_IMAGE", "mirror.example.com/postgres:16")
    monkeypatch.setitem(cluster.MONITORING_CRDS, "available", False)
    args = cluster.helm_values_args([], {"replicaCount": 2})
    values = {
        args[i + 1].split("=", 1)[0]: json.loads(args[i + 1].split("=", 1)[1])
        for i in range(0, len(args), 2)
        if args[i] == "--set-json"
    }
    assert values == {
        "image.repository": "reg.example.com/wazen-ai",
        "image.tag": "t1",
        "image.pullPolicy": "Always",
        "redis.image.repository": "mirror.example.com/redis",
        "redis.image.tag": "7.4",
        "redis.metrics.image.repository": "mirror.example.com/redis_exporter",
        "redis.metrics.image.tag": "v1.62.0",
        "postgresql.image.repository": "mirror.example.com/postgres",
        "postgresql.image.tag": "16",
        "replicaCount": 2,
        "monitoring.serviceMonitor.enabled": False,
        "monitoring.prometheusRule.enabled": False,
    }


def test_previous_chart_version_renders_with_the_upgrade_values(tmp_path) -> None:
    ref = cluster.previous_chart_ref()
    if ref is None:
        pytest.skip("no earlier commit with a different charts/wazen-ai/ (shallow clone?)")
    differs = subprocess.run(
        ["git", "-C", str(cluster.ROOT), "diff", "--quiet", ref, "--",
         *cluster.CHART_RENDER_PATHSPEC],
        check=False,
    )  # fmt: skip
    assert differs.returncode == 1, f"{ref} renders like the working tree's chart"
    old_chart = cluster.chart_at(ref, tmp_path)
    assert (old_chart / "Chart.yaml").is_file()
    args = ["template", RELEASE, str(old_chart), "-n", cluster.NAMESPACE]
    out = helm.run_helm(*args, *cluster.helm_values_args([], VALUES, old_chart)).stdout
    kinds = {d["kind"] for d in yaml.safe_load_all(out) if d}
    assert {"Deployment", "Service", "Job"} <= kinds


def test_upgrade_from_the_previous_release_when_a_registry_is_configured(monkeypatch) -> None:
    """K8S_UPGRADE_FROM_REGISTRY switches the upgrade scenario to the previous release's OCI
    chart; its version defaults to the CHANGELOG's newest one below the working tree's."""
    monkeypatch.delenv("K8S_UPGRADE_FROM_REGISTRY", raising=False)
    assert cluster.previous_release() is None
    monkeypatch.setenv("K8S_UPGRADE_FROM_REGISTRY", "ghcr.io/wazen-ai/")
    monkeypatch.delenv("K8S_UPGRADE_FROM_VERSION", raising=False)
    reference, version = cluster.previous_release()
    assert reference == "oci://ghcr.io/wazen-ai/charts/wazen-ai"
    current = yaml.safe_load((cluster.CHART_DIR / "Chart.yaml").read_text())["version"]
    assert version == cluster.previous_changelog_version()
    assert cluster._semver(version) < cluster._semver(current)
    monkeypatch.setenv("K8S_UPGRADE_FROM_VERSION", "0.0.9")
    assert cluster.previous_release()[1] == "0.0.9"
