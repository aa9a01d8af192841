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
import urllib.parse
from pathlib import Path

import pytest
import yaml
from chartinfo import Chart, render
from clients import PrometheusAPI, log
from suite import RULE_INTERVAL, SOFT, VALUES_FILES
from tests.servers import PrometheusServer, find_binary, free_port, wait_for_port
from twin import (
    LocalStack,
    PodmanBackend,
    ProcessBackend,
    container_env,
    podman_usable,
    redis_password_from,
)

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


def redis_service_host(chart: Chart) -> str:
    """The host name the chart's REDIS_URL points at (its Redis Service)."""
    env = container_env(chart, "probe", "10.0.0.1", chart.namespace)
    return urllib.parse.urlsplit(env.get("REDIS_URL", "")).hostname or "redis"


@pytest.fixture(scope="session")
def soft_chart() -> Chart:
    return render(VALUES_FILES, SOFT)


@pytest.fixture(scope="session")
def twin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("twin")


@pytest.fixture(scope="session")
def backend(soft_chart: Chart, twin_dir: Path):
    mode = choose_mode()
    env = container_env(soft_chart, "probe", "10.0.0.1", soft_chart.namespace)
    password = redis_password_from(env.get("REDIS_URL"))
    if mode == "podman":
        backend = PodmanBackend(twin_dir, password, redis_service_host(soft_chart))
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
        backend = ProcessBackend(twin_dir, password)
    started = time.monotonic()
    try:
        backend.start_services()
        yield backend
    finally:
        backend.close()
    log(f"twin: {mode} backend closed after {time.monotonic() - started:.0f}s")


def write_prometheus_files(chart: Chart, directory: Path, pods: list) -> tuple[str, Path]:
    """prometheus.yml from the rendered ServiceMonitor, rules.yml from the PrometheusRule."""
    directory.mkdir(parents=True, exist_ok=True)
    targets = directory / "targets.json"
    endpoint = chart.metrics_endpoints()[0]
    update_targets(chart, targets, pods)
    rules = directory / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": chart.rule_groups(interval=RULE_INTERVAL)}))
    check = subprocess.run(
        [find_binary("promtool"), "check", "rules", str(rules)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, (
        f"promtool rejects the rendered rules: {check.stdout}{check.stderr}"
    )
    config = {
        "global": {"scrape_interval": endpoint.interval, "evaluation_interval": RULE_INTERVAL},
        "rule_files": [str(rules)],
        "scrape_configs": [endpoint.file_sd_scrape_config(targets)],
    }
    return yaml.safe_dump(config), targets


def update_targets(chart: Chart, targets: Path, pods: list) -> None:
    endpoint = chart.metrics_endpoints()[0]
    content = endpoint.file_sd_targets(
        [(p.name, p.pod_ip, p.port_map[endpoint.container_port]) for p in pods]
    )
    tmp = targets.with_suffix(".tmp")
    tmp.write_text(json.dumps(content))
    tmp.replace(targets)


def start_redis_exporter(backend, directory: Path) -> tuple[subprocess.Popen, int] | None:
    """A real redis_exporter (Debian's prometheus-redis-exporter) on loopback, if installed."""
    binary = shutil.which(REDIS_EXPORTER) or shutil.which("redis_exporter")
    if not binary:
        return None
    port = free_port()
    env = {**os.environ, "REDIS_ADDR": f"redis://{backend.redis_address}"}
    if getattr(backend, "redis_password", None):
        env["REDIS_PASSWORD"] = backend.redis_password
    log_file = (directory / "redis_exporter.log").open("w")
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
    env = container_env(soft_chart, "migrate", "10.0.0.1", soft_chart.namespace)
    started = time.monotonic()
    backend.migrate(env)
    seeded = backend.seed_demo(env)
    keys = [line.split("=", 1)[1] for line in seeded.splitlines() if "WAZEN_DEMO_API_KEY=" in line]
    assert keys, f"seed-demo printed no WAZEN_DEMO_API_KEY: {seeded[-500:]}"
    twin.api_key = keys[-1].strip()
    log(f"twin: migrated and seeded in {time.monotonic() - started:.0f}s")
    prometheus = None
    exporter = None
    try:
        twin.start_pods(min(MAX_REPLICAS, soft_chart.app_replicas()))
        config, targets = write_prometheus_files(soft_chart, twin_dir / "prometheus", twin.app_pods)
        exporter = start_redis_exporter(backend, twin_dir)
        if exporter:
            extra = yaml.safe_load(config)
            extra["scrape_configs"].append(
                {
                    "job_name": "redis-exporter",
                    "static_configs": [{"targets": [f"127.0.0.1:{exporter[1]}"]}],
                }
            )
            config = yaml.safe_dump(extra)
        prometheus = PrometheusServer(twin_dir / "prometheus", config).start()
        twin.prometheus = PrometheusAPI(prometheus.url)
        twin.targets_file = targets
        twin.redis_exporter = exporter is not None
        yield twin
    finally:
        if twin.app_pods and any(not r for r in twin.ready().values()):
            log(twin.logs())
        twin.stop_pods()
        if prometheus:
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
        update_targets(chart, stack.targets_file, stack.app_pods)

    yield roll
    if stack.chart is not original:
        roll(original)
        stack.wait_ready(True, timeout=180)
