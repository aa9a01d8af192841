"""The local twin of the kind cluster: the rendered chart's app container, Redis and PostgreSQL
on this machine, probed by a kubelet-like prober and scraped by a real Prometheus.

Two ways to run the pods, chosen by `WAZEN_STACK_MODE` (auto | podman | process):
- podman: the app image (localhost/wazen-ai:dev) with the chart's env, security context and
  writable emptyDir paths, plus the local Redis and PostgreSQL images, on a podman network created
  for the run (`wazen-stack-<id>`); Redis carries the chart's Service name as network alias, so
  the chart's REDIS_URL works as rendered. Ports are published on 127.0.0.1 only.
- process: gunicorn processes from the repo venv, started with docker/gunicorn.conf.py (so the
  metrics port is served by the gunicorn master exactly as in the image), with the throwaway
  redis-server and PostgreSQL of testsupport.servers.
`auto` picks podman when `podman info` works and the images exist, else process.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from testsupport.k8s.chartinfo import ROOT, Chart
from testsupport.k8s.clients import ChatClient, PrometheusAPI, Response, log, request
from testsupport.k8s.prober import PodProber
from testsupport.k8s.scenarios import BackgroundClient
from testsupport.servers import PostgresServer, RedisServer, free_port, wait_for_port

APP_IMAGE = os.environ.get("IMAGE", "localhost/wazen-ai:dev")
REDIS_IMAGE = os.environ.get("REDIS_IMAGE", "localhost/wazen-redis:bookworm")
POSTGRES_IMAGE = os.environ.get("POSTGRES_IMAGE", "localhost/wazen-postgres:bookworm")
CONTAINERS_CONF = ROOT / ".tools" / "containers" / "containers.conf"
VENV_BIN = ROOT / ".venv" / "bin"
GUNICORN_CONF = ROOT / "docker" / "gunicorn.conf.py"
NAMESPACE_DEFAULT = "wazen"
PROCESS_POD_NET = "10.244.7.0/24"  # pod IPs of process mode: Host headers only, never contacted


def process_env(env: dict[str, str]) -> dict[str, str]:
    """A pod's environment for a process on this machine: what the image sets (docker/
    Dockerfile ENV) and the container env, nothing inherited from the test runner but PATH."""
    return {
        "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": tempfile.gettempdir(),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **env,
    }


def podman_env() -> dict[str, str]:
    env = dict(os.environ)
    if "CONTAINERS_CONF" not in env and CONTAINERS_CONF.exists():
        env["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
    return env


def podman(*args: str, check: bool = True, timeout: float = 120) -> str:
    proc = subprocess.run(
        ["podman", *args],
        capture_output=True,
        text=True,
        env=podman_env(),
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode:
        raise RuntimeError(f"podman {' '.join(args[:3])}… failed: {proc.stderr.strip()[-2000:]}")
    return proc.stdout.strip()


def podman_usable() -> tuple[bool, str]:
    """(usable, why not): podman answers and every image the twin runs exists."""
    if not shutil.which("podman"):
        return False, "podman is not installed"
    try:
        podman("info", "--format", "{{.Host.OCIRuntime.Name}}", timeout=60)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return False, f"podman does not work: {exc}"
    missing = [
        image
        for image in (APP_IMAGE, REDIS_IMAGE, POSTGRES_IMAGE)
        if subprocess.run(
            ["podman", "image", "exists", image], env=podman_env(), check=False
        ).returncode
    ]
    if missing:
        return False, f"images missing: {missing} (make image service-images)"
    return True, ""


# -- env as Kubernetes builds it ----------------------------------------------------------------
def _secret_value(chart: Chart, kind: str, name: str, key: str) -> str | None:
    import base64

    for doc in chart.of_kind(kind):
        if doc["metadata"]["name"] != name:
            continue
        if key in (doc.get("stringData") or {}):
            return str(doc["stringData"][key])
        if key in (doc.get("data") or {}):
            value = doc["data"][key]
            return base64.b64decode(value).decode() if kind == "Secret" else str(value)
    return None


def container_env(
    chart: Chart, pod: str, pod_ip: str, namespace: str, container: dict | None = None
) -> dict[str, str]:
    """The app container's (or `container`'s, e.g. a Job's) environment as the kubelet would
    build it: envFrom, then env with secret/configMap/fieldRef values and $(VAR) expansion.
    Values the chart takes from objects it does not render (an existing Secret) are left out
    for the caller to supply."""
    container = container or chart.app_container()
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        for kind, ref_key in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
            if ref_key in source:
                for doc in chart.of_kind(kind):
                    if doc["metadata"]["name"] == source[ref_key]["name"]:
                        keys = {**(doc.get("data") or {}), **(doc.get("stringData") or {})}
                        prefix = source.get("prefix", "")
                        for key in keys:
                            value = _secret_value(chart, kind, doc["metadata"]["name"], key)
                            env[prefix + key] = value or ""
    fields = {
        "status.podIP": pod_ip,
        "status.podIPs": pod_ip,
        "metadata.name": pod,
        "metadata.namespace": namespace,
        "spec.nodeName": "twin-node",
        "spec.serviceAccountName": chart.app_deployment()["spec"]["template"]["spec"].get(
            "serviceAccountName", "default"
        ),
        "status.hostIP": "127.0.0.1",
    }
    for entry in container.get("env", []):
        name = entry["name"]
        if "value" in entry:
            env[name] = re.sub(
                r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), str(entry["value"])
            )
            continue
        source = entry.get("valueFrom", {})
        value = None
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            value = _secret_value(chart, "Secret", ref["name"], ref["key"])
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            value = _secret_value(chart, "ConfigMap", ref["name"], ref["key"])
        elif "fieldRef" in source:
            value = fields.get(source["fieldRef"]["fieldPath"])
        elif "resourceFieldRef" in source:
            value = None  # resources are not limited on the twin
        if value is not None:
            env[name] = value
    return env


# -- pods -----------------------------------------------------------------------------------------
@dataclass
class Pod:
    name: str
    pod_ip: str
    port_map: dict[int, int]  # container port -> 127.0.0.1 port
    handle: object = None  # Popen (process) or container name (podman)
    log_path: Path | None = None
    prober: PodProber | None = None


class ProcessBackend:
    """Pods as gunicorn processes from the repo venv; Redis and PostgreSQL: testsupport.servers."""

    mode = "process"

    def __init__(self, workdir: Path, chart_env: dict[str, str]) -> None:
        self.workdir = workdir
        self.redis_password = redis_password_from(chart_env.get("REDIS_URL"))
        self.redis = RedisServer(workdir / "redis", password=self.redis_password)
        self.postgres = PostgresServer()
        self.pod_ips = (str(ip) for ip in ipaddress.ip_network(PROCESS_POD_NET).hosts())
        next(self.pod_ips)
        self.redis_pod_ip = next(self.pod_ips)

    def start_services(self) -> None:
        self.postgres.start()
        self.redis.start()

    def service_env(self, env: dict[str, str]) -> dict[str, str]:
        """The chart's env with the database and Redis URLs pointing at the loopback servers
        (the chart's Redis password kept)."""
        return {**env, "DATABASE_URL": self.postgres.url, "REDIS_URL": self.redis.url}

    def new_pod_ip(self) -> str:
        return next(self.pod_ips)

    def run_app(
        self, name: str, pod_ip: str, env: dict[str, str], ports: list[int], image: str = ""
    ) -> Pod:
        assert not image, "process mode runs this tree, not an image"
        port_map = {port: free_port() for port in ports}
        http_port, metrics_port = int(env.get("PORT", 8000)), int(env.get("METRICS_PORT", 9100))
        multiproc = Path(tempfile.mkdtemp(prefix="wazen-stack-metrics-", dir=self.workdir))
        full = {
            **process_env(self.service_env(env)),
            "PORT": str(port_map[http_port]),
            "METRICS_PORT": str(port_map[metrics_port]),
            "METRICS_ADDR": "127.0.0.1",
            "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        }
        log_path = self.workdir / f"{name}.log"
        with log_path.open("w") as log_file:
            process = subprocess.Popen(
                [
                    str(VENV_BIN / "gunicorn"),
                    "-c",
                    str(GUNICORN_CONF),
                    "--bind",
                    f"127.0.0.1:{port_map[http_port]}",
                    "config.wsgi:application",
                ],
                cwd=ROOT / "app",
                env=full,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return Pod(name, pod_ip, port_map, process, log_path)

    def stop_app(self, pod: Pod) -> None:
        process: subprocess.Popen = pod.handle
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def reload_app(self, pod: Pod) -> None:
        pod.handle.send_signal(signal.SIGHUP)

    def manage(self, env: dict[str, str], *args: str, image: str = "") -> str:
        assert not image, "the process twin runs the working tree's code, not an image"
        proc = subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", *args],
            cwd=ROOT / "app",
            # Like the entrypoint's one-off commands: no multiprocess metrics directory.
            env={
                k: v
                for k, v in process_env(self.service_env(env)).items()
                if k != "PROMETHEUS_MULTIPROC_DIR"
            },
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, f"manage.py {args}: {proc.stdout[-1000:]}{proc.stderr[-3000:]}"
        return proc.stdout

    def migrate(self, env: dict[str, str]) -> None:
        self.manage(env, "migrate", "--noinput")

    def seed_demo(self, env: dict[str, str]) -> str:
        return self.manage(env, "seed_demo")

    def stop_redis(self) -> None:
        self.redis.stop()

    def start_redis(self) -> None:
        self.redis.start()

    @property
    def redis_address(self) -> str:
        return f"127.0.0.1:{self.redis.port}"

    def pod_logs(self, pod: Pod) -> str:
        return pod.log_path.read_text(errors="replace") if pod.log_path else ""

    def close(self) -> None:
        self.redis.stop()
        self.postgres.stop()


class PodmanBackend:
    """Pods as containers of the app image on a podman network made for this run."""

    mode = "podman"

    def __init__(self, workdir: Path, chart_env: dict[str, str]) -> None:
        """chart_env: the app container's env as rendered; its REDIS_URL and DATABASE_URL name
        the chart's Services, which become network aliases of the Redis and PostgreSQL
        containers, and carry the passwords those containers are started with."""
        self.workdir = workdir
        self.prefix = f"wazen-stack-{secrets.token_hex(3)}"
        self.network = self.prefix
        redis = urllib.parse.urlsplit(chart_env.get("REDIS_URL") or "redis://redis:6379/0")
        database = urllib.parse.urlsplit(
            chart_env.get("DATABASE_URL") or "postgres://wazen:wazen@postgres:5432/wazen"
        )
        self.redis_url = urllib.parse.urlunsplit(redis)
        self.database_url = urllib.parse.urlunsplit(database)
        self.redis_name = f"{self.prefix}-redis"
        self.redis_alias = redis.hostname
        self.redis_password = redis.password
        self.redis_port = free_port()  # published on loopback for redis_exporter
        self.pg_name = f"{self.prefix}-postgres"
        self.pg_alias = database.hostname
        self.pg = (database.username, database.password, database.path.lstrip("/"))
        self.containers: list[str] = []
        self._ips: list[str] = []
        self.redis_pod_ip = ""
        self.chart_security: dict = {}
        self.writable_paths: list[str] = []

    def start_services(self) -> None:
        podman("network", "create", self.network)
        subnet = podman(
            "network", "inspect", self.network, "--format", "{{range .Subnets}}{{.Subnet}}{{end}}"
        )
        hosts = list(ipaddress.ip_network(subnet).hosts())
        self._ips = [str(ip) for ip in hosts[10:40]]
        self.redis_pod_ip = str(hosts[5])
        log(f"podman network {self.network} ({subnet})")
        user, password, database = self.pg
        self._run_detached(
            self.pg_name,
            ["--network-alias", self.pg_alias, "--ip", str(hosts[6])],
            ["-e", f"POSTGRES_USER={user}", "-e", f"POSTGRES_PASSWORD={password}"],
            ["-e", f"POSTGRES_DB={database}", POSTGRES_IMAGE],
        )
        args = ["redis-server", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
        if self.redis_password:
            args += ["--requirepass", self.redis_password]
        self._run_detached(
            self.redis_name,
            ["--network-alias", self.redis_alias, "--ip", self.redis_pod_ip],
            ["-p", f"127.0.0.1:{self.redis_port}:6379", REDIS_IMAGE, *args],
        )
        wait_for_port(self.redis_port, timeout=30)

    def _run_detached(self, name: str, *arg_groups: list[str]) -> None:
        args = [a for group in arg_groups for a in group]
        podman("run", "-d", "--name", name, "--network", self.network, *args)
        self.containers.append(name)

    def service_env(self, env: dict[str, str]) -> dict[str, str]:
        """The chart's env as rendered: its URLs reach the aliased containers."""
        return {"DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url, **env}

    def new_pod_ip(self) -> str:
        return self._ips.pop(0)

    def _env_file(self, name: str, env: dict[str, str]) -> Path:
        path = self.workdir / f"{name}.env"
        path.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        path.chmod(0o600)
        return path

    def _security_args(self) -> list[str]:
        """The chart's pod/container securityContext and emptyDir mounts, as podman flags."""
        sec = self.chart_security
        args = []
        if sec.get("runAsUser") is not None:
            args += ["--user", f"{sec['runAsUser']}:{sec.get('runAsGroup', sec['runAsUser'])}"]
        if sec.get("readOnlyRootFilesystem"):
            # Kubernetes mounts nothing writable but the pod's volumes (podman would add tmpfs
            # on /run, /tmp and /var/tmp by default).
            args += ["--read-only", "--read-only-tmpfs=false"]
        for cap in sec.get("capabilities", {}).get("drop", []):
            args += ["--cap-drop", cap]
        if sec.get("allowPrivilegeEscalation") is False:
            args += ["--security-opt", "no-new-privileges"]
        for path in self.writable_paths:
            args += ["--tmpfs", f"{path}:rw,mode=1777"]
        return args

    def run_app(
        self, name: str, pod_ip: str, env: dict[str, str], ports: list[int], image: str = ""
    ) -> Pod:
        port_map = {port: free_port() for port in ports}
        container = f"{self.prefix}-{name}"
        env_file = self._env_file(container, self.service_env(env))
        publish = [a for p, h in port_map.items() for a in ("-p", f"127.0.0.1:{h}:{p}")]
        self._run_detached(
            container,
            ["--ip", pod_ip, "--hostname", name, "--env-file", str(env_file)],
            self._security_args(),
            publish,
            [image or APP_IMAGE],
        )
        return Pod(name, pod_ip, port_map, container)

    def stop_app(self, pod: Pod) -> None:
        podman("stop", "-t", "40", pod.handle, check=False, timeout=60)

    def reload_app(self, pod: Pod) -> None:
        podman("kill", "--signal", "HUP", pod.handle)

    def _run_once(self, env: dict[str, str], *command: str, image: str = "") -> str:
        env_file = self._env_file(f"{self.prefix}-job", self.service_env(env))
        return podman(
            "run", "--rm", "--network", self.network, "--env-file", str(env_file),
            *self._security_args(), image or APP_IMAGE, *command, timeout=300,
        )  # fmt: skip

    def run_job(self, env: dict[str, str], args: list[str], image: str = "") -> str:
        """A Job's container (its args through the image's entrypoint) run to completion on the
        twin's network: everything it wrote, stdout and stderr (its log)."""
        env_file = self._env_file(f"{self.prefix}-job", self.service_env(env))
        proc = subprocess.run(
            ["podman", "run", "--rm", "--network", self.network, "--env-file", str(env_file),
             *self._security_args(), image or APP_IMAGE, *args],
            capture_output=True, text=True, env=podman_env(), timeout=300, check=False,
        )  # fmt: skip
        log_text = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"job {args[:2]} exited {proc.returncode}: {log_text[-3000:]}"
        return log_text

    def migrate(self, env: dict[str, str]) -> None:
        self._run_once(env, "migrate")

    def manage(self, env: dict[str, str], *args: str, image: str = "") -> str:
        return self._run_once(env, "manage", *args, image=image)

    def seed_demo(self, env: dict[str, str]) -> str:
        return self._run_once(env, "seed-demo")

    def stop_redis(self) -> None:
        podman("stop", "-t", "2", self.redis_name)

    def start_redis(self) -> None:
        podman("start", self.redis_name)
        wait_for_port(self.redis_port, timeout=30)

    @property
    def redis_address(self) -> str:
        return f"127.0.0.1:{self.redis_port}"

    def pod_logs(self, pod: Pod) -> str:
        return podman("logs", "--tail", "200", pod.handle, check=False)

    def close(self) -> None:
        for name in reversed(self.containers):
            podman("rm", "-f", "-t", "5", name, check=False, timeout=60)
        podman("network", "rm", "-f", self.network, check=False)
        leftovers = podman("ps", "-a", "--filter", f"name={self.prefix}", "--format", "{{.Names}}")
        assert not leftovers, f"containers left behind: {leftovers}"


# -- the stack ------------------------------------------------------------------------------------
@dataclass
class LocalStack:
    """A `scenarios.Stack` on this machine."""

    name: str
    chart: Chart
    backend: ProcessBackend | PodmanBackend
    namespace: str
    api_key: str = ""
    prometheus: PrometheusAPI | None = None
    host_header: str | None = None
    app_pods: list[Pod] = field(default_factory=list)
    extra_pods: list[Pod] = field(default_factory=list)  # outside the Service's rotation
    redis_exporter: bool = False
    pod_serial: int = 0
    on_pods_changed: Callable[[], None] = lambda: None  # keeps Prometheus' targets current

    @property
    def base_urls(self) -> list[str]:
        http_port = self.chart.container_port("http")
        return [f"http://127.0.0.1:{pod.port_map[http_port]}" for pod in self.app_pods]

    def chat_client(self, base_url: str) -> ChatClient:
        return ChatClient(base_url, self.api_key, host=self.host_header)

    def pods(self) -> list[str]:
        return [pod.name for pod in self.app_pods]

    def _pod(self, name: str) -> Pod:
        return next(pod for pod in self.app_pods if pod.name == name)

    def metrics_url(self, pod: str) -> str:
        endpoint = self.chart.app_metrics_endpoint()
        local = self._pod(pod).port_map[endpoint.container_port]
        return f"http://127.0.0.1:{local}{endpoint.path}"

    def readiness(self, pod: str) -> Response:
        spec = self.chart.probe("readiness")
        target = self._pod(pod)
        url = f"http://127.0.0.1:{target.port_map[spec.port]}{spec.path}?format=json"
        return request(url, headers={"Host": f"{target.pod_ip}:{spec.port}"}, timeout=10)

    def ready(self) -> dict[str, bool]:
        return {pod.name: pod.prober.ready for pod in self.app_pods}

    def wait_ready(self, value: bool, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for pod in self.app_pods:
            self.wait_pod(pod, value, max(1.0, deadline - time.monotonic()))

    def wait_pod(self, pod: Pod, value: bool, timeout: float) -> None:
        """One pod's Ready becomes `value`; on timeout the error carries the pod's log."""
        try:
            pod.prober.wait_ready(value, timeout)
        except TimeoutError as error:
            tail = self.backend.pod_logs(pod)[-3000:]
            raise TimeoutError(f"{error}\n--- log of {pod.name}:\n{tail}") from None

    def stop_redis(self) -> None:
        self.backend.stop_redis()

    def invalidate_catalog(self) -> None:
        env = container_env(self.chart, "invalidate", "10.0.0.1", self.namespace)
        self.backend.manage(env, "catalog_cache", "invalidate", "demo")

    def start_redis(self) -> None:
        self.backend.start_redis()

    def issue_api_key(self, name: str) -> str:
        env = container_env(self.chart, "issue-key", "10.0.0.1", self.namespace)
        out = self.backend.manage(env, "issue_api_key", "demo", "--name", name)
        return next(line.strip() for line in out.splitlines() if line.startswith("wz_"))

    def background_client(self, seconds: float) -> BackgroundClient:
        clients = [self.chat_client(url) for url in self.base_urls]
        return BackgroundClient(clients, seconds).start()

    # -- life cycle ------------------------------------------------------------------------
    def _start_pod(self, chart: Chart, name: str, image: str = "") -> Pod:
        ports = [p["containerPort"] for p in chart.app_container().get("ports", [])]
        pod_ip = self.backend.new_pod_ip()
        env = container_env(chart, name, pod_ip, self.namespace)
        pod = self.backend.run_app(name, pod_ip, env, ports, image)
        pod.prober = PodProber(name, pod_ip, chart.probes(), pod.port_map).start()
        return pod

    def start_pods(self, replicas: int, image: str = "") -> None:
        for _ in range(replicas):
            self.app_pods.append(self.new_pod(image))
        log(f"{self.name}: started {self.pods()}")

    def new_pod(self, image: str = "") -> Pod:
        """One more pod of the Deployment (of `image`, default the app image), not yet in the
        Service's rotation."""
        self.pod_serial += 1
        deployment = self.chart.app_deployment()["metadata"]["name"]
        return self._start_pod(self.chart, f"{deployment}-{self.pod_serial}", image)

    def retire_pod(self, pod: Pod, drain_seconds: float = 1.0) -> None:
        """Out of the rotation first (endpoints), then SIGTERM after a drain, as the kubelet does
        with a preStop sleep."""
        self.app_pods.remove(pod)
        self.on_pods_changed()
        time.sleep(drain_seconds)
        if pod.prober:
            pod.prober.stop()
        self.backend.stop_app(pod)

    @contextmanager
    def extra_pod(self, chart: Chart, suffix: str, image: str = "") -> Iterator[Pod]:
        """One more pod rendered from other values (of `image`, default the app image), scraped
        like the others but outside the Service's rotation (the scenarios' pods() omit it)."""
        name = f"{chart.app_deployment()['metadata']['name']}-{suffix}"
        pod = self._start_pod(chart, name, image)
        self.extra_pods.append(pod)
        self.on_pods_changed()
        try:
            yield pod
        finally:
            pod.prober.stop()
            self.backend.stop_app(pod)
            self.extra_pods.remove(pod)
            self.on_pods_changed()

    def url(self, pod: Pod, port_name: str = "http") -> str:
        return f"http://127.0.0.1:{pod.port_map[self.chart.container_port(port_name)]}"

    def stop_pods(self) -> None:
        for pod in self.app_pods:
            if pod.prober:
                pod.prober.stop()
            self.backend.stop_app(pod)
        self.app_pods.clear()

    def reload_pods(self) -> None:
        for pod in self.app_pods:
            self.backend.reload_app(pod)

    def restarts(self) -> list[str]:
        return [
            f"{pod.name}: {r.probe} failed ({r.detail})" for pod in self.app_pods
            for r in pod.prober.restarts
        ]  # fmt: skip

    def logs(self) -> str:
        return "\n".join(
            f"--- {pod.name}\n{self.backend.pod_logs(pod)[-3000:]}" for pod in self.app_pods
        )


def redis_password_from(url: str | None) -> str | None:
    if not url:
        return None
    return urllib.parse.urlsplit(url).password
