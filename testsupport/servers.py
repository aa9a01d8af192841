"""Real throwaway servers for tests: redis-server, PostgreSQL and Prometheus.

Tests talk to real processes, never fakes; each server gets a free port and a private directory
and is shut down by its owner. Shared by app/tests, the chart tests, k8s-tests/stack and the
benchmarks.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

POSTGRES_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def find_binary(name: str, extra_dirs: list[Path] | None = None) -> str:
    found = shutil.which(name)
    if found:
        return found
    for directory in extra_dirs or []:
        candidate = directory / name
        if candidate.exists():
            return str(candidate)
    raise FileNotFoundError(f"{name} not found: run `make test` (it installs the test servers)")


@dataclass
class RedisServer:
    """A redis-server on a free loopback port; stop()/start() keep the port for fault injection."""

    directory: Path
    port: int = field(default_factory=free_port)
    password: str | None = None
    extra_args: tuple[str, ...] = ()  # e.g. ("--maxmemory", "200mb") for the benchmarks
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [
            find_binary("redis-server"),
            "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory),
            "--save", "", "--appendonly", "no", "--daemonize", "no",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        if self.password:
            args += ["--requirepass", self.password]
        args += list(self.extra_args)
        self.process = subprocess.Popen(args)
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def cli(self, *command: str) -> str:
        args = [find_binary("redis-cli"), "-p", str(self.port)]
        if self.password:
            args += ["--no-auth-warning", "-a", self.password]
        return subprocess.run(
            [*args, *command], check=True, capture_output=True, text=True
        ).stdout.strip()


@dataclass
class PostgresServer:
    """PostgreSQL 15 on a free port, run as an unprivileged user (it refuses to run as root).

    The data directory lives directly under /tmp because pytest's own temp dirs are private to
    root, and the `nobody` user that runs PostgreSQL must be able to reach it.
    """

    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="wazen-pg-")))
    port: int = field(default_factory=free_port)
    # Extra server settings (name=value), e.g. shared_preload_libraries for the benchmarks.
    settings: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        binary = find_binary(args[0], POSTGRES_BIN_DIRS)
        command = [binary, *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "nobody", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    def start(self) -> PostgresServer:
        data = self.directory / "data"
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self.directory.chmod(0o755)
            shutil.chown(self.directory, "nobody", "nogroup")
        if not data.exists():
            self._run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        ) + "".join(f" -c {setting}" for setting in self.settings)
        self._run(
            "pg_ctl", "-D", str(data), "-o", options, "-l", str(self.directory / "pg.log"),
            "-w", "start",
        )  # fmt: skip
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        data = self.directory / "data"
        if (data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class PrometheusServer:
    """A real Prometheus with the given scrape config and rule files."""

    directory: Path
    config: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> PrometheusServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        config_file = self.directory / "prometheus.yml"
        config_file.write_text(self.config)
        with (self.directory / "prometheus.log").open("w") as log:  # the child keeps its own fd
            self.process = subprocess.Popen(
                [
                    find_binary("prometheus"),
                    f"--config.file={config_file}",
                    f"--storage.tsdb.path={self.directory / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--web.enable-lifecycle",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"prometheus not ready after {timeout}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
        self.process = None
