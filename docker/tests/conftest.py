"""Fixtures for the container suite: build the image once (`make image service-images`), run it
with a read-only root filesystem next to Redis and PostgreSQL containers on a private network,
and remove every container and network afterwards.

Redis and PostgreSQL run as containers here (not testsupport.servers' host processes): the app
container reaches them by name on the container network, as the chart's pods do. Every container
and network name starts with `wazen-img-test-`, so suites running in parallel on one machine never
touch each other's objects. Tests get helpers through fixtures (pytest runs with
--import-mode=importlib, where a test module cannot import this one).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "wazen-img-test-"
IMAGE = os.environ.get("IMAGE", "localhost/wazen-ai:dev")
DB_USER = "wazen"
DB_PASSWORD = secrets.token_hex(12)
MEASUREMENTS: dict[str, str] = {}


def docker_daemon_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


@dataclass
class Engine:
    """The container CLI (podman or docker) with the flags that differ between them."""

    name: str

    def __call__(self, *args: str, check: bool = True, timeout: float = 120) -> str:
        result = subprocess.run([self.name, *args], capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(
                f"{self.name} {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result.stdout.strip()

    @property
    def read_only(self) -> list[str]:
        """Read-only root filesystem; only /tmp and /run/metrics are writable.

        podman's --read-only also mounts its own tmpfs on /run, /tmp and /var/tmp (and gives a
        tmpfs mounted below /run mode 0755, unwritable for other UIDs): switched off here.
        """
        flags = ["--read-only", "--tmpfs", "/tmp", "--tmpfs", "/run/metrics"]
        if self.name == "podman":
            flags.insert(1, "--read-only-tmpfs=false")
        return flags

    def logs(self, container: str) -> str:
        result = subprocess.run(
            [self.name, "logs", container], capture_output=True, text=True, timeout=30
        )
        return result.stdout + result.stderr

    def host_port(self, container: str, port: int) -> int:
        mapping = self("port", container, f"{port}/tcp").splitlines()[0]
        return int(mapping.rsplit(":", 1)[1])

    def remove(self, *containers: str) -> None:
        for container in containers:
            subprocess.run(
                [self.name, "rm", "-f", "-t", "2", container], capture_output=True, timeout=60
            )


def service_image(variable: str, local: str, official: str, engine: Engine) -> str:
    return os.environ.get(variable) or (official if engine.name == "docker" else local)


def http_get(
    url: str, timeout: float = 5.0, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    try:
        request = urllib.request.Request(url, headers=headers or {})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def http_post_json(url: str, payload: dict, token: str, timeout: float = 10.0) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"{}")


def wait_until(
    predicate: Callable[[], object], timeout: float, interval: float = 0.1, what: str = "condition"
) -> object:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except OSError as error:
            last = error
        time.sleep(interval)
    raise AssertionError(f"{what} not reached after {timeout}s (last: {last!r})")


@dataclass
class Stack:
    """Network + PostgreSQL + Redis containers, and the environment the app needs to use them."""

    engine: Engine
    image: str
    network: str
    postgres: str
    redis: str
    env: dict[str, str] = field(default_factory=dict)

    def env_args(self, **extra: str) -> list[str]:
        args: list[str] = []
        for key, value in {**self.env, **extra}.items():
            args += ["-e", f"{key}={value}"]
        return args

    def run_once(self, *command: str, env: dict[str, str] | None = None, timeout=180) -> str:
        """A one-off app container (migrate, seed-demo, manage …), read-only, removed after."""
        return self.engine(
            "run", "--rm", "--network", self.network, *self.engine.read_only,
            *self.env_args(**(env or {})), self.image, *command, timeout=timeout,
        )  # fmt: skip

    def database_url(self, database: str) -> str:
        return f"postgres://{DB_USER}:{DB_PASSWORD}@{self.postgres}:5432/{database}"

    def create_database(self, name: str) -> None:
        self.engine(
            "exec", self.postgres, "psql", "-v", "ON_ERROR_STOP=1", "-U", DB_USER, "-d", "wazen",
            "-c", f'CREATE DATABASE "{name}"',
        )  # fmt: skip

    def psql(self, database: str, sql: str) -> str:
        return self.engine(
            "exec", self.postgres, "psql", "-At", "-v", "ON_ERROR_STOP=1", "-U", DB_USER,
            "-d", database, "-c", sql,
        )  # fmt: skip


@dataclass
class App:
    """A running web container and its published ports (Django's and the metrics server's)."""

    engine: Engine
    name: str
    port: int
    metrics_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        return http_get(self.url + path, timeout)

    def get_with(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        return http_get(self.url + path, headers=headers)

    def post_json(self, path: str, payload: dict, token: str) -> tuple[int, dict]:
        return http_post_json(self.url + path, payload, token)

    def chat(self, token: str, message: str = "What services do you offer?") -> tuple[int, dict]:
        return self.post_json("/api/v1/chat", {"message": message}, token)

    def ready(self) -> tuple[int, dict]:
        status, body = self.get("/health/ready?format=json")
        return status, json.loads(body)

    def metrics(self) -> str:
        status, body = http_get(f"http://127.0.0.1:{self.metrics_port}/metrics")
        assert status == 200, body[:500]
        return body.decode()

    def logs(self) -> str:
        return self.engine.logs(self.name)

    def records(self) -> list[dict]:
        """The container's log lines, each parsed as JSON (a non-JSON line fails the parse)."""
        return [json.loads(line) for line in self.logs().splitlines() if line.strip()]


def start_app(
    stack: Stack, *, user: str = "10001:10001", env: dict[str, str] | None = None
) -> tuple[App, float]:
    """Run the web container (read-only, given user); returns it and its seconds to ready."""
    name = f"{PREFIX}{secrets.token_hex(3)}-app"
    started = time.monotonic()
    stack.engine(
        "run", "-d", "--name", name, "--network", stack.network, "--user", user,
        *stack.engine.read_only, *stack.env_args(**(env or {})),
        "-p", "127.0.0.1::8000", "-p", "127.0.0.1::9100", stack.image,
    )  # fmt: skip
    try:
        app = App(
            engine=stack.engine,
            name=name,
            port=stack.engine.host_port(name, 8000),
            metrics_port=stack.engine.host_port(name, 9100),
        )
        wait_until(
            lambda: app.get("/health/ready", timeout=2)[0] == 200,
            timeout=60,
            what=f"{name} /health/ready 200",
        )
    except AssertionError as error:
        logs = stack.engine.logs(name)[-4000:]
        stack.engine.remove(name)
        raise AssertionError(f"{error}\n--- {name} logs ---\n{logs}") from error
    return app, time.monotonic() - started


@pytest.fixture(scope="session")
def engine() -> Engine:
    """podman (or Docker when its daemon answers); missing both fails under CI, else skips."""
    if docker_daemon_answers():
        return Engine("docker")
    if shutil.which("podman"):
        os.environ.setdefault(
            "CONTAINERS_CONF", str(ROOT / ".tools" / "containers" / "containers.conf")
        )
        return Engine("podman")
    message = "no podman or docker: `make container-engine` installs podman"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set: the container suite must run)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def image(engine: Engine) -> str:
    """The app image and the Redis/PostgreSQL images, built (or refreshed) by make."""
    started = time.monotonic()
    result = subprocess.run(
        ["make", "--no-print-directory", "image", "service-images", f"IMAGE={IMAGE}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        pytest.fail(f"make image failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    MEASUREMENTS["make image service-images"] = f"{time.monotonic() - started:.1f} s"
    size = int(engine("image", "inspect", IMAGE, "--format", "{{.Size}}"))
    MEASUREMENTS["image size"] = f"{size / 1e6:.0f} MB"
    return IMAGE


@pytest.fixture(scope="session")
def stack(engine: Engine, image: str) -> Iterator[Stack]:
    suffix = secrets.token_hex(3)
    network = f"{PREFIX}{suffix}-net"
    postgres = f"{PREFIX}{suffix}-postgres"
    redis = f"{PREFIX}{suffix}-redis"
    postgres_image = service_image(
        "POSTGRES_IMAGE",
        "localhost/wazen-postgres:bookworm",
        "docker.io/library/postgres:16",
        engine,
    )
    redis_image = service_image(
        "REDIS_IMAGE", "localhost/wazen-redis:bookworm", "docker.io/library/redis:7", engine
    )
    engine("network", "create", network)
    try:
        engine(
            "run", "-d", "--name", postgres, "--network", network, "-e", f"POSTGRES_USER={DB_USER}",
            "-e", f"POSTGRES_PASSWORD={DB_PASSWORD}", "-e", "POSTGRES_DB=wazen", postgres_image,
        )  # fmt: skip
        engine(
            "run", "-d", "--name", redis, "--network", network, redis_image,
            "redis-server", "--protected-mode", "no", "--save", "", "--appendonly", "no",
        )  # fmt: skip
        the_stack = Stack(
            engine=engine, image=image, network=network, postgres=postgres, redis=redis
        )
        the_stack.env = {
            "DATABASE_URL": the_stack.database_url("wazen"),
            "REDIS_URL": f"redis://{redis}:6379/0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DB_WAIT_TIMEOUT": "60",
        }
        yield the_stack
    finally:
        engine.remove(postgres, redis)
        subprocess.run([engine.name, "network", "rm", network], capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def demo_key(stack: Stack) -> str:
    """Migrate (entrypoint `migrate`) and seed the demo company; returns its API key."""
    started = time.monotonic()
    stack.run_once("migrate")
    MEASUREMENTS["migrate (one-off container)"] = f"{time.monotonic() - started:.1f} s"
    output = stack.run_once("seed-demo")
    keys = [line.split("=", 1)[1] for line in output.splitlines() if "WAZEN_DEMO_API_KEY=" in line]
    assert keys, f"seed-demo printed no key:\n{output}"
    return keys[-1]


@pytest.fixture(scope="session")
def app(stack: Stack, demo_key: str) -> Iterator[App]:
    """The web container: UID 10001, read-only root, 2 gunicorn workers."""
    the_app, seconds = start_app(stack, env={"GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4"})
    MEASUREMENTS["container start to /health/ready 200"] = f"{seconds:.2f} s"
    try:
        yield the_app
    finally:
        stack.engine.remove(the_app.name)


@pytest.fixture
def measurements() -> dict[str, str]:
    """Figures a test reports in the session summary (measured, not asserted)."""
    return MEASUREMENTS


@pytest.fixture
def eventually() -> Callable[..., object]:
    """`eventually(predicate, timeout, what=...)`: poll until truthy, else fail."""
    return wait_until


@pytest.fixture
def app_factory(stack: Stack) -> Iterator[Callable[..., App]]:
    """Start extra web containers (other user, other env); removed after the test."""
    started: list[App] = []

    def factory(*, user: str = "10001:10001", env: dict[str, str] | None = None) -> App:
        app, _seconds = start_app(stack, user=user, env=env)
        started.append(app)
        return app

    yield factory
    stack.engine.remove(*(app.name for app in started))


def pytest_terminal_summary(terminalreporter) -> None:
    if MEASUREMENTS:
        terminalreporter.section("container measurements (reported, not asserted)")
        for key, value in MEASUREMENTS.items():
            terminalreporter.write_line(f"{key}: {value}")
