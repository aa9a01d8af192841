"""Chart tests: render with the real helm, validate, check, scan. Marker `chart`.

The renders of every ci/*-values.yaml file are made once per session (helm is quick, but there
are many assertions over them). Tools (helm, promtool, checkov) come from PATH or .tools/bin;
`make tools` installs them. The helpers (render, objects, app, fake API server) are
testsupport.chart.
"""

from __future__ import annotations

from typing import Any

import pytest

from testsupport.chart.render import ci_values_files, render


@pytest.fixture(scope="session")
def ci_renders() -> dict[str, list[dict[str, Any]]]:
    """{ci file name: rendered documents} for every ci/*-values.yaml."""
    return {path.name: render([path]) for path in ci_values_files()}


@pytest.fixture(scope="session")
def default_docs(ci_renders: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return ci_renders["default-values.yaml"]
