"""Fixtures of the local twin: one stack for the session (soft readiness), re-rolled with
health.cacheCriticalForReadiness=true for the hard-readiness scenario.

Every server is stopped at the end: the app pods, Redis, PostgreSQL, Prometheus (and
redis_exporter when the dashboards need it), and the podman network and containers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from testsupport.k8s.chartinfo import Chart, render
from testsupport.k8s.clients import PrometheusAPI, log
from testsupport.k8s.suite import RULE_INTERVAL, SOFT
from testsupport.k8s.twin import (
    LocalStack,
    PodmanBackend,
    ProcessBackend,
    container_env,
    podman_usable,
)
from testsupport.servers import PrometheusServer, find_binary, free_port, wait_for_port

MAX_REPLICAS = 2  # two pods show the sum over pods; more only costs CPU on 2 cores
REDIS_EXPORTER = "prometheus-redis-exporter"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.stack)
            item.add_marker(pytest.mark.slow)


def choose_mode() -> str:
    wanted = os.environ.get("WAZEN_STACK_MODE", "auto")
    if wanted == "process":
        return "process"
    usable, why = podman_usable()
    if wanted == "podman":
        if not usable:
            pytest.fail(f"WAZEN_STACK_MODE=podman but {why}")
        return "podman"
    if not usable:
        log(f"twin: running the app as gunicorn processes ({why})")
        return "process"
    return "podman"


@pytest.fixture(scope="session")
def soft_chart() -> Chart:
    return render(*SOFT)


@pytest.fixture(scope="session")
def twin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("twin")


@pytest.fixture(scope="session")
def backend(soft_chart: Chart, twin_dir: Path):
    mode = choose_mode()
    env = container_env(soft_chart, "probe", "10.0.0.1", soft_chart.namespace)
    if mode == "podman":
        backend = PodmanBackend(twin_dir, env)
        pod_spec = soft_chart.app_deployment()["spec"]["template"]["spec"]
        backend.chart_security = {
            **pod_spec.get("securityContext", {}),
            **soft_chart.app_container().get("securityContext", {}),
        }
        volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
        backend.writable_paths = [
            m["mountPath"]
            for m in soft_chart.app_container().get("volumeMounts", [])
            if "emptyDir" in volumes.get(m["name"], {})
        ]
    else:
        backend = ProcessBackend(twin_dir, env)
    started = time.monotonic()
    try:
        backend.start_services()
        yield backend
    finally:
        backend.close()
    log(f"twin: {mode} backend closed after {time.monotonic() - started:.0f}s")


class TwinPrometheus:
    """A real Prometheus configured from the rendered chart: one scrape job per ServiceMonitor
    endpoint (path, interval, timeout, relabelings as rendered; targets labelled as the
    operator labels them) and the PrometheusRule groups as its rule file."""

    def __init__(self, chart: Chart, directory: Path, exporter_port: int | None) -> None:
        self.directory = directory
        self.exporter_port = exporter_port
        self.server: PrometheusServer | None = None
        directory.mkdir(parents=True, exist_ok=True)
        self.chart = chart

    def _targets_file(self, endpoint) -> Path:
        return self.directory / f"targets-{endpoint.service_monitor}-{endpoint.index}.json"

    def update(self, chart: Chart, app_pods: list, redis_pod_ip: str) -> None:
        """Point each job at the pods behind it (rewritten atomically; Prometheus watches)."""
        app = chart.app_deployment()["metadata"]["name"]
        for endpoint in chart.metrics_endpoints():
            if endpoint.workload == app:
                pods = [(p.name, p.pod_ip, p.port_map[endpoint.container_port]) for p in app_pods]
            else:
                assert self.exporter_port, (
                    f"{endpoint.service_monitor} scrapes {endpoint.workload}: install "
                    f"{REDIS_EXPORTER} (make stack-test does)"
                )
                pods = [(f"{endpoint.workload}-0", redis_pod_ip, self.exporter_port)]
            path = self._targets_file(endpoint)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(endpoint.file_sd_targets(pods)))
            tmp.replace(path)

    def config(self) -> str:
        rules = self.directory / "rules.yml"
        rules.write_text(yaml.safe_dump({"groups": self.chart.rule_groups(interval=RULE_INTERVAL)}))
        check = subprocess.run(
            [find_binary("promtool"), "check", "rules", str(rules)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, f"promtool rejects the rules: {check.stdout}{check.stderr}"
        endpoints = self.chart.metrics_endpoints()
        return yaml.safe_dump(
            {
                "global": {"evaluation_interval": RULE_INTERVAL},
                "rule_files": [str(rules)],
                "scrape_configs": [
                    e.file_sd_scrape_config(self._targets_file(e)) for e in endpoints
                ],
            }
        )

    def start(self) -> PrometheusAPI:
        self.server = PrometheusServer(self.directory, self.config()).start()
        return PrometheusAPI(self.server.url)

    def stop(self) -> None:
        if self.server:
            self.server.stop()


def start_redis_exporter(backend, directory: Path) -> tuple[subprocess.Popen, int] | None:
    """A real redis_exporter (Debian's prometheus-redis-exporter) on loopback, if installed."""
    binary = shutil.which(REDIS_EXPORTER) or shutil.which("redis_exporter")
    if not binary:
        return None
    port = free_port()
    env = {**os.environ, "REDIS_ADDR": f"redis://{backend.redis_address}"}
    if backend.redis_password:
        env["REDIS_PASSWORD"] = backend.redis_password
    with (directory / "redis_exporter.log").open("w") as log_file:
        process = subprocess.Popen(
            [binary, f"-web.listen-address=127.0.0.1:{port}"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    wait_for_port(port)
    return process, port


@pytest.fixture(scope="session")
def stack(soft_chart: Chart, backend, twin_dir: Path):
    """The twin with the soft-readiness values: migrated, seeded, pods Ready, Prometheus up."""
    mode = backend.mode
    twin = LocalStack(f"twin/{mode}", soft_chart, backend, soft_chart.namespace)
    twin.host_header = soft_chart.app_deployment()["metadata"]["name"]  # the HTTP Service name
    env = container_env(soft_chart, "migrate", "10.0.0.1", soft_chart.namespace)
    started = time.monotonic()
    backend.migrate(env)
    seeded = backend.seed_demo(env)
    keys = [line.split("=", 1)[1] for line in seeded.splitlines() if "WAZEN_DEMO_API_KEY=" in line]
    assert keys, f"seed-demo printed no WAZEN_DEMO_API_KEY: {seeded[-500:]}"
    twin.api_key = keys[-1].strip()
    log(f"twin: migrated and seeded in {time.monotonic() - started:.0f}s")
    exporter = start_redis_exporter(backend, twin_dir)
    prometheus = TwinPrometheus(soft_chart, twin_dir / "prometheus", exporter and exporter[1])
    try:
        twin.start_pods(min(MAX_REPLICAS, soft_chart.app_replicas()))
        prometheus.update(soft_chart, twin.app_pods, backend.redis_pod_ip)
        twin.prometheus = prometheus.start()
        twin.redis_exporter = exporter is not None
        twin.on_pods_changed = lambda: prometheus.update(
            twin.chart, twin.app_pods + twin.extra_pods, backend.redis_pod_ip
        )
        yield twin
    finally:
        if twin.app_pods and not all(twin.ready().values()):
            log(twin.logs())
        twin.stop_pods()
        prometheus.stop()
        if exporter:
            exporter[0].terminate()
            exporter[0].wait(timeout=10)


@pytest.fixture
def reroll(stack: LocalStack):
    """Replace the pods with ones rendered from other values (what `helm upgrade` rolls out),
    keeping Prometheus' targets current; restores the session's chart afterwards."""
    original = stack.chart

    def roll(chart: Chart) -> None:
        stack.stop_pods()
        stack.chart = chart
        stack.start_pods(min(MAX_REPLICAS, chart.app_replicas()))
        stack.on_pods_changed()

    yield roll
    if stack.chart is not original:
        roll(original)
        stack.wait_ready(True, timeout=180)
