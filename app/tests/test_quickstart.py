"""The README's quick start: `make run` serves a chat reply to the demo key it prints."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from testsupport.paths import REPO
from testsupport.servers import free_port, wait_for_port

pytestmark = pytest.mark.slow


@dataclass
class QuickStart:
    port: int
    metrics_port: int
    key: str
    admin: tuple[str, str]
    env: dict[str, str]

    def get(self, path: str) -> dict | list:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", headers={"Authorization": f"Bearer {self.key}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def manage(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        """The root manage.py in another process, as a developer runs it beside `make run`."""
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO, env={**self.env, **env},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory) -> Iterator[QuickStart]:
    tmp_path = tmp_path_factory.mktemp("quickstart")
    port, metrics_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PROMETHEUS_"))},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}", f"METRICS_PORT={metrics_port}"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        key, deadline = None, time.monotonic() + 120
        while key is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line or process.poll() is None, "make run exited early"
            if match := re.match(r"WAZEN_DEMO_API_KEY=(\S+)", line):
                key = match.group(1)
        assert key, "make run printed no demo key"
        admin_line = process.stdout.readline()
        admin = re.match(r"Admin: +http://\S+/admin/ +user (\S+), password (\S+)", admin_line)
        assert admin, f"make run printed no admin login: {admin_line!r}"
        wait_for_port(port, timeout=60)
        yield QuickStart(port, metrics_port, key, (admin.group(1), admin.group(2)), env)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=40)
        process.stdout.close()


def test_make_run_answers_a_chat_request_with_the_printed_key(quickstart):
    request = urllib.request.Request(
        f"http://127.0.0.1:{quickstart.port}/api/v1/chat",
        data=json.dumps({"message": "What services do you offer?"}).encode(),
        headers={"Authorization": f"Bearer {quickstart.key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.loads(response.read())
    assert "VAT Filing" in body["reply"]
    with urllib.request.urlopen(f"http://127.0.0.1:{quickstart.metrics_port}/metrics") as response:
        assert b"wazen_reply_duration_seconds" in response.read()
    # The printed admin login works (checked through the root manage.py, no secret key set).
    check = (
        "from django.contrib.auth import authenticate; import os; "
        "u = authenticate(username=os.environ['U'], password=os.environ['P']); "
        "print('admin-ok' if u and u.is_superuser else 'admin-bad')"
    )
    user, password = quickstart.admin
    result = quickstart.manage("shell", "-c", check, U=user, P=password)
    assert "admin-ok" in result.stdout, result.stdout + result.stderr


def test_make_run_shows_a_write_from_another_process_on_every_read_of_both_workers(quickstart):
    """Both workers cache the catalog; a price changed through the ORM in another process (the
    root manage.py) shows on each of the 40 reads that follow, whichever worker answers."""
    for _ in range(20):  # warm both workers' caches (a new connection each: either may answer)
        catalog = quickstart.get("/api/v1/services")
        assert "1234.00" not in {service["price"] for service in catalog["services"]}
    write = (
        "from catalog.models import Service; "
        "print(Service.objects.filter(company__slug='demo', name='Payroll')"
        ".update(price='1234.00'))"
    )
    result = quickstart.manage("shell", "-c", write)
    assert result.stdout.split()[-1:] == ["1"], result.stdout + result.stderr
    for _ in range(40):
        catalog = quickstart.get("/api/v1/services")
        payroll = next(s for s in catalog["services"] if s["names"]["en"] == "Payroll")
        assert payroll["price"] == "1234.00"


def test_root_manage_py_createsuperuser_needs_no_secret_key(tmp_path):
    """`./manage.py` works from the repository root as the README says, and a local
    createsuperuser does not stop on a missing DJANGO_SECRET_KEY."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PROMETHEUS_"))},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_SUPERUSER_PASSWORD": "a-local-password-1234",
    }
    createsuperuser = ["createsuperuser", "--noinput", "--username", "me", "--email", "me@x.test"]
    for args in (["migrate", "--noinput", "-v", "0"], createsuperuser):
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO, env=env,
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
    assert "Superuser created" in result.stdout
