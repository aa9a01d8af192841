"""Chart tests: render with the real helm, validate, check, scan. Marker `chart`.

The renders of every ci/*-values.yaml file are made once per session (helm is quick, but there
are many assertions over them). Tools (helm, promtool, checkov) come from PATH or .tools/bin;
`make tools` installs them.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from render import TOOLS_BIN, ci_values_files, render  # noqa: E402 (needs the path above)


def tool(name: str) -> str:
    """Absolute path of a tool from PATH or .tools/bin; fail with the way to get it."""
    found = shutil.which(name) or shutil.which(name, path=str(TOOLS_BIN))
    if not found:
        pytest.fail(f"{name} not found on PATH or in .tools/bin: run `make tools`")
    return found


@pytest.fixture(scope="session")
def ci_renders() -> dict[str, list[dict[str, Any]]]:
    """{ci file name: rendered documents} for every ci/*-values.yaml."""
    return {path.name: render([path]) for path in ci_values_files()}


@pytest.fixture(scope="session")
def default_docs(ci_renders: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return ci_renders["default-values.yaml"]
