"""The Kubernetes stand-up of the stack: a kind cluster (K8S_CLUSTER=kind, the default) or the
cluster KUBECONFIG points at (K8S_CLUSTER=existing), the image delivered to it, the chart
installed with helm, a minimal Prometheus (official prom/prometheus image) scraping what the
ServiceMonitor selects, and a `scenarios.Stack` reaching it all through kubectl port-forward.

Everything the suite creates lives in two namespaces of its own (the release's and its
Prometheus'), plus the two monitoring CRDs when the cluster lacks them and the suite may create
them; all of it is deleted at the end. Configuration (environment, see k8s-tests/README.md):
K8S_CLUSTER, K8S_NAMESPACE, K8S_MONITORING_NAMESPACE, K8S_IMAGE_LOAD (kind | registry | command |
none), IMAGE_REGISTRY, K8S_IMAGE_LOAD_COMMAND, IMAGE, REDIS_IMAGE, REDIS_EXPORTER_IMAGE,
POSTGRES_IMAGE, PROMETHEUS_IMAGE.

Nothing here has been run on a cluster from this repository's development machine (no cluster
can run there); see k8s-tests/README.md.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from testsupport.k8s.chartinfo import CHART_DIR, ROOT, Chart, render
from testsupport.k8s.clients import ChatClient, PrometheusAPI, Response, log, request
from testsupport.servers import free_port, wait_for_port

KIND_CONFIG = ROOT / "k8s-tests" / "kind" / "kind-config.yaml"
# kind: a throw-away kind cluster; existing: the cluster of KUBECONFIG (staging, a dev cluster).
K8S_CLUSTER = os.environ.get("K8S_CLUSTER", "kind")
IMAGE = os.environ.get("IMAGE", "localhost/wazen-ai:dev")
PROMETHEUS_IMAGE = os.environ.get("PROMETHEUS_IMAGE", "docker.io/prom/prometheus:v2.55.1")
# Chart value prefix -> environment variable naming the image the suite installs there (unset:
# the chart's default, an official image the cluster pulls). `helm test` runs the app image.
SERVICE_IMAGES = {
    "redis.image": "REDIS_IMAGE",
    "redis.metrics.image": "REDIS_EXPORTER_IMAGE",
    "postgresql.image": "POSTGRES_IMAGE",
}
OPERATOR_VERSION = os.environ.get("PROMETHEUS_OPERATOR_VERSION", "v0.77.1")
OPERATOR_CRD_BASE = (
    "https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/"
    f"{OPERATOR_VERSION}/example/prometheus-operator-crd"
)
OPERATOR_CRDS = (
    "monitoring.coreos.com_servicemonitors.yaml",
    "monitoring.coreos.com_prometheusrules.yaml",
)
# Offline path for the CRDs: a directory holding the two files above (e.g. copied from the
# prometheus-operator release, or from a cluster: `kubectl get crd NAME -o yaml`). Without it the
# suite reads them from GitHub at OPERATOR_VERSION.
OPERATOR_CRD_DIR = os.environ.get("K8S_OPERATOR_CRD_DIR", "")


def operator_crd_source(crd: str) -> str:
    """Where `kubectl apply -f` reads one CRD: K8S_OPERATOR_CRD_DIR when set (it must hold the
    file), else the prometheus-operator repository at OPERATOR_VERSION."""
    if OPERATOR_CRD_DIR:
        path = Path(OPERATOR_CRD_DIR) / crd
        if not path.is_file():
            raise AssertionError(f"K8S_OPERATOR_CRD_DIR={OPERATOR_CRD_DIR} has no {crd}")
        return str(path)
    return f"{OPERATOR_CRD_BASE}/{crd}"


RELEASE = os.environ.get("K8S_RELEASE", "wazen")
# On a shared cluster the namespace is new for every run, so runs never meet.
NAMESPACE = os.environ.get("K8S_NAMESPACE") or (
    "wazen" if K8S_CLUSTER == "kind" else f"wazen-test-{secrets.token_hex(3)}"
)
MONITORING_NAMESPACE = os.environ.get("K8S_MONITORING_NAMESPACE") or f"{NAMESPACE}-monitoring"
# Label of every object the suite itself creates (Prometheus, its Role, the test clients).
SUITE_LABELS = {"app.kubernetes.io/part-of": "wazen-tests"}


def image_values(prefix: str, ref: str) -> dict[str, str]:
    """Chart values placing an image reference (`repo:tag` or `repo@sha256:…`) under prefix."""
    if "@" in ref:
        repository, digest = ref.split("@", 1)
        return {f"{prefix}.repository": repository, f"{prefix}.digest": digest}
    repository, _, tag = ref.rpartition(":")
    if not repository or "/" in tag:  # no tag: "registry:5000/name" has no tag either
        return {f"{prefix}.repository": ref, f"{prefix}.tag": "latest"}
    return {f"{prefix}.repository": repository, f"{prefix}.tag": tag}


@dataclass
class Delivered:
    """How the cluster finds the app image once delivered: its reference and pull policy."""

    app: str = IMAGE
    pull_policy: str = "Never"


# Set by the session's image fixture (deliver_image); read by helm_values_args and the clients.
DELIVERED = Delivered()
# Set by install_operator_crds: False when the CRDs are absent and cannot be created.
MONITORING_CRDS = {"available": True, "created_by_suite": False}


def run(*args: str, env: dict | None = None, timeout: float = 600, check: bool = True) -> str:
    proc = subprocess.run(
        list(args), capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if check and proc.returncode:
        raise RuntimeError(
            f"{' '.join(args[:4])}… exited {proc.returncode}:\n{proc.stdout[-2000:]}"
            f"{proc.stderr[-3000:]}"
        )
    return proc.stdout


def container_provider() -> tuple[str | None, str]:
    """(docker | podman | None, why): what kind will run its node container with."""
    if shutil.which("docker"):
        ok = subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0
        if ok:
            return "docker", ""
    if shutil.which("podman"):
        ok = subprocess.run(["podman", "info"], capture_output=True, check=False).returncode == 0
        if ok:
            return "podman", ""
    return None, "neither a Docker daemon nor podman answers (`docker info` / `podman info`)"


def image_load_mode() -> str:
    """K8S_IMAGE_LOAD, or what fits the cluster: kind load for kind; for an existing cluster a
    registry push when IMAGE_REGISTRY is set, the command when K8S_IMAGE_LOAD_COMMAND is set,
    else nothing (the image is already there, or pullable)."""
    mode = os.environ.get("K8S_IMAGE_LOAD")
    if mode:
        if mode not in ("kind", "registry", "command", "none"):
            raise ValueError(f"K8S_IMAGE_LOAD={mode!r}: use kind, registry, command or none")
        return mode
    if K8S_CLUSTER == "kind":
        return "kind"
    if os.environ.get("IMAGE_REGISTRY"):
        return "registry"
    if os.environ.get("K8S_IMAGE_LOAD_COMMAND"):
        return "command"
    return "none"


def missing_tool() -> str | None:
    """The first thing the suite lacks, as one line, or None."""
    if K8S_CLUSTER not in ("kind", "existing"):
        return f"K8S_CLUSTER={K8S_CLUSTER!r}: use kind or existing"
    tools = ("kind", "helm", "kubectl") if K8S_CLUSTER == "kind" else ("helm", "kubectl")
    for tool in tools:
        if not shutil.which(tool):
            return f"`{tool}` is not on PATH"
    mode = image_load_mode()
    if mode == "registry" and not os.environ.get("IMAGE_REGISTRY"):
        return "K8S_IMAGE_LOAD=registry needs IMAGE_REGISTRY (e.g. registry.example.com/team)"
    if mode == "command" and "{tar}" not in os.environ.get("K8S_IMAGE_LOAD_COMMAND", ""):
        return (
            "K8S_IMAGE_LOAD=command needs K8S_IMAGE_LOAD_COMMAND with {tar}, "
            "e.g. 'ctr -n k8s.io images import {tar}'"
        )
    if K8S_CLUSTER == "existing":
        kubeconfig = os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
        if not any(Path(p).is_file() for p in kubeconfig.split(os.pathsep) if p):
            return f"K8S_CLUSTER=existing needs a kubeconfig (KUBECONFIG={kubeconfig} not found)"
        probe = subprocess.run(
            ["kubectl", "version", "--request-timeout=10s", "-o", "json"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        if probe.returncode != 0:
            return f"the cluster of KUBECONFIG does not answer: {probe.stderr.strip()[:200]}"
    if mode == "none" and K8S_CLUSTER == "existing":
        return None
    provider, why = container_provider()
    return None if provider else why


@dataclass
class Cluster:
    """kubectl and helm against one cluster, with the project's helm directories."""

    name: str
    workdir: Path
    provider: str | None  # the container engine that builds, saves or pushes images
    kubeconfig: Path | None = field(init=False, default=None)

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.kubeconfig is not None:
            env["KUBECONFIG"] = str(self.kubeconfig)
        if self.provider == "podman":
            env["KIND_EXPERIMENTAL_PROVIDER"] = "podman"
        for name in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
            env.setdefault(name, str(ROOT / ".tools" / name.lower().replace("_", "-")))
        return env

    def kubectl(self, *args: str, timeout: float = 300, check: bool = True) -> str:
        return run("kubectl", *args, env=self.env, timeout=timeout, check=check)

    def helm(self, *args: str, timeout: float = 900) -> str:
        return run("helm", *args, env=self.env, timeout=timeout)

    def apply(self, docs: list[dict]) -> None:
        text = yaml.safe_dump_all(docs)
        proc = subprocess.run(
            ["kubectl", "apply", "-f", "-"],
            input=text,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, f"kubectl apply: {proc.stderr}"

    def has_api(self, group: str) -> bool:
        out = self.kubectl("api-resources", "--api-group", group, "-o", "name", check=False)
        return bool(out.strip())

    def can(self, verb: str, resource: str, namespace: str | None = None) -> bool:
        args = ["auth", "can-i", verb, resource] + (["-n", namespace] if namespace else [])
        return self.kubectl(*args, check=False).strip() == "yes"

    def create(self) -> None:
        raise NotImplementedError

    def delete(self) -> None:
        raise NotImplementedError

    def load_archive(self, archive: Path, image: str) -> None:
        """Put a saved image into the cluster's nodes (kind only)."""
        raise NotImplementedError(f"{type(self).__name__} cannot load {image}: set K8S_IMAGE_LOAD")


@dataclass
class KindCluster(Cluster):
    def __post_init__(self) -> None:
        self.kubeconfig = self.workdir / "kubeconfig"

    def create(self) -> None:
        args = ["kind", "create", "cluster", "--name", self.name, "--config", str(KIND_CONFIG)]
        args += ["--kubeconfig", str(self.kubeconfig), "--wait", "180s"]
        if os.environ.get("KIND_NODE_IMAGE"):
            args += ["--image", os.environ["KIND_NODE_IMAGE"]]
        started = time.monotonic()
        run(*args, env=self.env, timeout=900)
        log(f"kind: cluster {self.name} created in {time.monotonic() - started:.0f}s")

    def delete(self) -> None:
        run("kind", "delete", "cluster", "--name", self.name, env=self.env, check=False)
        log(f"kind: cluster {self.name} deleted")

    def load_image(self, image: str) -> None:
        if self.provider == "docker":
            run("kind", "load", "docker-image", image, "--name", self.name, env=self.env)
        else:
            archive = save_image(self.provider, image, self.workdir)
            try:
                self.load_archive(archive, image)
            finally:
                archive.unlink()

    def load_archive(self, archive: Path, image: str) -> None:
        run("kind", "load", "image-archive", str(archive), "--name", self.name, env=self.env)


@dataclass
class ExistingCluster(Cluster):
    """The cluster KUBECONFIG points at. The suite creates its namespaces there (and the two
    monitoring CRDs if missing and allowed), and deletes what it created at the end."""

    def create(self) -> None:
        for namespace in (NAMESPACE, MONITORING_NAMESPACE):
            exists = self.kubectl("get", "namespace", namespace, "-o", "name", check=False)
            if exists.strip():
                raise RuntimeError(
                    f"namespace {namespace} already exists: the suite only works in namespaces "
                    "it creates (unset K8S_NAMESPACE for a fresh name, or delete it)"
                )
        for namespace in (NAMESPACE, MONITORING_NAMESPACE):
            self.kubectl("create", "namespace", namespace)
            self.kubectl(
                "label", "namespace", namespace, *[f"{k}={v}" for k, v in SUITE_LABELS.items()]
            )
        log(f"existing cluster: namespaces {NAMESPACE}, {MONITORING_NAMESPACE} created")

    def delete(self) -> None:
        for namespace in (NAMESPACE, MONITORING_NAMESPACE):
            self.kubectl("delete", "namespace", namespace, "--ignore-not-found", "--wait=true",
                         "--timeout=300s", check=False)  # fmt: skip
        if MONITORING_CRDS["created_by_suite"]:
            for crd in OPERATOR_CRDS:
                name = crd.removeprefix("monitoring.coreos.com_").removesuffix(".yaml")
                self.kubectl("delete", "crd", f"{name}.monitoring.coreos.com", "--ignore-not-found",
                             check=False)  # fmt: skip
        left = [
            ns for ns in (NAMESPACE, MONITORING_NAMESPACE)
            if self.kubectl("get", "namespace", ns, "-o", "name", check=False).strip()
        ]  # fmt: skip
        pending = f" (still terminating: {left})" if left else ""
        log(f"existing cluster: suite namespaces deleted{pending}")


def make_cluster(workdir: Path) -> Cluster:
    provider, _ = container_provider()
    if K8S_CLUSTER == "existing":
        return ExistingCluster("existing", workdir, provider)
    if provider is None:
        raise RuntimeError("kind needs a Docker daemon or podman")
    return KindCluster(os.environ.get("KIND_CLUSTER_NAME", "wazen-k8s-test"), workdir, provider)


def save_image(provider: str | None, image: str, workdir: Path) -> Path:
    """`docker|podman save` of an image to a docker-archive tarball in workdir."""
    if provider is None:
        raise RuntimeError(f"saving {image} needs docker or podman")
    archive = workdir / f"image-{secrets.token_hex(3)}.tar"
    if provider == "docker":
        run("docker", "save", "-o", str(archive), image)
    else:
        run("podman", "save", "--format", "docker-archive", "-o", str(archive), image)
    return archive


def deliver_image(cluster: Cluster, image: str) -> Delivered:
    """Make `image` (built locally) runnable on the cluster, the K8S_IMAGE_LOAD way; return the
    reference pods use and their pull policy."""
    mode = image_load_mode()
    started = time.monotonic()
    if mode == "kind":
        assert isinstance(cluster, KindCluster), "K8S_IMAGE_LOAD=kind needs K8S_CLUSTER=kind"
        cluster.load_image(image)
        delivered = Delivered(image, "Never")
    elif mode == "registry":
        registry = os.environ["IMAGE_REGISTRY"].rstrip("/")
        target = f"{registry}/{image.rsplit('/', 1)[-1]}"
        engine = cluster.provider or "docker"
        run(engine, "tag", image, target)
        run(engine, "push", target, timeout=1200)
        delivered = Delivered(target, "Always")
    elif mode == "command":
        archive = save_image(cluster.provider, image, cluster.workdir)
        try:
            command = os.environ["K8S_IMAGE_LOAD_COMMAND"].format(
                tar=shlex.quote(str(archive)), image=shlex.quote(image)
            )
            run("sh", "-c", command, env=cluster.env, timeout=1200)
        finally:
            archive.unlink()
        delivered = Delivered(image, "Never")
    else:
        delivered = Delivered(image, os.environ.get("K8S_IMAGE_PULL_POLICY", "IfNotPresent"))
    log(f"{cluster.name}: {image} delivered ({mode}) in {time.monotonic() - started:.0f}s")
    return delivered


def render_for(values_files: list[str], set_values: dict) -> Chart:
    """The chart as helm installs it on the cluster (same release and namespace; the cluster has
    the monitoring.coreos.com CRDs, see install_operator_crds)."""
    return render(values_files, set_values, release=RELEASE, namespace=NAMESPACE)


# Per-namespace objects a distribution creates by itself in every namespace: not the chart's,
# whatever `helm uninstall` leaves. Vanilla Kubernetes: the root CA ConfigMap and the default
# ServiceAccount; OpenShift-style clusters add the service CA bundle (and more, which the
# baseline below catches).
DISTRIBUTION_DEFAULTS = {
    "configmap/kube-root-ca.crt",
    "configmap/openshift-service-ca.crt",
    "serviceaccount/default",
}
# What the release's namespace held before the chart was installed (namespace_objects()).
NAMESPACE_BASELINE: set[str] = set()


def namespace_objects(cluster: Cluster, namespace: str = NAMESPACE) -> set[str]:
    """`kind/name` of every listable namespaced object in the namespace except events and the
    suite's own objects (labelled SUITE_LABELS)."""
    kinds = cluster.kubectl("api-resources", "--verbs=list", "--namespaced", "-o", "name").split()
    suite = ",".join(f"{k}!={v}" for k, v in SUITE_LABELS.items())
    found: set[str] = set()
    for kind in kinds:
        if kind in ("events", "events.events.k8s.io"):
            continue
        out = cluster.kubectl("get", kind, "-n", namespace, "-l", suite, "-o", "name", check=False)
        found.update(line for line in out.split() if line)
    return found


def install_operator_crds(cluster: Cluster) -> None:
    """The ServiceMonitor and PrometheusRule CRDs only (no operator): the API server then
    validates and stores the chart's monitoring objects, and the suite's plain Prometheus
    scrapes what the ServiceMonitor selects. On a cluster that lacks them where the suite may
    not create CRDs, the release is installed without them and the test that reads them back
    is skipped (saying so)."""
    if cluster.has_api("monitoring.coreos.com"):
        return
    if not cluster.can("create", "customresourcedefinitions"):
        MONITORING_CRDS["available"] = False
        log(f"{cluster.name}: no monitoring.coreos.com CRDs and no right to create them: "
            "ServiceMonitor/PrometheusRule are not installed (their test is skipped)")  # fmt: skip
        return
    for crd in OPERATOR_CRDS:
        cluster.kubectl("apply", "--server-side", "-f", operator_crd_source(crd))
    MONITORING_CRDS["created_by_suite"] = True
    for crd in OPERATOR_CRDS:
        name = crd.removeprefix("monitoring.coreos.com_").removesuffix(".yaml")
        cluster.kubectl(
            "wait", "--for=condition=Established", f"crd/{name}.monitoring.coreos.com",
            "--timeout=60s",
        )  # fmt: skip
    log(f"{cluster.name}: prometheus-operator CRDs (ServiceMonitor, PrometheusRule) installed")


def helm_values_args(
    values_files: list[str], set_values: dict, chart_dir: Path = CHART_DIR, app_image: bool = True
) -> list[str]:
    """helm -f/--set-json arguments: the values, the delivered app image (app_image=False: the
    chart's own, e.g. a released chart's image pinned by digest), the configured service images,
    and monitoring off when the cluster cannot store its objects."""
    args = []
    for values_file in values_files:
        args += ["-f", str(chart_dir / values_file)]
    images = {}
    if app_image:
        images = {**image_values("image", DELIVERED.app), "image.pullPolicy": DELIVERED.pull_policy}
    for prefix, variable in SERVICE_IMAGES.items():
        if os.environ.get(variable):
            images.update(image_values(prefix, os.environ[variable]))
    monitoring = {}
    if not MONITORING_CRDS["available"]:
        monitoring = {
            "monitoring.serviceMonitor.enabled": False,
            "monitoring.prometheusRule.enabled": False,
        }
    for key, value in {**images, **set_values, **monitoring}.items():
        args += ["--set-json", f"{key}={json.dumps(value)}"]
    return args


class PortForward:
    """`kubectl port-forward` to 127.0.0.1, re-established whenever it stops answering.

    A forward to `svc/NAME` is bound to the one pod kubectl picked when it started; after a
    rollout that pod is gone while kubectl keeps running and accepting local connections, and
    every request gets an empty reply. So `url()` checks the tunnel with one HTTP request (any
    status is an answer; an empty reply, a reset or a refused connection is not) and starts a
    new kubectl, which picks a current pod, when it does not answer.
    """

    def __init__(self, cluster: Cluster, namespace: str, target: str, port: int) -> None:
        self.cluster, self.namespace, self.target, self.port = cluster, namespace, target, port
        self.local = free_port()
        self.process: subprocess.Popen | None = None

    def url(self) -> str:
        if self.process is None or self.process.poll() is not None or not self.answers():
            self.start()
        return f"http://127.0.0.1:{self.local}"

    def answers(self) -> bool:
        """True when an HTTP request through the tunnel gets a response (whatever its status)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.local, timeout=10)
        try:
            connection.request("GET", "/", headers={"Connection": "close"})
            connection.getresponse().read()
            return True
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    def start(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.stop()
            self.process = subprocess.Popen(
                ["kubectl", "port-forward", "-n", self.namespace, "--address", "127.0.0.1",
                 self.target, f"{self.local}:{self.port}"],
                env=self.cluster.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                wait_for_port(self.local, timeout=30)
                if self.answers():
                    return
            except (OSError, TimeoutError, AssertionError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"port-forward to {self.target} does not answer")
            time.sleep(2)  # the Service may have no ready pod yet (mid-rollout)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


CLIENT_SCRIPT = textwrap.dedent(
    """
    import json, os, time, urllib.error, urllib.request
    url = os.environ["TARGET"] + "/api/v1/chat"
    headers = {"Authorization": "Bearer " + os.environ["API_KEY"],
               "Content-Type": "application/json", "Accept": "application/json"}
    deadline = time.monotonic() + float(os.environ["SECONDS"])
    ok, failures, i = 0, [], 0
    while time.monotonic() < deadline and not os.path.exists("/tmp/stop"):
        body = json.dumps({"message": "What services do you offer?"}).encode()
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=15) as response:
                response.read()
                ok += 1
        except urllib.error.HTTPError as exc:
            failures.append(f"#{i}: HTTP {exc.code}")
        except OSError as exc:
            failures.append(f"#{i}: {type(exc).__name__}: {exc}")
        i += 1
        time.sleep(0.05)
    print("RESULT " + json.dumps({"ok": ok, "failures": failures}), flush=True)
    """
)


class InClusterClient:
    """A background client that chats through the Service's ClusterIP from a pod (the app
    image's Python), so a rollout is seen as cluster clients see it, not through a
    port-forward that is pinned to one pod."""

    def __init__(self, cluster: Cluster, target: str, api_key: str, seconds: float) -> None:
        self.cluster = cluster
        self.name = f"wazen-client-{secrets.token_hex(3)}"
        security = {
            "runAsNonRoot": True, "runAsUser": 10001, "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }  # fmt: skip
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": self.name, "namespace": NAMESPACE, "labels": SUITE_LABELS},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "client",
                        "image": DELIVERED.app,
                        "imagePullPolicy": DELIVERED.pull_policy,
                        "command": ["python", "-c", CLIENT_SCRIPT],
                        "env": [
                            {"name": "TARGET", "value": target},
                            {"name": "API_KEY", "value": api_key},
                            {"name": "SECONDS", "value": str(seconds)},
                        ],
                        "securityContext": security,
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                    }
                ],
                "volumes": [{"name": "tmp", "emptyDir": {}}],
            },
        }
        cluster.apply([pod])
        cluster.kubectl(
            "wait", "-n", NAMESPACE, f"pod/{self.name}", "--for=condition=Ready", "--timeout=120s"
        )

    def result(self) -> tuple[int, list[str]]:
        self.cluster.kubectl("exec", "-n", NAMESPACE, self.name, "--", "touch", "/tmp/stop")
        self.cluster.kubectl(
            "wait", "-n", NAMESPACE, f"pod/{self.name}",
            "--for=jsonpath={.status.phase}=Succeeded", "--timeout=120s",
        )  # fmt: skip
        logs = self.cluster.kubectl("logs", "-n", NAMESPACE, self.name)
        self.cluster.kubectl("delete", "pod", "-n", NAMESPACE, self.name, "--wait=true")
        line = next(line for line in logs.splitlines() if line.startswith("RESULT "))
        result = json.loads(line.removeprefix("RESULT "))
        return result["ok"], result["failures"]


def prometheus_manifests(chart: Chart) -> list[dict]:
    """A minimal Prometheus in its own namespace: RBAC for endpoint discovery, a ConfigMap with
    the scrape config derived from the rendered ServiceMonitor(s) and the rendered rule groups,
    a Deployment of the official image and its Service."""
    from testsupport.k8s.suite import RULE_INTERVAL

    ns = MONITORING_NAMESPACE
    config = {
        "global": {"evaluation_interval": RULE_INTERVAL},
        "rule_files": ["/etc/prometheus/rules.yml"],
        "scrape_configs": [e.kubernetes_scrape_config() for e in chart.metrics_endpoints()],
    }
    rules = {"groups": chart.rule_groups(interval=RULE_INTERVAL)}
    labels = {"app.kubernetes.io/name": "prometheus", **SUITE_LABELS}
    meta = {"name": "prometheus", "namespace": ns, "labels": labels}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        # Namespaced RBAC only (no cluster-admin needed): the scrape config discovers endpoints
        # in the release's namespace alone, so a Role there is enough.
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {
                "name": "wazen-tests-prometheus",
                "namespace": NAMESPACE,
                "labels": labels,
            },
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["services", "endpoints", "pods"],
                    "verbs": ["get", "list", "watch"],
                },
                {
                    "apiGroups": ["discovery.k8s.io"],
                    "resources": ["endpointslices"],
                    "verbs": ["get", "list", "watch"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {
                "name": "wazen-tests-prometheus",
                "namespace": NAMESPACE,
                "labels": labels,
            },
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "wazen-tests-prometheus",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "prometheus", "namespace": ns}],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta,
            "data": {
                "prometheus.yml": yaml.safe_dump(config),
                "rules.yml": yaml.safe_dump(rules),
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": "prometheus",
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": 65534,
                            "fsGroup": 65534,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [
                            {
                                "name": "prometheus",
                                "image": PROMETHEUS_IMAGE,
                                "args": [
                                    "--config.file=/etc/prometheus/prometheus.yml",
                                    "--storage.tsdb.path=/prometheus",
                                    "--web.enable-lifecycle",
                                ],
                                "ports": [{"name": "web", "containerPort": 9090}],
                                "readinessProbe": {
                                    "httpGet": {"path": "/-/ready", "port": "web"},
                                    "periodSeconds": 2,
                                },
                                "securityContext": {
                                    "allowPrivilegeEscalation": False,
                                    "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]},
                                },
                                "volumeMounts": [
                                    {"name": "config", "mountPath": "/etc/prometheus"},
                                    {"name": "data", "mountPath": "/prometheus"},
                                ],
                            }
                        ],
                        "volumes": [
                            {"name": "config", "configMap": {"name": "prometheus"}},
                            {"name": "data", "emptyDir": {}},
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {"selector": labels, "ports": [{"name": "web", "port": 9090}]},
        },
    ]


@dataclass
class KindStack:
    """A `scenarios.Stack` on the kind cluster."""

    cluster: Cluster
    chart: Chart
    name: str = "kind"
    api_key: str = ""
    prometheus: PrometheusAPI | None = None
    forwards: dict[tuple[str, int], PortForward] = field(default_factory=dict)

    # -- helm ---------------------------------------------------------------------------------
    def install(self, values_files: list[str], set_values: dict) -> None:
        started = time.monotonic()
        self.cluster.helm(
            "install", RELEASE, str(CHART_DIR), "-n", NAMESPACE, "--create-namespace",
            *helm_values_args(values_files, set_values), "--wait", "--timeout", "10m",
        )  # fmt: skip
        self.chart = render_for(values_files, set_values)
        log(f"kind: helm install done in {time.monotonic() - started:.0f}s")

    def upgrade(self, values_files: list[str], set_values: dict) -> None:
        started = time.monotonic()
        self.cluster.helm(
            "upgrade", RELEASE, str(CHART_DIR), "-n", NAMESPACE,
            *helm_values_args(values_files, set_values), "--wait", "--timeout", "10m",
        )  # fmt: skip
        deployment = self.chart.app_deployment()["metadata"]["name"]
        self.cluster.kubectl(
            "rollout", "status", "-n", NAMESPACE, f"deployment/{deployment}", "--timeout=5m"
        )
        self.chart = render_for(values_files, set_values)
        log(f"kind: helm upgrade rolled out in {time.monotonic() - started:.0f}s")

    # -- Stack ---------------------------------------------------------------------------------
    def _forward(self, target: str, port: int, namespace: str = NAMESPACE) -> str:
        key = (target, port)
        if key not in self.forwards:
            self.forwards[key] = PortForward(self.cluster, namespace, target, port)
        return self.forwards[key].url()

    def _http_service(self) -> dict:
        app_labels = self.chart.app_deployment()["spec"]["template"]["metadata"]["labels"]
        for service in self.chart.of_kind("Service"):
            selector = service["spec"].get("selector", {})
            ports = {p.get("name") for p in service["spec"]["ports"]}
            matches = selector and all(app_labels.get(k) == v for k, v in selector.items())
            if matches and "http" in ports:
                return service
        raise AssertionError("no HTTP Service selects the app pods")

    @property
    def base_urls(self) -> list[str]:
        service = self._http_service()
        port = next(p["port"] for p in service["spec"]["ports"] if p.get("name") == "http")
        return [self._forward(f"svc/{service['metadata']['name']}", port)]

    def chat_client(self, base_url: str) -> ChatClient:
        return ChatClient(base_url, self.api_key, host=self._http_service()["metadata"]["name"])

    def _pods_json(self) -> list[dict]:
        selector = self.chart.app_deployment()["spec"]["selector"]["matchLabels"]
        labels = ",".join(f"{k}={v}" for k, v in selector.items())
        out = self.cluster.kubectl("get", "pods", "-n", NAMESPACE, "-l", labels, "-o", "json")
        return [p for p in json.loads(out)["items"] if not p["metadata"].get("deletionTimestamp")]

    def pods(self) -> list[str]:
        return sorted(p["metadata"]["name"] for p in self._pods_json())

    def metrics_url(self, pod: str) -> str:
        endpoint = self.chart.app_metrics_endpoint()
        return self._forward(f"pod/{pod}", endpoint.container_port) + endpoint.path

    def readiness(self, pod: str) -> Response:
        spec = self.chart.probe("readiness")
        pod_ip = next(p for p in self._pods_json() if p["metadata"]["name"] == pod)["status"][
            "podIP"
        ]
        url = self._forward(f"pod/{pod}", spec.port) + f"{spec.path}?format=json"
        return request(url, headers={"Host": f"{pod_ip}:{spec.port}"}, timeout=10)

    def ready(self) -> dict[str, bool]:
        states = {}
        for pod in self._pods_json():
            conditions = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}
            states[pod["metadata"]["name"]] = conditions.get("Ready") == "True"
        return states

    def wait_ready(self, value: bool, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            states = self.ready()
            if states and all(v == value for v in states.values()):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"pods not all Ready={value} after {timeout:.0f}s: {states}")
            time.sleep(1)

    def _redis(self) -> str:
        workload = self.chart.redis_workload()
        assert workload, "the chart deploys no Redis"
        return f"{workload['kind'].lower()}/{workload['metadata']['name']}"

    def stop_redis(self) -> None:
        self.cluster.kubectl("scale", "-n", NAMESPACE, self._redis(), "--replicas=0")
        name = self._redis().split("/", 1)[1]
        self.cluster.kubectl(
            "wait", "-n", NAMESPACE, "--for=delete", f"pod/{name}-0", "--timeout=120s",
            check=False,
        )  # fmt: skip

    def start_redis(self) -> None:
        self.cluster.kubectl("scale", "-n", NAMESPACE, self._redis(), "--replicas=1")
        self.cluster.kubectl("rollout", "status", "-n", NAMESPACE, self._redis(), "--timeout=180s")

    def background_client(self, seconds: float) -> InClusterClient:
        service = self._http_service()
        port = next(p["port"] for p in service["spec"]["ports"] if p.get("name") == "http")
        target = f"http://{service['metadata']['name']}:{port}"
        return InClusterClient(self.cluster, target, self.api_key, seconds)

    # -- extras --------------------------------------------------------------------------------
    def deploy_prometheus(self) -> None:
        docs = prometheus_manifests(self.chart)
        if K8S_CLUSTER != "kind":  # created by the suite beforehand; patching it needs more rights
            docs = [d for d in docs if d["kind"] != "Namespace"]
        self.cluster.apply(docs)
        self.cluster.kubectl(
            "rollout", "status", "-n", MONITORING_NAMESPACE, "deployment/prometheus",
            "--timeout=300s",
        )  # fmt: skip
        url = self._forward("svc/prometheus", 9090, MONITORING_NAMESPACE)
        self.prometheus = PrometheusAPI(url)
        log(f"kind: prometheus ({PROMETHEUS_IMAGE}) ready")

    def _manage(self, *args: str) -> str:
        deployment = self.chart.app_deployment()["metadata"]["name"]
        return self.cluster.kubectl(
            "exec", "-n", NAMESPACE, f"deployment/{deployment}", "-c",
            self.chart.app_container()["name"], "--", "/app/docker/entrypoint.sh", *args,
        )  # fmt: skip

    def invalidate_catalog(self) -> None:
        self._manage("manage", "catalog_cache", "invalidate", "demo")

    def seed_api_key(self) -> str:
        out = self._manage("seed-demo")
        key = next(line for line in out.splitlines() if line.startswith("WAZEN_DEMO_API_KEY="))
        self.api_key = key.split("=", 1)[1].strip()
        return self.api_key

    def issue_api_key(self, name: str) -> str:
        """A new key of the demo company (`manage issue_api_key`), for a scenario of its own."""
        out = self._manage("manage", "issue_api_key", "demo", "--name", name)
        return next(line.strip() for line in out.splitlines() if line.startswith("wz_"))

    def close(self) -> None:
        for forward in self.forwards.values():
            forward.stop()
        self.forwards.clear()


# -- the previous chart version --------------------------------------------------------------
# What "the chart" is for the upgrade scenario's git fallback: files that change what it renders
# (its README, Python tests and ci/ example values do not).
CHART_RENDER_PATHSPEC = [
    "charts/wazen-ai",
    ":(exclude)charts/wazen-ai/README.md",
    ":(exclude)charts/wazen-ai/tests",
    ":(exclude)charts/wazen-ai/ci",
]


def previous_release() -> tuple[str, str] | None:
    """(oci://…/charts/wazen-ai, version) of the previous release, when a registry holding the
    project's releases is configured (K8S_UPGRADE_FROM_REGISTRY, e.g. ghcr.io/wazen-ai or a local
    mirror; K8S_UPGRADE_FROM_VERSION, default: the newest CHANGELOG.md version below the working
    tree's chart version); None otherwise."""
    registry = os.environ.get("K8S_UPGRADE_FROM_REGISTRY", "").rstrip("/")
    if not registry:
        return None
    version = os.environ.get("K8S_UPGRADE_FROM_VERSION") or previous_changelog_version()
    if not version:
        raise AssertionError("K8S_UPGRADE_FROM_REGISTRY is set but no previous version is known")
    return f"oci://{registry}/charts/wazen-ai", version


def _semver(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("-", 1)[0].split("."))


def previous_changelog_version() -> str | None:
    """The newest `## [X.Y.Z]` of CHANGELOG.md below the working tree's chart version."""
    current = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())["version"]
    text = (ROOT / "CHANGELOG.md").read_text()
    versions = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", text, re.MULTILINE)
    older = [v for v in versions if _semver(v) < _semver(current)]
    return max(older, key=_semver) if older else None


def pull_release_chart(reference: str, version: str, workdir: Path, cluster_env: dict) -> Path:
    """`helm pull` a released chart (plain HTTP for a registry on loopback, or when
    K8S_UPGRADE_FROM_PLAIN_HTTP=1) and return its unpacked directory."""
    host = reference.removeprefix("oci://").split("/", 1)[0]
    plain = os.environ.get("K8S_UPGRADE_FROM_PLAIN_HTTP") == "1" or re.match(
        r"^(127\.0\.0\.1|localhost)(:\d+)?$", host
    )
    subprocess.run(
        ["helm", "pull", reference, "--version", version, "--untar", "-d", str(workdir),
         *(["--plain-http"] if plain else [])],
        env=cluster_env, check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return workdir / "wazen-ai"


def previous_chart_ref() -> str | None:
    """K8S_UPGRADE_FROM_REF, or the newest commit whose chart renders differently from the
    working tree's (templates, values, schema, dashboards, Chart.yaml: not its README, tests or
    ci/ files, which an upgrade cannot notice); None when no commit qualifies."""
    if os.environ.get("K8S_UPGRADE_FROM_REF"):
        return os.environ["K8S_UPGRADE_FROM_REF"]
    commits = run(
        "git", "-C", str(ROOT), "log", "--format=%H", "-n", "50", "--", *CHART_RENDER_PATHSPEC
    ).split()
    for commit in commits:
        same = subprocess.run(
            ["git", "-C", str(ROOT), "diff", "--quiet", commit, "--", *CHART_RENDER_PATHSPEC],
            check=False,
        )
        if same.returncode == 1:  # differs from the working tree
            return commit
    return None


def chart_at(ref: str, workdir: Path) -> Path:
    """charts/wazen-ai as it was at a git ref, extracted under workdir."""
    chart = str(CHART_DIR.relative_to(ROOT))
    archive = workdir / "chart.tar"
    run("git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), ref, chart)
    run("tar", "-xf", str(archive), "-C", str(workdir))
    archive.unlink()
    return workdir / chart
