"""The production image, built and run for real: read-only root filesystem, non-root user,
Redis and PostgreSQL containers beside it (docs/runtime-contract.md)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.container

if not os.environ.get("CI") and not (shutil.which("podman") or shutil.which("docker")):
    # One line for the whole module; under CI the `engine` fixture fails every test instead.
    pytest.skip(
        "container suite: no podman or docker (`make container-engine` installs podman)",
        allow_module_level=True,
    )

REQUESTS_METRIC = "django_http_requests_total_by_method_total"


def metric_sum(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


# -- the image itself --------------------------------------------------------------------------


def test_image_runs_as_numeric_user_with_exec_form_entrypoint(engine, image) -> None:
    config = json.loads(engine("image", "inspect", image, "--format", "{{json .Config}}"))
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["/app/docker/entrypoint.sh"]
    assert config["Cmd"] == ["web"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["LOG_FORMAT"] == "json"
    assert env["PROMETHEUS_MULTIPROC_DIR"] == "/run/metrics"
    assert "DJANGO_SECRET_KEY" not in env
    labels = config["Labels"]
    assert labels["org.opencontainers.image.title"] == "wazen-ai"
    assert labels["org.opencontainers.image.revision"]
    assert labels["org.opencontainers.image.version"]


def test_image_holds_no_compilers_tests_or_build_secrets(engine, image) -> None:
    script = (
        "for tool in gcc cc c++ make pip; do command -v $tool; done; ls -A /run/metrics; "
        "for path in /run/secrets /app/tests /app/db.sqlite3; do test -e $path && echo $path; "
        "done; test -s /app/staticfiles/staticfiles.json && echo static-ok"
    )
    output = engine("run", "--rm", "--entrypoint", "sh", image, "-c", script, check=False)
    assert output == "static-ok", f"unexpected content in the image:\n{output}"


# -- serving -----------------------------------------------------------------------------------


def test_health_endpoints_answer(app) -> None:
    assert app.get("/health/live")[0] == 200
    assert app.get("/health/startup")[0] == 200
    status, body = app.ready()
    assert status == 200, body
    assert body == {"status": "ok", "checks": {"Database": "ok", "CatalogCache": "ok"}}


def test_chat_reply_with_the_seeded_demo_key(app, demo_key) -> None:
    status, body = app.chat(demo_key)
    assert status == 200, body
    assert body["reply"]
    assert body["conversation_id"]
    assert app.chat("wz_not-a-key")[0] == 401


def test_logs_are_json_lines(app) -> None:
    assert app.get("/health/live?from=json-log-test")[0] == 200
    records = app.records()  # every line, gunicorn's and Django's, parses as JSON
    access = [record for record in records if record.get("logger") == "gunicorn.access"]
    assert any(r["query"] == "from=json-log-test" and r["status"] == 200 for r in access)


def test_replies_continue_while_redis_is_down_and_recover(
    engine, stack, app, demo_key, eventually
) -> None:
    engine("stop", "-t", "1", stack.redis)
    try:
        for _ in range(3):
            status, body = app.chat(demo_key)
            assert status == 200, body

        def cache_down() -> tuple[int, dict] | None:
            status, body = app.ready()
            return (status, body) if body["checks"].get("CatalogCache") != "ok" else None

        status, body = eventually(cache_down, timeout=15, what="readiness reporting cache down")
        assert status == 200, body  # soft readiness: WAZEN_HEALTH_CACHE_CRITICAL is off
        # The answer is public (the Ingress routes /health/ to this port): no Redis error text,
        # address or cache statistics, in any format; the failure is in the container's log.
        assert body == {
            "status": "degraded",
            "checks": {"Database": "ok", "CatalogCache": "failed"},
        }
        for accept in ("application/json", "text/plain", "text/html"):
            answer = app.get_with("/health/ready", {"Accept": accept})[1].decode()
            leaked = [w for w in ("Error 111", "6379", stack.redis, "connect") if w in answer]
            assert not leaked, f"{accept}: {leaked} in\n{answer[:2000]}"
        assert stack.redis in app.logs()  # the details: the log (and the metrics port)
    finally:
        engine("start", stack.redis)
    eventually(
        lambda: app.ready()[1]["checks"]["CatalogCache"] == "ok",
        timeout=30,
        interval=0.5,
        what="readiness reporting the cache up again",
    )
    assert app.chat(demo_key)[0] == 200


# -- metrics -----------------------------------------------------------------------------------


def test_metrics_port_aggregates_every_worker(app) -> None:
    """N requests spread over both workers add exactly N to the master's aggregate."""
    before = metric_sum(app.metrics(), REQUESTS_METRIC, method="GET")
    token = f"metrics-{time.monotonic_ns()}"

    def one(index: int) -> int:
        # A fresh connection per request, so both workers' accept loops get some.
        return app.get(f"/health/live?probe={token}-{index}")[0]

    sent, pids = 0, set()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for _ in range(5):
            assert set(pool.map(one, range(sent, sent + 40))) == {200}
            sent += 40
            pids = {
                record["pid"]
                for record in app.records()
                if record.get("logger") == "gunicorn.access" and token in record["query"]
            }
            if len(pids) >= 2:
                break
    assert len(pids) == 2, f"requests reached workers {pids}"
    assert metric_sum(app.metrics(), REQUESTS_METRIC, method="GET") - before == sent
    # The public port is Django's alone: no metrics there.
    assert app.get("/metrics")[0] == 404


def test_worker_exit_keeps_counters_and_drops_its_live_gauges(engine, app, eventually) -> None:
    """child_exit → mark_process_dead: a dead worker's live gauge files go, its counters stay."""
    before = metric_sum(app.metrics(), REQUESTS_METRIC, method="GET")
    files = engine("exec", app.name, "ls", "/run/metrics").split()
    live_pids = {int(m.group(1)) for f in files if (m := re.match(r"gauge_live\w+_(\d+)\.db", f))}
    assert live_pids, files
    victim = min(live_pids)
    engine("exec", app.name, "sh", "-c", f"kill -9 {victim}")

    def victim_gone() -> bool:
        remaining = engine("exec", app.name, "ls", "/run/metrics").split()
        return not any(re.match(rf"gauge_live\w+_{victim}\.db", f) for f in remaining)

    eventually(victim_gone, timeout=15, what=f"live gauge files of worker {victim} removed")
    eventually(lambda: app.get("/health/live")[0] == 200, timeout=30, what="live again")
    # The dead worker's requests still count: the sum never goes down.
    assert metric_sum(app.metrics(), REQUESTS_METRIC, method="GET") >= before + 1


# -- users, migrations, shutdown ----------------------------------------------------------------


def test_runs_as_an_arbitrary_uid(app_factory, demo_key) -> None:
    app = app_factory(user="12345:0", env={"GUNICORN_WORKERS": "1"})
    status, body = app.chat(demo_key)
    assert status == 200, body
    assert REQUESTS_METRIC in app.metrics()


def test_concurrent_migrate_runs_apply_each_migration_once(stack) -> None:
    database = f"migrate_race_{time.time_ns()}"
    stack.create_database(database)
    command = [
        stack.engine.name, "run", "--rm", "--network", stack.network, *stack.engine.read_only,
        *stack.env_args(DATABASE_URL=stack.database_url(database)), stack.image, "migrate",
    ]  # fmt: skip
    runs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=180)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert all("advisory lock 'wazen-ai:migrate' taken" in output for output in outputs), outputs
    assert sum("No migrations to apply." in output for output in outputs) == 1, outputs
    duplicates = stack.psql(
        database, "SELECT app, name FROM django_migrations GROUP BY 1, 2 HAVING count(*) > 1"
    )
    assert duplicates == ""


def test_migrate_gives_up_when_the_database_never_answers(stack) -> None:
    command = [
        stack.engine.name, "run", "--rm", "--network", stack.network, *stack.engine.read_only,
        *stack.env_args(
            DATABASE_URL=f"postgres://wazen:x@{stack.network}-nowhere:5432/wazen",
            DB_WAIT_TIMEOUT="3",
        ),
        stack.image, "migrate",
    ]  # fmt: skip
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "not reachable after 3s" in result.stderr, result.stderr
    assert time.monotonic() - started < 30


def test_sigterm_lets_an_in_flight_request_finish(engine, app_factory, demo_key, eventually):
    """Headers first, then SIGTERM, then the body: the reply still arrives (nginx finishes the
    requests it holds before gunicorn is stopped), and the container exits 0 inside the grace."""
    grace = 10
    app = app_factory(env={"GUNICORN_GRACEFUL_TIMEOUT": str(grace)})
    body = json.dumps({"message": "What services do you offer?"}).encode()
    head = (
        "POST /api/v1/chat HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {demo_key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", app.port), timeout=30) as client:
        client.sendall(head)
        time.sleep(0.5)  # a worker thread has the request and waits for its body
        engine("kill", "--signal", "TERM", app.name)
        signalled = time.monotonic()
        eventually(
            lambda: "SIGTERM: stopping nginx gracefully" in app.logs(),
            timeout=5,
            what="the supervisor got SIGTERM",
        )
        time.sleep(1.0)
        client.sendall(body)
        response = b""
        while chunk := client.recv(65536):
            response += chunk
    assert response.startswith(b"HTTP/1.1 200"), response[:500]
    assert json.loads(response.split(b"\r\n\r\n", 1)[1])["reply"]

    eventually(
        lambda: engine("inspect", app.name, "--format", "{{.State.Running}}") == "false",
        timeout=grace + 5,
        interval=0.2,
        what="the container exiting",
    )
    assert time.monotonic() - signalled < grace
    assert engine("inspect", app.name, "--format", "{{.State.ExitCode}}") == "0"
