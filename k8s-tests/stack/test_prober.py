"""The twin's kubelet-like prober keeps the kubelet's rules: thresholds, periods, timeouts,
the Host header, and startup gating. Against a small loopback HTTP server whose answer the test
switches."""

from __future__ import annotations

import http.server
import threading
import time

import pytest

from testsupport.k8s.prober import PodProber, ProbeSpec, probe_once

POD_IP = "10.244.3.7"


class Target:
    """What the fake pod answers: a status per path, and an optional delay."""

    def __init__(self) -> None:
        self.status = {"/ready": 200, "/live": 200, "/startup": 200}
        self.delay = 0.0
        self.hosts: list[str] = []
        self.agents: list[str] = []


@pytest.fixture
def target():
    state = Target()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            state.hosts.append(self.headers["Host"])
            state.agents.append(self.headers["User-Agent"])
            time.sleep(state.delay)
            self.send_response(state.status.get(self.path, 404))
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.port = server.server_address[1]
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def spec(kind: str, path: str, **kwargs) -> ProbeSpec:
    defaults = {"port": 8000, "period": 0.1, "timeout": 0.2}
    return ProbeSpec(kind=kind, path=path, **{**defaults, **kwargs})


def test_probe_sends_the_pod_ip_as_host_and_reads_the_status(target):
    ok, detail = probe_once(spec("readiness", "/ready"), POD_IP, target.port)
    assert ok, detail
    assert target.hosts == [f"{POD_IP}:8000"]
    assert target.agents[0].startswith("kube-probe/")
    target.status["/ready"] = 503
    assert probe_once(spec("readiness", "/ready"), POD_IP, target.port) == (False, "HTTP 503")
    target.status["/ready"] = 302  # the kubelet counts 200-399 as success
    assert probe_once(spec("readiness", "/ready"), POD_IP, target.port)[0]


def test_timeout_is_a_failure(target):
    target.delay = 0.5
    ok, detail = probe_once(spec("readiness", "/ready", timeout=0.1), POD_IP, target.port)
    assert not ok
    assert "timed out" in detail


def test_thresholds_decide_when_ready_flips(target):
    readiness = spec("readiness", "/ready", success_threshold=3, failure_threshold=4)
    prober = PodProber("pod", POD_IP, [readiness], {8000: target.port}).start()
    try:
        assert not prober.ready  # readiness starts as failure
        began = time.monotonic()
        prober.wait_ready(True, timeout=5)
        assert time.monotonic() - began >= 2 * readiness.period  # three successes needed
        target.status["/ready"] = 500
        failing = time.monotonic()
        prober.wait_ready(False, timeout=5)
        assert time.monotonic() - failing >= 3 * readiness.period  # four failures needed
        probes = [ok for _, ok, _ in prober.results["readiness"]]
        assert probes[-4:] == [False] * 4
        assert [t.value for t in prober.transitions] == [True, False]
    finally:
        prober.stop()


def test_readiness_and_liveness_wait_for_the_startup_probe(target):
    target.status["/startup"] = 500
    probes = [
        spec("startup", "/startup", failure_threshold=100),
        spec("readiness", "/ready"),
        spec("liveness", "/live"),
    ]
    prober = PodProber("pod", POD_IP, probes, {8000: target.port}).start()
    try:
        time.sleep(0.5)
        assert "readiness" not in prober.results
        assert "liveness" not in prober.results
        target.status["/startup"] = 200
        prober.wait_ready(True, timeout=5)
        assert prober.state["startup"]
    finally:
        prober.stop()


def test_liveness_failures_are_counted_as_restarts(target):
    target.status["/live"] = 500
    liveness = spec("liveness", "/live", failure_threshold=2)
    prober = PodProber("pod", POD_IP, [liveness], {8000: target.port}).start()
    try:
        deadline = time.monotonic() + 5
        while not prober.restarts and time.monotonic() < deadline:
            time.sleep(0.05)
        assert prober.restarts, "two liveness failures must restart the container"
    finally:
        prober.stop()


def test_named_ports_resolve_through_the_container():
    container = {
        "name": "app",
        "ports": [{"name": "http", "containerPort": 8000}],
        "readinessProbe": {
            "httpGet": {"path": "/health/ready", "port": "http"},
            "periodSeconds": 10,
            "timeoutSeconds": 5,
        },
    }
    probe = ProbeSpec.from_container(container, "readiness")
    assert (probe.port, probe.period, probe.timeout) == (8000, 10, 5)
    assert (probe.success_threshold, probe.failure_threshold) == (1, 3)  # API defaults
