"""Small readers of rendered Kubernetes objects shared by the chart tests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job", "DaemonSet"}


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) or a Service's plain map vs labels."""
    if "matchLabels" in selector or "matchExpressions" in selector:
        match_labels = selector.get("matchLabels") or {}
        expressions = selector.get("matchExpressions") or []
    else:
        match_labels, expressions = selector, []
    if any(labels.get(key) != value for key, value in match_labels.items()):
        return False
    for expr in expressions:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def pod_templates(docs: Iterable[Mapping[str, Any]]) -> Iterator[tuple[dict, dict, dict]]:
    """(owner document, pod metadata, pod spec) of every workload and bare Pod."""
    for doc in docs:
        if doc.get("kind") in WORKLOAD_KINDS:
            template = doc["spec"]["template"]
            yield dict(doc), template["metadata"], template["spec"]
        elif doc.get("kind") == "Pod":
            yield dict(doc), doc["metadata"], doc["spec"]


def containers(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Init containers and containers of a pod spec."""
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def container(spec: Mapping[str, Any], name: str) -> dict[str, Any]:
    matches = [c for c in containers(spec) if c["name"] == name]
    assert len(matches) == 1, f"container {name} not found once in {spec}"
    return matches[0]


def pods_selected(docs: Iterable[Mapping[str, Any]], selector: Mapping[str, Any]) -> list[str]:
    """Names of the workloads whose pods a selector matches."""
    return [
        owner["metadata"]["name"]
        for owner, meta, _ in pod_templates(docs)
        if selector_matches(selector, meta.get("labels") or {})
    ]


def env_map(c: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in c.get("env", [])}
