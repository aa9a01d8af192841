"""Fixtures of the Kubernetes suite (`make k8s-test`): one cluster for the session.

K8S_CLUSTER=kind (default): a kind cluster, always deleted at the end, also on failure
(KEEP_CLUSTER=1 keeps it for debugging). K8S_CLUSTER=existing: the cluster of KUBECONFIG; the
suite creates its own namespaces there and deletes them (and the monitoring CRDs, if it created
them) at the end (KEEP_CLUSTER=1 keeps them).

Skips every test with one line naming what is missing: kind, helm, kubectl, a container engine
(a Docker daemon, or podman via KIND_EXPERIMENTAL_PROVIDER=podman) where one is needed, or a
kubeconfig whose cluster answers.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from testsupport.k8s.chartinfo import ROOT
from testsupport.k8s.clients import log
from testsupport.k8s.cluster import (
    DELIVERED,
    IMAGE,
    K8S_CLUSTER,
    NAMESPACE,
    NAMESPACE_BASELINE,
    Cluster,
    KindStack,
    deliver_image,
    image_load_mode,
    install_operator_crds,
    make_cluster,
    missing_tool,
    namespace_objects,
    render_for,
)
from testsupport.k8s.suite import SOFT

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mine = [item for item in items if HERE in Path(item.fspath).parents]
    for item in mine:
        item.add_marker(pytest.mark.k8s)
    missing = missing_tool() if mine else None
    if missing:
        log(f"k8s suite ({K8S_CLUSTER}) skipped: {missing}")
        skip = pytest.mark.skip(reason=f"k8s suite ({K8S_CLUSTER}) skipped: {missing}")
        for item in mine:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The session's cluster: a new kind cluster, or the existing one with the suite's own
    namespaces. Whatever happened, the kind cluster or the namespaces are deleted at the end
    (KEEP_CLUSTER=1 keeps them). With KIND_LOGS_DIR set, a failed kind run exports the node
    and pod logs there first."""
    cluster = make_cluster(tmp_path_factory.mktemp("k8s"))
    log(f"{cluster.name}: setting up ({K8S_CLUSTER}, {cluster.provider or 'no container engine'}, "
        f"namespace {NAMESPACE})")  # fmt: skip
    try:
        cluster.create()
        yield cluster
    finally:
        logs_dir = os.environ.get("KIND_LOGS_DIR")
        if logs_dir and request.session.testsfailed and K8S_CLUSTER == "kind":
            subprocess.run(
                ["kind", "export", "logs", logs_dir, "--name", cluster.name],
                env=cluster.env,
                check=False,
            )
            log(f"kind: logs exported to {logs_dir}")
        if os.environ.get("KEEP_CLUSTER") == "1":
            kubeconfig = cluster.env.get("KUBECONFIG", "")
            log(f"{cluster.name}: KEEP_CLUSTER=1, kept (KUBECONFIG={kubeconfig}, {NAMESPACE})")
        else:
            cluster.delete()


@pytest.fixture(scope="session")
def image(cluster: Cluster) -> str:
    """Build the app image with the Makefile's recipe (SKIP_IMAGE_BUILD=1: use IMAGE as it is)
    and deliver it to the cluster the K8S_IMAGE_LOAD way."""
    needs_build = image_load_mode() != "none" and cluster.provider is not None
    if os.environ.get("SKIP_IMAGE_BUILD") != "1" and needs_build:
        started = time.monotonic()
        subprocess.run(
            [
                "make",
                "-C",
                str(ROOT),
                "image",
                f"CONTAINER_ENGINE={cluster.provider}",
                f"IMAGE={IMAGE}",
            ],
            check=True,
        )
        log(f"{cluster.name}: image {IMAGE} built in {time.monotonic() - started:.0f}s")
    delivered = deliver_image(cluster, IMAGE)
    DELIVERED.app, DELIVERED.pull_policy = delivered.app, delivered.pull_policy
    return delivered.app


@pytest.fixture(scope="session")
def kind_stack(cluster: Cluster, image: str):
    """The release installed with the suite's ci/ values (soft readiness), seeded, with the
    suite's Prometheus scraping it."""
    install_operator_crds(cluster)
    stack = KindStack(cluster, render_for(*SOFT), name=K8S_CLUSTER)
    try:
        # What the distribution put in the namespace, for the uninstall check.
        NAMESPACE_BASELINE.update(namespace_objects(cluster))
        stack.install(*SOFT)
        stack.seed_api_key()
        stack.deploy_prometheus()
        yield stack
    except Exception:
        log(cluster.kubectl("get", "all,events", "-n", NAMESPACE, "-o", "wide", check=False))
        raise
    finally:
        stack.close()
