"""Fixtures of the kind suite (`make k8s-test`): one cluster for the session, always deleted at
the end, also on failure (KEEP_CLUSTER=1 keeps it for debugging).

Skips every test with one line naming the missing tool when kind, helm, kubectl or a container
engine (a Docker daemon, or podman via KIND_EXPERIMENTAL_PROVIDER=podman) is absent.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from chartinfo import ROOT
from clients import log
from cluster import (
    IMAGE,
    NAMESPACE,
    KindCluster,
    KindStack,
    container_provider,
    install_operator_crds,
    missing_tool,
    render_for,
)
from suite import SOFT

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mine = [item for item in items if HERE in Path(item.fspath).parents]
    for item in mine:
        item.add_marker(pytest.mark.k8s)
    missing = missing_tool() if mine else None
    if missing:
        log(f"kind suite skipped: {missing}")
        skip = pytest.mark.skip(reason=f"kind suite skipped: {missing}")
        for item in mine:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The session's kind cluster; deleted at the end whatever happened (KEEP_CLUSTER=1 keeps
    it). With KIND_LOGS_DIR set, a failed run exports the node and pod logs there first."""
    provider, _ = container_provider()
    name = os.environ.get("KIND_CLUSTER_NAME", "wazen-k8s-test")
    cluster = KindCluster(name, tmp_path_factory.mktemp("kind"), provider)
    log(f"kind: creating cluster {name} with {provider}")
    try:
        cluster.create()
        yield cluster
    finally:
        logs_dir = os.environ.get("KIND_LOGS_DIR")
        if logs_dir and request.session.testsfailed:
            subprocess.run(
                ["kind", "export", "logs", logs_dir, "--name", name], env=cluster.env, check=False
            )
            log(f"kind: logs exported to {logs_dir}")
        if os.environ.get("KEEP_CLUSTER") == "1":
            log(f"kind: KEEP_CLUSTER=1, cluster {name} kept (KUBECONFIG={cluster.kubeconfig})")
        else:
            cluster.delete()


@pytest.fixture(scope="session")
def image(cluster: KindCluster) -> str:
    """Build the app image with the Makefile's recipe and load it into the node."""
    if os.environ.get("SKIP_IMAGE_BUILD") != "1":
        started = time.monotonic()
        engine = "docker" if cluster.provider == "docker" else "podman"
        subprocess.run(
            ["make", "-C", str(ROOT), "image", f"CONTAINER_ENGINE={engine}", f"IMAGE={IMAGE}"],
            check=True,
        )
        log(f"kind: image {IMAGE} built in {time.monotonic() - started:.0f}s")
    cluster.load_image(IMAGE)
    return IMAGE


@pytest.fixture(scope="session")
def kind_stack(cluster: KindCluster, image: str):
    """The release installed with the suite's ci/ values (soft readiness), seeded, with the
    suite's Prometheus scraping it."""
    install_operator_crds(cluster)
    stack = KindStack(cluster, render_for(*SOFT))
    try:
        stack.install(*SOFT)
        stack.seed_api_key()
        stack.deploy_prometheus()
        yield stack
    except Exception:
        log(cluster.kubectl("get", "all,events", "-n", NAMESPACE, "-o", "wide", check=False))
        raise
    finally:
        stack.close()
