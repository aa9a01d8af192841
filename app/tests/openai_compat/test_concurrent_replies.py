"""Many replies at once under the image's gunicorn (gevent workers): a reply holds no thread, no
database connection while the LLM talks, and a slot of the worker's in-flight limit; past the
limit the answer is 503 at once; a client that hangs up while the LLM is silent stops the
upstream. No timing is asserted: what the upstream saw (streams open at once, disconnects) and
what the clients and PostgreSQL report are the evidence."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.openai_compat.conftest import sse_events
from testsupport.chat_completions import (
    ChatCompletionsServer,
    Frame,
    Scripted,
    chunk,
    provider_env,
    stream_frames,
)
from testsupport.live_server import GunicornApp, metric_sum
from testsupport.servers import PostgresServer

pytestmark = pytest.mark.slow

PACE = 0.05  # seconds between the echo model's frames
_COMPANY = re.compile(r"customer assistant of (.+?)\. ")


def echo_reply(body: dict) -> str:
    """What the echo model answers: the company of the system prompt and the customer's words,
    so a reply that reached the wrong client (or the wrong tenant's prompt) shows."""
    company = _COMPANY.search(body["messages"][0]["content"]).group(1)
    return f"{company}: {body['messages'][-1]['content']}"


def echo_model(
    silence: float = 0.0, pace: float = PACE, gate: threading.Barrier | None = None
) -> ChatCompletionsServer:
    """Answers every request (streamed or not) with `echo_reply`, word by word, `pace` apart;
    the first word comes after `silence` (and after `gate`, when given, lets it pass)."""

    def respond(body: dict) -> Scripted:
        words = echo_reply(body).split(" ")
        tokens = [w + " " for w in words[:-1]] + [words[-1]]
        frames = stream_frames(tokens, delay=pace)
        frames[1].delay = silence or pace
        return Scripted(
            stream=frames, gate=gate if body["messages"][-1]["content"] != "warm up" else None
        )

    return ChatCompletionsServer(default=respond)


def start_app(tmp_path, redis_server, upstream, **env: str) -> tuple[GunicornApp, str]:
    if redis_server.process is None:
        redis_server.start()
    database_url = env.pop("database_url", "")
    app = GunicornApp(
        tmp_path,
        redis_url=redis_server.url,
        database_url=database_url,
        extra_env={**provider_env(upstream.base_url), "WAZEN_LLM_REPLY_DEADLINE": "30", **env},
    ).start()
    return app, app.seed_demo_key()


def second_tenant(app: GunicornApp) -> tuple[str, str]:
    """Another company with one service, and its key: (slug, key)."""
    out = app.manage(
        "shell",
        "-c",
        "from catalog.models import Service\n"
        "from tenancy.models import Company\n"
        "from tenancy.keys import api_key_issue\n"
        "c = Company.objects.create(slug='other', name='Other Co')\n"
        "Service.objects.create(company=c, name='Payroll', price='10.00', currency='SAR')\n"
        "print('KEY=' + api_key_issue(company=c, name='t')[1])",
    )
    return "other", out.strip().rsplit("KEY=", 1)[1]


def stream(app: GunicornApp, key: str, model: str, message: str) -> httpx.Response:
    return httpx.stream(
        "POST",
        app.url("/v1/chat/completions"),
        json={"model": model, "stream": True, "messages": [{"role": "user", "content": message}]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )


def streamed_text(response: httpx.Response) -> str:
    text = []
    for event in sse_events(response.iter_lines()):
        if event == "[DONE]":
            return "".join(text)
        assert "error" not in event, event
        text.append(event["choices"][0]["delta"].get("content") or "" if event["choices"] else "")
    raise AssertionError("the stream ended before [DONE]")


def run_all(count: int, target) -> list:
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            results[index] = target(index)
        except Exception as error:  # reported by the assertion on results
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


STREAMS = 120  # more than httpx's default pool of 100 upstream connections
GATE = threading.Barrier(STREAMS, timeout=30)


@pytest.fixture
def upstream() -> Iterator[ChatCompletionsServer]:
    with echo_model(gate=GATE) as server:
        yield server


def test_many_streams_at_once_each_get_their_own_tenants_reply(tmp_path, redis_server, upstream):
    """120 streams of two companies on one worker: the upstream holds each after its first frame
    until all 120 are open at once (a thread per reply, 2 here, would break that gate, and so
    would an LLM client pool of httpx's default 100 connections), and each client gets exactly
    its own words under its own company's name."""
    app, key = start_app(tmp_path, redis_server, upstream, GUNICORN_WORKERS="1")
    try:
        other, other_key = second_tenant(app)
        tenants = [("demo", key, "Wazen Demo Accounting"), (other, other_key, "Other Co")]
        for model, tenant_key, _ in tenants:  # warm each tenant's key and catalog
            with stream(app, tenant_key, model, "warm up") as response:
                streamed_text(response)
        upstream.max_open_streams = 0

        def ask(index: int) -> tuple[str, str]:
            model, tenant_key, company = tenants[index % 2]
            message = f"client {index} asks about payroll"
            with stream(app, tenant_key, model, message) as response:
                assert response.status_code == 200, response.read()
                return streamed_text(response).strip(), f"{company}: {message}"

        results = run_all(STREAMS, ask)
        assert not GATE.broken
        assert not [r for r in results if isinstance(r, Exception)], results
        assert all(got == expected for got, expected in results), results
        assert upstream.max_open_streams == STREAMS
    finally:
        app.stop()


def test_past_the_limit_a_reply_is_refused_at_once_and_the_others_complete(tmp_path, redis_server):
    """WAZEN_MAX_INFLIGHT_REPLIES=2: while two streams wait on a silent upstream, a third reply
    (either API) gets 503 with Retry-After in its API's error shape; the two complete, and their
    slots are free again afterwards."""
    with echo_model(silence=3.0) as upstream:
        app, key = start_app(
            tmp_path, redis_server, upstream, GUNICORN_WORKERS="1", WAZEN_MAX_INFLIGHT_REPLIES="2"
        )
        try:
            started = threading.Barrier(3)

            def hold(index: int) -> str:
                with stream(app, key, "demo", f"held {index}") as response:
                    lines = response.iter_lines()
                    first = next(sse_events(lines))  # the role frame: the reply is in flight
                    assert first["choices"][0]["delta"]["role"] == "assistant"
                    started.wait(timeout=30)
                    rest = streamed_text_from(lines)
                    return rest

            holders = [threading.Thread(target=lambda i=i: out.append(hold(i))) for i in range(2)]
            out: list[str] = []
            for thread in holders:
                thread.start()
            started.wait(timeout=30)
            in_flight = metric_sum(app.metrics(), "wazen_replies_in_flight")

            openai_refused = httpx.post(
                app.url("/v1/chat/completions"),
                json={"model": "demo", "messages": [{"role": "user", "content": "third"}]},
                headers={"Authorization": f"Bearer {key}"},
                timeout=30,
            )
            api_refused = httpx.post(
                app.url("/api/v1/chat"),
                json={"message": "third"},
                headers={"Authorization": f"Bearer {key}"},
                timeout=30,
            )
            still_waiting = sum(not s.ended.is_set() for s in upstream.streams)
            for thread in holders:
                thread.join(timeout=60)

            assert in_flight == 2
            assert still_waiting == 2  # both refusals came while the two replies were running
            assert openai_refused.status_code == 503
            assert openai_refused.headers["Retry-After"] == "1"
            error = openai_refused.json()["error"]
            assert error["code"] == "server_busy"
            assert error["type"] == "service_unavailable_error"
            assert api_refused.status_code == 503
            assert api_refused.headers["Retry-After"] == "1"
            assert api_refused.json()["error"]["code"] == "server_busy"
            assert sorted(out) == ["Wazen Demo Accounting: held 0", "Wazen Demo Accounting: held 1"]

            with stream(app, key, "demo", "after") as response:  # the slots were given back
                assert response.status_code == 200
                assert streamed_text(response).strip() == "Wazen Demo Accounting: after"
            metrics = app.metrics()
            assert metric_sum(metrics, "wazen_replies_in_flight") == 0
            assert metric_sum(metrics, "wazen_replies_rejected_total") == 2
        finally:
            app.stop()


def streamed_text_from(lines: Iterator[str]) -> str:
    text = []
    for event in sse_events(lines):
        if event == "[DONE]":
            return "".join(text).strip()
        text.append(event["choices"][0]["delta"].get("content") or "" if event["choices"] else "")
    raise AssertionError("the stream ended before [DONE]")


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "whole"])
def test_a_hang_up_while_the_upstream_is_silent_stops_the_upstream(
    tmp_path, redis_server, streamed
):
    """The client leaves during a 30 s upstream silence (nothing is being written to it, and a
    whole reply has not even sent its status line): the upstream is hung up on long before the
    silence ends."""
    silent = [Frame(chunk({"role": "assistant", "content": ""})), Frame(TOO_LATE, 30.0)]
    with ChatCompletionsServer() as upstream:
        upstream.responses.append(Scripted(stream=silent))
        app, key = start_app(tmp_path, redis_server, upstream, GUNICORN_WORKERS="1")
        try:
            body = json.dumps(
                {"model": "demo", "stream": streamed,
                 "messages": [{"role": "user", "content": "hello"}]}
            ).encode()  # fmt: skip
            with socket.create_connection(("127.0.0.1", app.port), timeout=30) as client:
                client.sendall(
                    b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Authorization: Bearer " + key.encode() + b"\r\n"
                    b"Content-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                if streamed:  # the status line and the role frame: the reply is under way
                    assert client.recv(65536).startswith(b"HTTP/1.1 200")
                for _ in range(200):  # the upstream was asked before the client leaves
                    if upstream.streams and upstream.streams[0].frames_written:
                        break
                    time.sleep(0.05)
                assert upstream.streams
            log = upstream.streams[0]
            assert log.disconnected.wait(10), "the upstream was not hung up on"
            assert log.frames_written == 1  # the silence never ended
            assert metric_sum(app.metrics(), "wazen_replies_client_gone_total") == 1
            assert eventually(lambda: metric_sum(app.metrics(), "wazen_replies_in_flight") == 0)
        finally:
            app.stop()


TOO_LATE = chunk({"content": "too late"})


def eventually(check, seconds: float = 10.0) -> bool:
    """The slot is given back when the server has closed the response, just after the hang-up."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_database_connections_do_not_grow_with_replies_in_flight(tmp_path, redis_server):
    """30 streams wait on the LLM at once against PostgreSQL with a pool of 3 per worker: the
    app's connections stay within 2 workers x 3, and every reply is stored."""
    postgres = PostgresServer().start()
    try:
        with echo_model(silence=2.0) as upstream:
            app, key = start_app(
                tmp_path,
                redis_server,
                upstream,
                database_url=postgres.url,
                DATABASE_POOL_MAX_SIZE="3",
                DATABASE_POOL_MIN_SIZE="0",
            )
            try:
                counts: list[int] = []
                stop = threading.Event()

                def sample() -> None:
                    while not stop.is_set():
                        counts.append(app_connections(postgres))
                        stop.wait(0.1)

                sampler = threading.Thread(target=sample)
                sampler.start()
                results = run_all(30, lambda i: _ask(app, key, i))
                stop.set()
                sampler.join()
                assert not [r for r in results if isinstance(r, Exception)], results
                assert results == [f"Wazen Demo Accounting: question {i}" for i in range(30)]
                assert upstream.max_open_streams == 30
                assert max(counts) <= 6, counts
                stored = app.manage(
                    "shell", "-c",
                    "from assistant.models import Message\n"
                    "print(Message.objects.filter(content__startswith='question ').count())",
                )  # fmt: skip
                assert stored.strip().splitlines()[-1] == "30"
            finally:
                app.stop()
    finally:
        postgres.stop()


def _ask(app: GunicornApp, key: str, index: int) -> str:
    with stream(app, key, "demo", f"question {index}") as response:
        assert response.status_code == 200, response.read()
        return streamed_text(response).strip()


def app_connections(postgres: PostgresServer) -> int:
    import psycopg

    with psycopg.connect(postgres.url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0])


def test_probes_answer_while_replies_wait_on_the_llm(tmp_path, redis_server):
    """Under the gevent workers the probes run their checks in their own greenlet: /health/ready
    and /health/startup answer 200 while replies wait on the LLM, and the replies (whose
    database work shares the worker with the probes' checks) complete with their text."""
    with echo_model(silence=1.0) as upstream:
        app, key = start_app(tmp_path, redis_server, upstream, GUNICORN_WORKERS="1")
        try:
            probes: list[int] = []

            def ask(index: int) -> str:
                return _ask(app, key, index)

            replies = threading.Thread(target=lambda: out.extend(run_all(10, ask)))
            out: list = []
            replies.start()
            while replies.is_alive() or len(probes) < 4:
                for path in ("/health/ready", "/health/startup", "/health/live"):
                    probes.append(httpx.get(app.url(path), timeout=10).status_code)
                time.sleep(0.05)
            replies.join()
            assert set(probes) == {200}, probes
            assert out == [f"Wazen Demo Accounting: question {i}" for i in range(10)]
        finally:
            app.stop()
