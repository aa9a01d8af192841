"""values.yaml documentation, values.schema.json coverage, README values table."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from testsupport.chart import values_doc
from testsupport.chart.render import CHART_DIR

pytestmark = pytest.mark.chart

VALUES_TEXT = values_doc.VALUES_FILE.read_text()
VALUES = yaml.safe_load(VALUES_TEXT)
SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text())
# Helm's own key (for subcharts); accepted, not a chart value.
HELM_KEYS = {"global"}


def schema_paths(schema: dict[str, Any], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for key, child in schema.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        paths.add(path)
        paths |= schema_paths(child, path)
    return paths


def value_paths(node: Any, prefix: str = "") -> set[str]:
    paths: set[str] = set()
    if isinstance(node, dict):
        for key, child in node.items():
            path = f"{prefix}.{key}" if prefix else key
            paths.add(path)
            paths |= value_paths(child, path)
    return paths


def test_every_value_is_documented() -> None:
    documented = {doc.path for doc in values_doc.documented_keys(VALUES_TEXT)}
    undocumented = [
        leaf
        for leaf in values_doc.leaf_paths(VALUES)
        if not any(leaf == d or leaf.startswith(f"{d}.") for d in documented)
    ]
    assert not undocumented
    for doc in values_doc.documented_keys(VALUES_TEXT):
        assert len(doc.description) > 5, doc.path


def free_schema_paths(schema: dict[str, Any], prefix: str = "") -> set[str]:
    """Paths the schema types as a whole (objects without `properties`: resources, affinity…)."""
    paths: set[str] = set()
    for key, child in schema.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        if child.get("type") == "object" and "properties" not in child:
            paths.add(path)
        paths |= free_schema_paths(child, path)
    return paths


# Optional fields of shared shapes (probe, resources) that the defaults do not set.
OPTIONAL_FIELDS = {
    "ephemeral-storage",
    "initialDelaySeconds",
    "successThreshold",
    "terminationGracePeriodSeconds",
}


def test_schema_describes_every_value_and_nothing_else() -> None:
    in_schema = schema_paths(SCHEMA) - HELM_KEYS
    in_values = value_paths(VALUES)
    free = free_schema_paths(SCHEMA)
    missing = {
        path
        for path in in_values - in_schema
        if not any(path.startswith(f"{prefix}.") for prefix in free)
    }
    assert not missing
    extra = {p for p in in_schema - in_values if p.rsplit(".", 1)[-1] not in OPTIONAL_FIELDS}
    assert not extra


def test_schema_is_strict_where_the_chart_owns_the_shape() -> None:
    strict = []

    def walk(schema: dict[str, Any], path: str) -> None:
        if schema.get("type") == "object" and "properties" in schema:
            strict.append((path, schema.get("additionalProperties")))
            for key, child in schema["properties"].items():
                walk(child, f"{path}.{key}" if path else key)

    walk(SCHEMA, "")
    assert strict
    assert all(additional is False for _, additional in strict), [
        path for path, additional in strict if additional is not False
    ]


def test_defaults_satisfy_the_schema_types() -> None:
    """Spot checks; helm lint applies the whole schema to the defaults."""
    assert SCHEMA["additionalProperties"] is False
    assert (
        VALUES["image"]["pullPolicy"]
        in SCHEMA["properties"]["image"]["properties"]["pullPolicy"]["enum"]
    )


def test_readme_values_table_is_current() -> None:
    readme = values_doc.README_FILE.read_text()
    assert readme == values_doc.readme_with_table(readme, values_doc.table())
    for doc in values_doc.documented_keys(VALUES_TEXT):
        assert f"| `{doc.path}` |" in readme
