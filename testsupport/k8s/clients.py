"""HTTP clients the scenarios use: the assistant API, a metrics scrape, the Prometheus API.

Standard library only (plus prometheus_client's text parser), so the kind suite runs from the
same venv as the twin.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

_T0 = time.monotonic()
_pytest_config = None  # set by k8s-tests/conftest.py: progress goes to pytest's terminal


def log(message: str) -> None:
    """A progress line, shown live on pytest's terminal even while it captures output."""
    line = f"[{time.monotonic() - _T0:7.1f}s] {message}"
    config = _pytest_config
    reporter = config and config.pluginmanager.get_plugin("terminalreporter")
    capture = config and config.pluginmanager.get_plugin("capturemanager")
    if reporter and capture:
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)
        return
    stream = sys.__stderr__ or sys.stderr
    stream.write(line + "\n")
    stream.flush()


@dataclass
class Response:
    status: int
    body: bytes
    seconds: float

    def json(self) -> dict:
        return json.loads(self.body.decode())


def request(
    url: str,
    *,
    method: str = "GET",
    data: dict | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> Response:
    """One HTTP request; returns the status whatever it is (connection errors raise OSError)."""
    if not url.startswith("http://127.0.0.1:") and not url.startswith("http://localhost:"):
        raise ValueError(f"the suites only talk to loopback, not {url}")
    body = json.dumps(data).encode() if data is not None else None
    all_headers = {"Accept": "application/json", **(headers or {})}
    if body is not None:
        all_headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=body, headers=all_headers, method=method)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Response(resp.status, resp.read(), time.monotonic() - started)
    except urllib.error.HTTPError as exc:
        return Response(exc.code, exc.read(), time.monotonic() - started)


@dataclass
class ChatClient:
    base_url: str
    api_key: str
    host: str | None = None  # Host header (a name ALLOWED_HOSTS accepts), default the URL's
    timeout: float = 15.0

    def _headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        if self.host:
            headers["Host"] = self.host
        return headers

    def chat(self, message: str, conversation_id: str | None = None) -> Response:
        payload: dict = {"message": message}
        if conversation_id:
            payload["conversation_id"] = conversation_id
        return request(
            f"{self.base_url}/api/v1/chat",
            method="POST",
            data=payload,
            headers=self._headers(),
            timeout=self.timeout,
        )

    def stream_chat(self, message: str) -> Response:
        """The OpenAI-compatible API with `stream: true`, the model read from /v1/models; the
        Response holds the whole event stream."""
        models = request(
            f"{self.base_url}/v1/models", headers=self._headers(), timeout=self.timeout
        )
        if models.status != 200:
            return models
        payload = {
            "model": models.json()["data"][0]["id"],
            "messages": [{"role": "user", "content": message}],
            "stream": True,
        }
        return request(
            f"{self.base_url}/v1/chat/completions",
            method="POST",
            data=payload,
            headers={**self._headers(), "Accept": "text/event-stream"},
            timeout=self.timeout,
        )

    def services(self) -> Response:
        return request(
            f"{self.base_url}/api/v1/services",
            headers=self._headers(),
            timeout=self.timeout,
        )


Sample = tuple[str, tuple[tuple[str, str], ...]]


def scrape(url: str, timeout: float = 10.0) -> dict[Sample, float]:
    """Scrape a /metrics endpoint into {(sample name, sorted labels): value}."""
    response = request(url, headers={"Accept": "text/plain"}, timeout=timeout)
    if response.status != 200:
        raise AssertionError(f"{url} answered {response.status}: {response.body[:300]!r}")
    samples: dict[Sample, float] = {}
    for family in text_string_to_metric_families(response.body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def total(samples: dict[Sample, float], name: str, **labels: str) -> float:
    """Sum of every sample called `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, lbls), v in samples.items() if n == name and wanted <= set(lbls))


class PrometheusAPI:
    """The HTTP API of a Prometheus server (reached on loopback)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _get(self, path: str, **params: str) -> dict:
        query = urllib.parse.urlencode(params)
        response = request(f"{self.url}{path}?{query}", timeout=15)
        payload = response.json()
        if payload.get("status") != "success":
            raise AssertionError(f"prometheus {path} {params}: {payload}")
        return payload["data"]

    def query(self, expr: str) -> list[dict]:
        """Instant query; returns the result list (vector) or [scalar] wrapped as one sample."""
        data = self._get("/api/v1/query", query=expr)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        if data["resultType"] == "matrix":
            return [{"metric": r["metric"], "values": r["values"]} for r in data["result"]]
        return data["result"]

    def values(self, expr: str) -> list[float]:
        return [float(sample["value"][1]) for sample in self.query(expr)]

    def wait_for(self, expr: str, predicate, timeout: float, what: str = "") -> list[float]:
        """Poll an expression until predicate(values) holds; returns those values."""
        deadline = time.monotonic() + timeout
        values: list[float] = []
        while time.monotonic() < deadline:
            values = self.values(expr)
            if predicate(values):
                return values
            time.sleep(1)
        raise AssertionError(f"{what or expr}: still {values} after {timeout:.0f}s")

    def targets(self) -> list[dict]:
        return self._get("/api/v1/targets")["activeTargets"]

    def alerts(self) -> list[dict]:
        return self._get("/api/v1/alerts")["alerts"]

    def rule_groups(self) -> list[dict]:
        return self._get("/api/v1/rules")["groups"]


def label_values(api: PrometheusAPI, label: str, match: str | None = None) -> list[str]:
    """Grafana's label_values(): the values of a label, optionally among a selector's series."""
    params = {"match[]": match} if match else {}
    return api._get(f"/api/v1/label/{label}/values", **params)
