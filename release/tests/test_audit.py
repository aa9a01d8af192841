"""`make audit` never passes silently: it audits, or says SKIPPED and exits 3."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIPPED = "SKIPPED: no advisory database reachable"


def audit(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "release/audit.py", *args, "requirements.lock"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, **env},
    )  # fmt: skip


def test_unreachable_advisory_database_is_a_loud_skip() -> None:
    # A closed port on loopback: nothing answers there.
    result = audit(AUDIT_PROBE_URL="http://127.0.0.1:9/")
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout.startswith(SKIPPED)
    assert "nothing was audited" in result.stdout
    offline_ok = audit(AUDIT_PROBE_URL="http://127.0.0.1:9/", AUDIT_OFFLINE_OK="1")
    assert offline_ok.returncode == 0
    assert offline_ok.stdout.startswith(SKIPPED)


@pytest.mark.slow
def test_make_audit_audits_or_says_skipped() -> None:
    """Here no advisory database answers (SKIPPED, exit 3); where one does, pip-audit runs on
    both locks and its verdict is the exit status. A bare exit 0 is never possible."""
    result = subprocess.run(
        ["make", "--no-print-directory", "audit"], cwd=ROOT, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    output = result.stdout + result.stderr
    if SKIPPED in output:
        assert result.returncode != 0, output
    else:
        assert "pip-audit (pypi): requirements.lock" in output, output
        assert "pip-audit (pypi): requirements-dev.lock" in output or result.returncode != 0
