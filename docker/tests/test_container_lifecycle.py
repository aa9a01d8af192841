"""Containers as a pod runs them (issue 11): PID 1 processes that honour SIGTERM, and the local
PostgreSQL image under the UID the chart gives it.

- `migrate` (the entrypoint's shell is PID 1, waiting for the database in a child) and
  `manage wait_for_migrations` (Python is PID 1) stop within seconds of SIGTERM, as the kubelet
  and `podman stop` send it, instead of being SIGKILLed at the end of the grace period.
- The local PostgreSQL image initialises and serves under --user 10003:10003 (the chart's
  runAsUser, which has no passwd entry), with a read-only root and PGDATA a subdirectory of a
  writable volume, as in the chart's StatefulSet.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.container

if not os.environ.get("CI") and not (shutil.which("podman") or shutil.which("docker")):
    pytest.skip(
        "container suite: no podman or docker (`make container-engine` installs podman)",
        allow_module_level=True,
    )

PREFIX = "wazen-img-test-"  # conftest's prefix: its cleanup finds leftovers by it
Engine = Any  # conftest.Engine (the `engine` fixture); conftest is not importable by name here


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(1)
    raise AssertionError(f"{what} not reached after {timeout}s")


# Long enough that an ignored SIGTERM shows: podman/docker stop waits this long, then SIGKILLs.
STOP_GRACE_SECONDS = 30


def stop_seconds(engine: Engine, container: str) -> tuple[float, int]:
    """(seconds `stop` took, exit code) after SIGTERM with a long grace period."""
    started = time.monotonic()
    engine("stop", "-t", str(STOP_GRACE_SECONDS), container, timeout=STOP_GRACE_SECONDS + 30)
    elapsed = time.monotonic() - started
    code = int(engine("inspect", container, "--format", "{{.State.ExitCode}}"))
    return elapsed, code


@pytest.mark.parametrize(
    "command",
    [["migrate"], ["manage", "wait_for_migrations", "--interval", "2"]],
    ids=["migrate", "wait-for-migrations"],
)
def test_waiting_commands_stop_on_sigterm(stack, command: list[str]) -> None:
    name = f"{PREFIX}{secrets.token_hex(3)}-sigterm"
    stack.engine(
        "run", "-d", "--name", name, "--network", stack.network, *stack.engine.read_only,
        *stack.env_args(
            DATABASE_URL=f"postgres://wazen:x@{stack.network}-nowhere:5432/wazen",
            DB_WAIT_TIMEOUT="600",
        ),
        stack.image, *command,
    )  # fmt: skip
    try:
        wait_until(lambda: "not" in stack.engine.logs(name), timeout=60, what="waiting")
        elapsed, code = stop_seconds(stack.engine, name)
    finally:
        stack.engine.remove(name)
    assert code == 143, f"exit {code} (137 = SIGKILLed after the grace period)"
    assert elapsed < 10, f"{elapsed:.1f}s to stop"


def test_local_postgres_runs_under_the_charts_uid(engine: Engine, image: str) -> None:
    official = "docker.io/library/postgres:16"
    local = "localhost/wazen-postgres:bookworm"
    postgres_image = os.environ.get("POSTGRES_IMAGE") or (
        official if engine.name == "docker" else local
    )
    name = f"{PREFIX}{secrets.token_hex(3)}-pg-uid"
    engine(
        "run", "-d", "--name", name, "--user", "10003:10003", "--read-only",
        *(["--read-only-tmpfs=false"] if engine.name == "podman" else []),
        "--tmpfs", "/tmp", "--tmpfs", "/var/run/postgresql:mode=1777",
        # The chart's volume: writable by the pod's fsGroup; PGDATA is a subdirectory of it.
        "--tmpfs", "/var/lib/postgresql/data:mode=1777",
        "-e", "PGDATA=/var/lib/postgresql/data/pgdata", "-e", "POSTGRES_USER=wazen",
        "-e", "POSTGRES_PASSWORD=secret", "-e", "POSTGRES_DB=wazen", postgres_image,
    )  # fmt: skip
    try:

        def ready() -> bool:
            probe = subprocess.run(
                [
                    engine.name,
                    "exec",
                    name,
                    "pg_isready",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "wazen",
                    "-d",
                    "wazen",
                ],
                capture_output=True,
                timeout=30,
            )
            return probe.returncode == 0

        try:
            wait_until(ready, timeout=90, what="PostgreSQL ready")
        except AssertionError as error:
            raise AssertionError(f"{error}; log:\n{engine.logs(name)}") from None
        who = engine(
            "exec", "-e", "PGPASSWORD=secret", name, "psql", "-h", "127.0.0.1", "-U", "wazen",
            "-d", "wazen", "-Atc", "SELECT current_user, current_database()",
        )  # fmt: skip
        assert who == "wazen|wazen"
        assert engine("exec", name, "id", "-u") == "10003"
        assert "initialised /var/lib/postgresql/data/pgdata" in engine.logs(name)
    finally:
        engine.remove(name)
