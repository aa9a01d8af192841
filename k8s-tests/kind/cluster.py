"""The kind stand-up of the stack: a kind cluster, the image loaded into it, the chart installed
with helm, a minimal Prometheus (official prom/prometheus image) scraping what the
ServiceMonitor selects, and a `scenarios.Stack` reaching it all through kubectl port-forward.

Nothing here has been run on a cluster from this repository's development machine (no cluster
can run there); see k8s-tests/README.md.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from chartinfo import CHART_DIR, ROOT, Chart, render
from clients import ChatClient, PrometheusAPI, Response, log, request
from tests.servers import free_port, wait_for_port

HERE = Path(__file__).resolve().parent
KIND_CONFIG = HERE / "kind-config.yaml"
IMAGE = os.environ.get("IMAGE", "localhost/wazen-ai:dev")
PROMETHEUS_IMAGE = os.environ.get("PROMETHEUS_IMAGE", "docker.io/prom/prometheus:v2.55.1")
OPERATOR_VERSION = os.environ.get("PROMETHEUS_OPERATOR_VERSION", "v0.77.1")
OPERATOR_CRD_BASE = (
    "https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/"
    f"{OPERATOR_VERSION}/example/prometheus-operator-crd"
)
OPERATOR_CRDS = (
    "monitoring.coreos.com_servicemonitors.yaml",
    "monitoring.coreos.com_prometheusrules.yaml",
)
RELEASE = "wazen"
NAMESPACE = "wazen"
MONITORING_NAMESPACE = "wazen-monitoring"


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


def missing_tool() -> str | None:
    """The first thing the kind suite lacks, as one line, or None."""
    for tool in ("kind", "helm", "kubectl"):
        if not shutil.which(tool):
            return f"`{tool}` is not on PATH"
    provider, why = container_provider()
    return None if provider else why


@dataclass
class KindCluster:
    name: str
    workdir: Path
    provider: str
    kubeconfig: Path = field(init=False)

    def __post_init__(self) -> None:
        self.kubeconfig = self.workdir / "kubeconfig"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
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
        started = time.monotonic()
        if self.provider == "docker":
            run("kind", "load", "docker-image", image, "--name", self.name, env=self.env)
        else:
            archive = self.workdir / "image.tar"
            run("podman", "save", "--format", "docker-archive", "-o", str(archive), image)
            run("kind", "load", "image-archive", str(archive), "--name", self.name, env=self.env)
            archive.unlink()
        log(f"kind: {image} loaded in {time.monotonic() - started:.0f}s")

    def has_api(self, group: str) -> bool:
        out = self.kubectl("api-resources", "--api-group", group, "-o", "name", check=False)
        return bool(out.strip())


def render_for(values_files: list[str], set_values: dict) -> Chart:
    """The chart as helm installs it on the cluster (same release and namespace; the cluster has
    the monitoring.coreos.com CRDs, see install_operator_crds)."""
    return render(values_files, set_values, release=RELEASE, namespace=NAMESPACE)


def install_operator_crds(cluster: KindCluster) -> None:
    """The ServiceMonitor and PrometheusRule CRDs only (no operator): the API server then
    validates and stores the chart's monitoring objects, and the suite's plain Prometheus
    scrapes what the ServiceMonitor selects."""
    if cluster.has_api("monitoring.coreos.com"):
        return
    for crd in OPERATOR_CRDS:
        cluster.kubectl("apply", "--server-side", "-f", f"{OPERATOR_CRD_BASE}/{crd}")
    for crd in OPERATOR_CRDS:
        name = crd.removeprefix("monitoring.coreos.com_").removesuffix(".yaml")
        cluster.kubectl(
            "wait", "--for=condition=Established", f"crd/{name}.monitoring.coreos.com",
            "--timeout=60s",
        )  # fmt: skip
    log("kind: prometheus-operator CRDs (ServiceMonitor, PrometheusRule) installed")


def helm_values_args(values_files: list[str], set_values: dict) -> list[str]:
    args = []
    for values_file in values_files:
        args += ["-f", str(CHART_DIR / values_file)]
    image = {"image.repository": IMAGE.rsplit(":", 1)[0], "image.tag": IMAGE.rsplit(":", 1)[1]}
    for key, value in {**image, "image.pullPolicy": "Never", **set_values}.items():
        args += ["--set-json", f"{key}={json.dumps(value)}"]
    return args


class PortForward:
    """`kubectl port-forward` to 127.0.0.1; restarted when it dies (pods come and go)."""

    def __init__(self, cluster: KindCluster, namespace: str, target: str, port: int) -> None:
        self.cluster, self.namespace, self.target, self.port = cluster, namespace, target, port
        self.local = free_port()
        self.process: subprocess.Popen | None = None

    def url(self) -> str:
        if self.process is None or self.process.poll() is not None:
            self.start()
        return f"http://127.0.0.1:{self.local}"

    def start(self) -> None:
        self.stop()
        self.process = subprocess.Popen(
            ["kubectl", "port-forward", "-n", self.namespace, "--address", "127.0.0.1",
             self.target, f"{self.local}:{self.port}"],
            env=self.cluster.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.local, timeout=30)

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

    def __init__(self, cluster: KindCluster, target: str, api_key: str, seconds: float) -> None:
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
            "metadata": {"name": self.name, "namespace": NAMESPACE},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "client",
                        "image": IMAGE,
                        "imagePullPolicy": "Never",
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
    from suite import RULE_INTERVAL

    ns = MONITORING_NAMESPACE
    config = {
        "global": {"evaluation_interval": RULE_INTERVAL},
        "rule_files": ["/etc/prometheus/rules.yml"],
        "scrape_configs": [e.kubernetes_scrape_config() for e in chart.metrics_endpoints()],
    }
    rules = {"groups": chart.rule_groups(interval=RULE_INTERVAL)}
    labels = {"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/part-of": "wazen-tests"}
    meta = {"name": "prometheus", "namespace": ns, "labels": labels}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "wazen-tests-prometheus", "labels": labels},
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
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "wazen-tests-prometheus", "labels": labels},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
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

    cluster: KindCluster
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
        self.cluster.apply(prometheus_manifests(self.chart))
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

    def close(self) -> None:
        for forward in self.forwards.values():
            forward.stop()
        self.forwards.clear()
