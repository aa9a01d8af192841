"""checkov security scan of the chart (helm framework) and of every ci/ render."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from testsupport.chart.render import CHART_DIR, TOOLS_BIN, helm_env, render_text, tool

pytestmark = pytest.mark.chart

CHECKOV_CONFIG = CHART_DIR / ".checkov.yaml"


def checkov(*args: str) -> subprocess.CompletedProcess[str]:
    env = helm_env()  # checkov's helm framework runs `helm template` itself
    env["PATH"] = f"{TOOLS_BIN}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        [
            tool("checkov"),
            *args,
            "--skip-download",
            "--compact",
            "--quiet",
            "--config-file",
            str(CHECKOV_CONFIG),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def summary(output: str) -> tuple[int, int]:
    match = re.search(r"Passed checks: (\d+), Failed checks: (\d+)", output)
    assert match, output
    return int(match[1]), int(match[2])


def test_checkov_helm_scan_of_the_chart() -> None:
    proc = checkov("-d", str(CHART_DIR), "--framework", "helm")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    passed, failed = summary(proc.stdout)
    assert failed == 0
    assert passed > 300


def test_checkov_scan_of_every_ci_render(tmp_path: Path) -> None:
    for values_file in sorted((CHART_DIR / "ci").glob("*-values.yaml")):
        (tmp_path / values_file.name).write_text(render_text([values_file]))
    proc = checkov("-d", str(tmp_path), "--framework", "kubernetes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    passed, failed = summary(proc.stdout)
    assert failed == 0
    assert passed > 1000


def test_every_skipped_check_is_justified() -> None:
    lines = CHECKOV_CONFIG.read_text().splitlines()
    skips = yaml.safe_load(CHECKOV_CONFIG.read_text())["skip-check"]
    assert skips
    for check in skips:
        index = next(i for i, line in enumerate(lines) if line.strip() == f"- {check}")
        assert lines[index - 1].strip().startswith("#"), f"{check} has no reason above it"
    for template in (CHART_DIR / "templates").rglob("*.yaml"):
        for line in template.read_text().splitlines():
            if "checkov.io/skip" in line:
                assert re.search(r"CKV2?_K8S_\d+=\S.{10,}", line), f"{template.name}: {line}"
