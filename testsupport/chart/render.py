"""Render the wazen-ai chart with the real helm binary and return the parsed documents.

Shared by the chart tests (charts/wazen-ai/tests) and both Kubernetes suites (k8s-tests/, through
testsupport.k8s.chartinfo), which use it to derive a scrape config from the ServiceMonitor and
load the PrometheusRule groups:

    from testsupport.chart.render import render, find_one
    docs = render(["ci/monitoring-values.yaml"], {"replicaCount": 2})

helm comes from PATH or the project's .tools/bin (`make tools` installs it there). Helm's cache,
config and data directories are kept under .tools/ so that tests never touch ~/.config/helm.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from testsupport.paths import CHART_DIR, TOOLS_BIN
from testsupport.paths import REPO as REPO_ROOT

CI_DIR = CHART_DIR / "ci"
DASHBOARDS_DIR = CHART_DIR / "dashboards"

DEFAULT_RELEASE = "wazen-ai"
DEFAULT_NAMESPACE = "wazen"
# The oldest Kubernetes minor the chart supports; `helm template` defaults to its own version.
DEFAULT_KUBE_VERSION = "1.30.0"
# CRD APIs a cluster with the Prometheus Operator announces (Capabilities.APIVersions).
MONITORING_API_VERSIONS = ("monitoring.coreos.com/v1",)


class HelmError(RuntimeError):
    """helm exited non-zero; the message carries its stderr (e.g. a chart `fail`)."""


def helm_binary() -> str:
    """Path of the helm executable: PATH first, then .tools/bin."""
    found = shutil.which("helm") or shutil.which("helm", path=str(TOOLS_BIN))
    if not found:
        raise FileNotFoundError("helm not found on PATH or in .tools/bin: run `make tools`")
    return found


def helm_env() -> dict[str, str]:
    """The process environment with project-local HELM_*_HOME directories."""
    env = dict(os.environ)
    tools = REPO_ROOT / ".tools"
    env.setdefault("HELM_CACHE_HOME", str(tools / "helm-cache"))
    env.setdefault("HELM_CONFIG_HOME", str(tools / "helm-config"))
    env.setdefault("HELM_DATA_HOME", str(tools / "helm-data"))
    env["PATH"] = f"{env.get('PATH', '')}{os.pathsep}{TOOLS_BIN}"
    return env


def run_helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run helm with the project-local environment; raise HelmError with stderr on failure."""
    proc = subprocess.run(
        [helm_binary(), *args],
        capture_output=True,
        text=True,
        env=helm_env(),
        timeout=120,
        check=False,
    )
    if check and proc.returncode != 0:
        raise HelmError(f"helm {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def resolve_values_file(path: str | os.PathLike[str]) -> Path:
    """Absolute path of a values file given absolute, relative to the cwd, or to the chart."""
    candidate = Path(path)
    if candidate.is_absolute() or candidate.exists():
        return candidate.resolve()
    in_chart = CHART_DIR / candidate
    if in_chart.exists():
        return in_chart
    raise FileNotFoundError(f"values file not found: {path}")


def ci_values_files() -> list[Path]:
    """Every ci/*-values.yaml file, sorted (one per feature)."""
    return sorted(CI_DIR.glob("*-values.yaml"))


def template_args(
    values_files: Sequence[str | os.PathLike[str]] = (),
    set_values: Mapping[str, Any] | None = None,
    *,
    release: str = DEFAULT_RELEASE,
    namespace: str = DEFAULT_NAMESPACE,
    kube_version: str = DEFAULT_KUBE_VERSION,
    api_versions: Iterable[str] = MONITORING_API_VERSIONS,
    chart_dir: str | os.PathLike[str] = CHART_DIR,
) -> list[str]:
    """The `helm template` argument list used by render() (exposed for the shell-minded).
    chart_dir: another copy of the chart (e.g. a released one pulled from OCI)."""
    args = [
        "template",
        release,
        str(chart_dir),
        "--namespace",
        namespace,
        "--kube-version",
        kube_version,
    ]
    for api in api_versions:
        args += ["--api-versions", api]
    for values_file in values_files:
        args += ["--values", str(resolve_values_file(values_file))]
    # --set-json keeps types exact (booleans, numbers, lists, maps); keys may be dotted paths.
    for key, value in (set_values or {}).items():
        args += ["--set-json", f"{key}={json.dumps(value)}"]
    return args


def render_text(
    values_files: Sequence[str | os.PathLike[str]] = (),
    set_values: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> str:
    """The raw multi-document YAML `helm template` prints."""
    return run_helm(*template_args(values_files, set_values, **kwargs)).stdout


def render(
    values_files: Sequence[str | os.PathLike[str]] = (),
    set_values: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """Render the chart and return every non-empty document (hooks and test pods included).

    values_files: paths absolute, relative to the cwd or to the chart ("ci/hpa-values.yaml").
    set_values: {"dotted.key": value}, passed with --set-json so types survive.
    kwargs: release, namespace, kube_version, api_versions, chart_dir (see template_args).
    Raises HelmError when helm fails, e.g. when a template calls `fail` on contradictory values.
    """
    text = render_text(values_files, set_values, **kwargs)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def find_all(docs: Iterable[Mapping[str, Any]], kind: str) -> list[dict[str, Any]]:
    """Every document of a kind."""
    return [dict(doc) for doc in docs if doc.get("kind") == kind]


def find_one(
    docs: Iterable[Mapping[str, Any]], kind: str, name_suffix: str | None = None
) -> dict[str, Any]:
    """The single document of a kind (optionally whose name ends with name_suffix)."""
    matches = [
        doc
        for doc in find_all(docs, kind)
        if name_suffix is None or doc["metadata"]["name"].endswith(name_suffix)
    ]
    if len(matches) != 1:
        names = [doc["metadata"]["name"] for doc in matches]
        raise LookupError(f"expected one {kind} ending {name_suffix!r}, found {names}")
    return matches[0]


def prometheus_rule_groups(docs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Prometheus rule-file content ({"groups": [...]}) from every rendered PrometheusRule."""
    groups: list[Any] = []
    for rule in find_all(docs, "PrometheusRule"):
        groups.extend(rule["spec"]["groups"])
    return {"groups": groups}


def dashboards(docs: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Grafana dashboards shipped in rendered ConfigMaps: {file name: parsed JSON}."""
    found: dict[str, dict[str, Any]] = {}
    for config_map in find_all(docs, "ConfigMap"):
        for key, text in (config_map.get("data") or {}).items():
            if key.endswith(".json"):
                found[key] = json.loads(text)
    return found


def panel_expressions(dashboard: Mapping[str, Any]) -> list[str]:
    """Every `targets[].expr` of a dashboard, rows and nested panels included."""
    exprs: list[str] = []
    stack = list(dashboard.get("panels", []))
    while stack:
        panel = stack.pop(0)
        stack.extend(panel.get("panels", []))
        exprs.extend(t["expr"] for t in panel.get("targets", []) if t.get("expr"))
    return exprs


def tool(name: str) -> str:
    """Absolute path of a tool from PATH or .tools/bin; fail the test with the way to get it."""
    import pytest

    found = shutil.which(name) or shutil.which(name, path=str(TOOLS_BIN))
    if not found:
        pytest.fail(f"{name} not found on PATH or in .tools/bin: run `make tools`")
    return found
