"""A small kubelet-like prober for the local twin: the probes of the rendered Deployment, run as
the kubelet runs them, against a pod that is really a loopback port.

What it copies from the kubelet (pkg/kubelet/prober): an httpGet probe is a GET to
`scheme://<pod ip>:<port><path>` with `User-Agent: kube-probe/<version>`, `Accept: */*`, the
probe's own `httpHeaders`, and the Host header `<pod ip>:<port>`; it succeeds on 200-399 and fails
on any other status, a refused connection or no answer within `timeoutSeconds`. Each probe runs
every `periodSeconds` after `initialDelaySeconds`; its result only changes after
`successThreshold` consecutive successes or `failureThreshold` consecutive failures. Readiness
starts as failure, liveness as success; neither runs before the startup probe has succeeded.

What differs: the TCP connection goes to 127.0.0.1:<the port the pod's port is published on>; the
pod IP is only the Host header (nothing but loopback is ever contacted). A liveness or startup
failure is recorded as a "restart" event instead of restarting anything.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field

KUBELET_USER_AGENT = "kube-probe/1.35"


@dataclass(frozen=True)
class ProbeSpec:
    """One probe of a container, as the Kubernetes API defaults it."""

    kind: str  # startup / readiness / liveness
    path: str
    port: int  # the container port (names already resolved)
    scheme: str = "HTTP"
    headers: tuple[tuple[str, str], ...] = ()
    initial_delay: float = 0
    period: float = 10
    timeout: float = 1
    success_threshold: int = 1
    failure_threshold: int = 3

    @classmethod
    def from_container(cls, container: dict, kind: str) -> ProbeSpec | None:
        """Read `<kind>Probe` from a pod template container, with the API server's defaults."""
        probe = container.get(f"{kind}Probe")
        if not probe:
            return None
        http_get = probe.get("httpGet")
        if http_get is None:
            raise ValueError(f"{kind}Probe of {container['name']} is not httpGet: {probe}")
        port = http_get["port"]
        if isinstance(port, str) and not port.isdigit():
            named = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
            if port not in named:
                raise ValueError(f"{kind}Probe port {port!r} is not a port of {container['name']}")
            port = named[port]
        return cls(
            kind=kind,
            path=http_get.get("path", "/"),
            port=int(port),
            scheme=http_get.get("scheme", "HTTP"),
            headers=tuple((h["name"], h["value"]) for h in http_get.get("httpHeaders", [])),
            initial_delay=probe.get("initialDelaySeconds", 0),
            period=probe.get("periodSeconds", 10),
            timeout=probe.get("timeoutSeconds", 1),
            success_threshold=probe.get("successThreshold", 1),
            failure_threshold=probe.get("failureThreshold", 3),
        )


def probe_once(
    spec: ProbeSpec, pod_ip: str, local_port: int, connect_host: str = "127.0.0.1"
) -> tuple[bool, str]:
    """One httpGet probe: (success, detail). Connects to loopback, names the pod in Host."""
    if spec.scheme != "HTTP":
        raise ValueError(f"only HTTP probes are supported here, not {spec.scheme}")
    connection = http.client.HTTPConnection(connect_host, local_port, timeout=spec.timeout)
    try:
        connection.putrequest("GET", spec.path, skip_host=True, skip_accept_encoding=True)
        headers = {"Host": f"{pod_ip}:{spec.port}", "User-Agent": KUBELET_USER_AGENT}
        headers["Accept"] = "*/*"
        headers.update(dict(spec.headers))
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        response.read(10 * 1024)
    except (OSError, http.client.HTTPException) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()
    return 200 <= response.status < 400, f"HTTP {response.status}"


@dataclass
class Transition:
    at: float  # time.monotonic()
    probe: str
    value: bool
    detail: str


@dataclass
class PodProber:
    """Runs a pod's startup, readiness and liveness probes in threads, like one kubelet worker
    per probe, and records every state change."""

    name: str
    pod_ip: str
    specs: list[ProbeSpec]
    port_map: dict[int, int]  # container port -> local (loopback) port
    state: dict[str, bool] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)
    restarts: list[Transition] = field(default_factory=list)
    results: dict[str, list[tuple[float, bool, str]]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> PodProber:
        kinds = {spec.kind for spec in self.specs}
        with self._changed:
            # The kubelet's initial results: readiness Failure, liveness Success, and a missing
            # startup probe counts as started.
            self.state = {"startup": "startup" not in kinds, "readiness": False, "liveness": True}
        for spec in self.specs:
            thread = threading.Thread(
                target=self._worker, args=(spec,), name=f"probe-{self.name}-{spec.kind}"
            )
            thread.daemon = True
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads.clear()

    @property
    def ready(self) -> bool:
        with self._changed:
            return self.state["startup"] and self.state["readiness"]

    def _set(self, kind: str, value: bool, detail: str) -> None:
        with self._changed:
            if self.state.get(kind) != value:
                self.state[kind] = value
                self.transitions.append(Transition(time.monotonic(), kind, value, detail))
                self._changed.notify_all()

    def _worker(self, spec: ProbeSpec) -> None:
        local_port = self.port_map[spec.port]
        if self._stop.wait(spec.initial_delay):
            return
        last: bool | None = None
        run = 0
        while not self._stop.is_set():
            started = time.monotonic()
            gated = spec.kind != "startup" and not self.state["startup"]
            if spec.kind == "startup" and self.state["startup"]:
                return  # the kubelet stops the startup worker once it succeeded
            if not gated:
                ok, detail = probe_once(spec, self.pod_ip, local_port)
                self.results.setdefault(spec.kind, []).append((started, ok, detail))
                if ok == last:
                    run += 1
                else:
                    last, run = ok, 1
                threshold = spec.success_threshold if ok else spec.failure_threshold
                if run >= threshold:
                    if not ok and spec.kind in ("liveness", "startup"):
                        self.restarts.append(Transition(time.monotonic(), spec.kind, ok, detail))
                        run = 0  # a restarted container starts counting again
                    else:
                        self._set(spec.kind, ok, detail)
            self._stop.wait(max(0.0, spec.period - (time.monotonic() - started)))

    def wait_ready(self, value: bool, timeout: float) -> float:
        """Wait until Ready == value; returns the monotonic time it became so."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while (self.state["startup"] and self.state["readiness"]) != value:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{self.name}: Ready did not become {value} within {timeout:.0f}s; "
                        f"last results: {self.last_results()}"
                    )
                self._changed.wait(left)
            changes = [t.at for t in self.transitions if t.probe in ("readiness", "startup")]
            return changes[-1] if changes else time.monotonic()

    def ready_changes_since(self, since: float) -> list[Transition]:
        with self._changed:
            return [t for t in self.transitions if t.at >= since and t.probe == "readiness"]

    def last_results(self, count: int = 4) -> dict[str, list[str]]:
        return {
            kind: [f"{'ok' if ok else 'FAIL'} {detail}" for _, ok, detail in results[-count:]]
            for kind, results in self.results.items()
        }
