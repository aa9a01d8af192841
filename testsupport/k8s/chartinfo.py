"""What the suites read from the rendered chart: the app Deployment (its probes, ports and env),
the Service and ServiceMonitor that Prometheus scrapes, the PrometheusRule groups, the Redis
workload and the Grafana dashboards.

Both stand-ups use it, so the kind cluster and the local twin scrape, probe and alert exactly as
the chart says; nothing here restates a path, a port or an interval by hand.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from testsupport import paths
from testsupport.chart import render as chart_render
from testsupport.k8s.prober import ProbeSpec

ROOT = paths.REPO  # the checkout: the stand-ups run its app/, .tools/ and git
CHART_DIR = paths.CHART_DIR

DASHBOARD_DIR = CHART_DIR / "dashboards"
READINESS_PATH = "/health/ready"  # docs/runtime-contract.md


def render(
    values_files: list[str] | None = None, set_values: dict | None = None, **kwargs
) -> Chart:
    """Render the chart with the chart suite's helper (helm template) and wrap the documents.
    values_files are relative to the chart ("ci/x-values.yaml") or absolute."""
    module = chart_render
    docs = module.render(values_files or [], set_values or {}, **kwargs)
    chart = Chart([d for d in docs if d], values_files or [], set_values or {})
    chart.release = kwargs.get("release", module.DEFAULT_RELEASE)
    chart.namespace = kwargs.get("namespace", module.DEFAULT_NAMESPACE)
    return chart


def _labels_match(selector: dict, labels: dict) -> bool:
    """matchLabels plus matchExpressions (In/NotIn/Exists/DoesNotExist)."""
    match = selector.get("matchLabels", selector if "matchExpressions" not in selector else {})
    if not all(labels.get(k) == v for k, v in match.items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if (
            (op == "In" and labels.get(key) not in values)
            or (op == "NotIn" and labels.get(key) in values)
            or (op == "Exists" and key not in labels)
            or (op == "DoesNotExist" and key in labels)
        ):
            return False
    return True


_RELABEL_KEYS = {
    "sourceLabels": "source_labels",
    "targetLabel": "target_label",
    "separator": "separator",
    "regex": "regex",
    "modulus": "modulus",
    "replacement": "replacement",
    "action": "action",
}


def relabel_configs(operator_relabelings: list[dict]) -> list[dict]:
    """prometheus-operator RelabelConfig (camelCase) -> Prometheus relabel_config."""
    return [
        {_RELABEL_KEYS[k]: (v.lower() if k == "action" else v) for k, v in r.items()}
        for r in operator_relabelings
    ]


@dataclass
class MetricsEndpoint:
    """One ServiceMonitor endpoint resolved down to the container port it reaches."""

    service_monitor: str
    namespace: str
    index: int
    service: str
    port_name: str
    container_port: int
    container: str
    workload: str
    workload_kind: str
    path: str
    interval: str
    scrape_timeout: str | None
    scheme: str
    job: str
    relabelings: list[dict] = field(default_factory=list)
    metric_relabelings: list[dict] = field(default_factory=list)
    service_selector: dict = field(default_factory=dict)

    @property
    def job_name(self) -> str:
        return f"serviceMonitor/{self.namespace}/{self.service_monitor}/{self.index}"

    def _base(self) -> dict:
        config = {
            "job_name": self.job_name,
            "metrics_path": self.path,
            "scheme": self.scheme,
            "scrape_interval": self.interval,
        }
        if self.scrape_timeout:
            config["scrape_timeout"] = self.scrape_timeout
        if self.metric_relabelings:
            config["metric_relabel_configs"] = relabel_configs(self.metric_relabelings)
        return config

    def file_sd_scrape_config(self, targets_file: Path) -> dict:
        """For the twin: the ServiceMonitor's job, its targets from a file the twin keeps
        current as pods come and go (Prometheus watches it)."""
        config = self._base()
        config["file_sd_configs"] = [{"files": [str(targets_file)]}]
        if self.relabelings:
            config["relabel_configs"] = relabel_configs(self.relabelings)
        return config

    def file_sd_targets(self, pods: list[tuple[str, str, int]]) -> list[dict]:
        """One target per pod (name, pod ip, local port), with the target labels
        prometheus-operator gives a ServiceMonitor target (namespace, service, pod, container,
        endpoint, job, instance=<pod ip>:<port>)."""
        return [
            {
                "targets": [f"127.0.0.1:{local_port}"],
                "labels": {
                    "namespace": self.namespace,
                    "service": self.service,
                    "pod": pod,
                    "container": self.container,
                    "endpoint": self.port_name,
                    "job": self.job,
                    "instance": f"{pod_ip}:{self.container_port}",
                },
            }
            for pod, pod_ip, local_port in pods
        ]

    def kubernetes_scrape_config(self) -> dict:
        """For the kind suite's plain Prometheus: Endpoints discovery narrowed to the Service the
        ServiceMonitor selects and its named port, labelled as the operator labels targets."""
        config = self._base()
        config["kubernetes_sd_configs"] = [
            {"role": "endpoints", "namespaces": {"names": [self.namespace]}}
        ]
        keep = [
            {
                "source_labels": [f"__meta_kubernetes_service_label_{_label_name(k)}"],
                "regex": regex_escape(v),
                "action": "keep",
            }
            for k, v in self.service_selector.get("matchLabels", {}).items()
        ]
        keep.append(
            {
                "source_labels": ["__meta_kubernetes_endpoint_port_name"],
                "regex": regex_escape(self.port_name),
                "action": "keep",
            }
        )
        label = {
            "namespace": "__meta_kubernetes_namespace",
            "service": "__meta_kubernetes_service_name",
            "pod": "__meta_kubernetes_pod_name",
            "container": "__meta_kubernetes_pod_container_name",
        }
        relabel = keep + [
            {"source_labels": [src], "target_label": dst} for dst, src in label.items()
        ]
        relabel += [
            {"target_label": "endpoint", "replacement": self.port_name},
            {"target_label": "job", "replacement": self.job},
        ]
        config["relabel_configs"] = relabel + relabel_configs(self.relabelings)
        return config


def _container_port(workload: dict, target: str | int) -> tuple[str, int]:
    """(container name, port number) that a Service targetPort reaches in a workload."""
    for container in workload["spec"]["template"]["spec"]["containers"]:
        for port in container.get("ports", []):
            if target in (port.get("name"), port["containerPort"]):
                return container["name"], port["containerPort"]
    raise AssertionError(f"{workload['metadata']['name']} has no container port {target}")


def regex_escape(value: str) -> str:
    """A literal for a Prometheus (RE2) regex: metacharacters escaped, nothing else."""
    return re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", value)


def _label_name(key: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", key)


class Chart:
    """The rendered documents of one `helm template`, with lookups the suites need."""

    def __init__(
        self,
        docs: list[dict],
        values_files: list[str] | None = None,
        set_values: dict | None = None,
    ) -> None:
        self.docs = docs
        self.values_files = values_files or []
        self.set_values = set_values or {}
        self.release = "wazen"
        self.namespace = "wazen"

    def keep_secrets_of(self, installed: Chart) -> Chart:
        """What `helm upgrade` renders over an installed release: the chart's generated
        secrets are read back with `lookup`, so they keep the installed values (`helm template`
        alone would generate new ones)."""
        current = {d["metadata"]["name"]: d for d in installed.of_kind("Secret")}
        for secret in self.of_kind("Secret"):
            old = current.get(secret["metadata"]["name"], {})
            for field_name in ("data", "stringData"):
                kept = old.get(field_name) or {}
                values = secret.get(field_name) or {}
                for key in values:
                    if key in kept:  # per key, as the chart's lookup keeps generated values
                        values[key] = kept[key]
        return self

    def of_kind(self, kind: str) -> list[dict]:
        return [d for d in self.docs if d.get("kind") == kind]

    def one(self, kind: str) -> dict:
        found = self.of_kind(kind)
        if len(found) != 1:
            names = [d["metadata"]["name"] for d in found]
            raise AssertionError(f"expected one {kind} in the rendered chart, found {names}")
        return found[0]

    # -- the assistant ----------------------------------------------------------------------
    def app_deployment(self) -> dict:
        """The Deployment whose container has the contract's readiness probe."""
        for deployment in self.of_kind("Deployment"):
            for container in deployment["spec"]["template"]["spec"]["containers"]:
                probe = container.get("readinessProbe", {}).get("httpGet", {})
                if probe.get("path", "").rstrip("/") == READINESS_PATH:
                    return deployment
        raise AssertionError(f"no Deployment probes {READINESS_PATH}")

    def app_container(self) -> dict:
        for container in self.app_deployment()["spec"]["template"]["spec"]["containers"]:
            probe = container.get("readinessProbe", {}).get("httpGet", {})
            if probe.get("path", "").rstrip("/") == READINESS_PATH:
                return container
        raise AssertionError("unreachable")

    def probes(self) -> list[ProbeSpec]:
        container = self.app_container()
        specs = [
            ProbeSpec.from_container(container, k) for k in ("startup", "readiness", "liveness")
        ]
        return [s for s in specs if s]

    def probe(self, kind: str) -> ProbeSpec:
        found = ProbeSpec.from_container(self.app_container(), kind)
        assert found, f"the app container has no {kind}Probe"
        return found

    def container_port(self, name: str) -> int:
        for port in self.app_container().get("ports", []):
            if port.get("name") == name:
                return port["containerPort"]
        raise AssertionError(f"the app container has no port named {name}")

    def app_env(self) -> dict[str, dict]:
        """The app container's env: {name: entry} (entry has `value` or `valueFrom`)."""
        return {e["name"]: e for e in self.app_container().get("env", [])}

    def app_replicas(self) -> int:
        return self.app_deployment()["spec"].get("replicas", 1)

    # -- monitoring -------------------------------------------------------------------------
    def workloads(self) -> list[dict]:
        return self.of_kind("Deployment") + self.of_kind("StatefulSet")

    def metrics_endpoints(self) -> list[MetricsEndpoint]:
        """Every ServiceMonitor endpoint, resolved through the Service it selects down to the
        workload and container port behind it."""
        endpoints = []
        for monitor in self.of_kind("ServiceMonitor"):
            spec = monitor["spec"]
            services = [
                s
                for s in self.of_kind("Service")
                if _labels_match(spec["selector"], s["metadata"].get("labels", {}))
            ]
            assert len(services) == 1, (
                f"ServiceMonitor {monitor['metadata']['name']} selects "
                f"{[s['metadata']['name'] for s in services]}"
            )
            service = services[0]
            workloads = [
                w
                for w in self.workloads()
                if _labels_match(
                    service["spec"].get("selector", {}),
                    w["spec"]["template"]["metadata"].get("labels", {}),
                )
            ]
            assert len(workloads) == 1, f"Service {service['metadata']['name']} selects {workloads}"
            workload = workloads[0]
            job_label = spec.get("jobLabel")
            job = service["metadata"]["labels"].get(job_label) if job_label else None
            for index, endpoint in enumerate(spec["endpoints"]):
                port_name = endpoint["port"]
                service_port = next(
                    (p for p in service["spec"]["ports"] if p.get("name") == port_name), None
                )
                assert service_port, f"Service {service['metadata']['name']} has no {port_name}"
                target = service_port.get("targetPort", service_port["port"])
                container, container_port = _container_port(workload, target)
                endpoints.append(
                    MetricsEndpoint(
                        service_monitor=monitor["metadata"]["name"],
                        namespace=monitor["metadata"].get("namespace", self.namespace),
                        index=index,
                        service=service["metadata"]["name"],
                        port_name=port_name,
                        container_port=container_port,
                        container=container,
                        workload=workload["metadata"]["name"],
                        workload_kind=workload["kind"],
                        path=endpoint.get("path", "/metrics"),
                        interval=endpoint.get("interval", "30s"),
                        scrape_timeout=endpoint.get("scrapeTimeout"),
                        scheme=endpoint.get("scheme", "http"),
                        job=job or service["metadata"]["name"],
                        relabelings=endpoint.get("relabelings", []),
                        metric_relabelings=endpoint.get("metricRelabelings", []),
                        service_selector=spec["selector"],
                    )
                )
        return endpoints

    def app_metrics_endpoint(self) -> MetricsEndpoint:
        name = self.app_deployment()["metadata"]["name"]
        found = [e for e in self.metrics_endpoints() if e.workload == name]
        assert len(found) == 1, f"expected one ServiceMonitor endpoint of {name}: {found}"
        return found[0]

    def rule_groups(self, interval: str | None = None) -> list[dict]:
        """The PrometheusRule groups as a Prometheus rule file's `groups` (optionally with a
        shorter evaluation interval, so a test does not wait a production interval)."""
        groups = []
        for rule in self.of_kind("PrometheusRule"):
            for group in rule["spec"]["groups"]:
                copy = dict(group)
                if interval:
                    copy["interval"] = interval
                groups.append(copy)
        return groups

    def alert(self, name: str) -> dict:
        for group in self.rule_groups():
            for rule in group["rules"]:
                if rule.get("alert") == name:
                    return rule
        raise AssertionError(f"no alert {name} in the rendered PrometheusRule")

    def alerts(self) -> list[dict]:
        return [r for g in self.rule_groups() for r in g["rules"] if "alert" in r]

    # -- redis --------------------------------------------------------------------------------
    def redis_workload(self) -> dict | None:
        """The chart's own Redis (StatefulSet or Deployment), if it deploys one."""
        for kind in ("StatefulSet", "Deployment"):
            for workload in self.of_kind(kind):
                containers = workload["spec"]["template"]["spec"]["containers"]
                if any("redis" in c.get("image", "") and "exporter" not in c.get("image", "")
                       for c in containers):  # fmt: skip
                    return workload
        return None


# -- Grafana dashboards ---------------------------------------------------------------------
@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    ref: str
    expr: str


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARD_DIR.glob("*.json"))


def _panels(panels: list[dict]):
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def dashboard_queries(path: Path) -> list[PanelQuery]:
    """Every Prometheus expression of every panel (rows' nested panels included)."""
    dashboard = json.loads(path.read_text())
    found = []
    for panel in _panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            expr = target.get("expr")
            if expr and not target.get("hide"):
                found.append(
                    PanelQuery(path.name, panel.get("title", "?"), target.get("refId", "?"), expr)
                )
    return found


def dashboard_variables(path: Path) -> list[dict]:
    return json.loads(path.read_text()).get("templating", {}).get("list", [])


GRAFANA_BUILTINS = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "5m",
    "__range_s": "300",
    "__interval_ms": "15000",
}


def substitute(expr: str, values: dict[str, str]) -> str:
    """Replace Grafana variables ($var, ${var}, ${var:fmt}, [[var]]) the way Grafana would for
    the given values (a regex value for multi-value variables used with =~)."""
    merged = {**GRAFANA_BUILTINS, **values}

    def repl(match: re.Match) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        if name not in merged:
            raise KeyError(f"no value for dashboard variable ${name} in {expr!r}")
        return merged[name]

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)", repl, expr)
