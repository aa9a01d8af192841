"""Streamed replies through the image as the chart runs it: nginx (docker/nginx.conf.template,
response buffering on for slow readers) in front of gunicorn. With `LLM_PROVIDER=openai` pointed
at a scripted upstream that streams tokens at a pace, the SSE frames of `POST
/v1/chat/completions` must leave the container's published port as they are produced, and a
client that hangs up mid-stream must hang up the upstream call (nginx → gunicorn → app →
upstream), counted in `wazen_replies_abandoned_total`.

Where the upstream runs, and why: in a container of its own on the stack's network, started from
the app image (its Python, nothing installed) with testsupport/chat_completions.py and
testsupport/streaming_upstream.py mounted read-only (`python -m testsupport.streaming_upstream`).
The app container reaches it by name, exactly as it reaches PostgreSQL and Redis here; the test
drives it through a published control port. Reaching a server on the host instead would depend
on the engine and the host: podman's `host.containers.internal`, Docker's `host-gateway` (Docker
≥ 20.10, an `--add-host` flag), a rootless network mode that may hide the host's loopback, and a
host firewall that may drop traffic from the container bridge. The network-only setup works the
same with podman and Docker.
"""

from __future__ import annotations

import http.client
import itertools
import json
import secrets
import socket
import statistics
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from testsupport.chat_completions import provider_env

pytestmark = pytest.mark.container

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "wazen-img-test-"
TOKENS = [f"word{i} " for i in range(20)]
PACE = 0.075  # seconds between two upstream frames


@dataclass
class Upstream:
    """The scripted upstream's container: its name on the network and its control port."""

    name: str
    control_port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.name}:8080/v1"

    def _control(self, path: str, payload: dict | None = None) -> object:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.control_port}{path}",
            data=None if payload is None else json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def script(self, tokens: list[str], delay: float) -> None:
        self._control("/script", {"tokens": tokens, "delay": delay})

    def streams(self) -> list[dict]:
        return self._control("/streams")  # type: ignore[return-value]


@pytest.fixture(scope="module")
def upstream(stack, engine) -> Iterator[Upstream]:
    name = f"{PREFIX}{secrets.token_hex(3)}-upstream"
    # The package's standard-library-only modules, as a package under /upstream; `python -m`
    # finds it in its working directory (the entrypoint starts in /app: hence the cd).
    package = ROOT / "testsupport"
    volumes: list[str] = []
    for module in ("__init__.py", "chat_completions.py", "streaming_upstream.py"):
        volumes += ["-v", f"{package / module}:/upstream/testsupport/{module}:ro"]
    engine(
        "run", "-d", "--name", name, "--network", stack.network, "--user", "10001:10001",
        *engine.read_only, *volumes, "-p", "127.0.0.1::8081", stack.image,
        "sh", "-c", "cd /upstream && exec python -B -m testsupport.streaming_upstream",
    )  # fmt: skip
    try:
        server = Upstream(name=name, control_port=engine.host_port(name, 8081))
        deadline = time.monotonic() + 30
        while True:
            try:
                assert server.streams() == []
                break
            except OSError as error:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"the upstream did not answer: {error}\n{engine.logs(name)[-3000:]}"
                    ) from error
                time.sleep(0.1)
        yield server
    finally:
        engine.remove(name)


@pytest.fixture(scope="module")
def llm_env(upstream) -> dict[str, str]:
    return {
        **provider_env(upstream.base_url),
        "WAZEN_LLM_REPLY_DEADLINE": "20",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "4",
    }


@dataclass
class Stream:
    """One streamed request read frame by frame over http.client (no client-side buffering)."""

    connection: http.client.HTTPConnection
    sock: socket.socket
    response: http.client.HTTPResponse
    started: float

    def events(self) -> Iterator[tuple[float, dict | str]]:
        """(seconds since the request was sent, parsed `data:` payload) as each frame arrives."""
        while True:
            line = self.response.readline()
            if not line:
                return
            line = line.strip()
            if line.startswith(b"data: "):
                data = line[len(b"data: ") :].decode()
                at = time.perf_counter() - self.started
                yield at, data if data == "[DONE]" else json.loads(data)

    def hang_up(self) -> None:
        """Close the connection at once (FIN), as a browser tab closed mid-reply does."""
        self.sock.shutdown(socket.SHUT_RDWR)
        self.response.close()
        self.connection.close()


def open_stream(port: int, key: str, message: str) -> Stream:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps(
        {"model": "demo", "stream": True, "messages": [{"role": "user", "content": message}]}
    )
    started = time.perf_counter()
    connection.request(
        "POST",
        "/v1/chat/completions",
        body=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    sock = connection.sock
    response = connection.getresponse()
    return Stream(connection, sock, response, started)


def read_all(port: int, key: str) -> list[tuple[float, dict | str]]:
    stream = open_stream(port, key, "hello")
    try:
        assert stream.response.status == 200, stream.response.read()[:500]
        assert stream.response.getheader("Content-Type", "").startswith("text/event-stream")
        return list(stream.events())
    finally:
        stream.hang_up()


def content(event: dict | str) -> str:
    if event == "[DONE]" or not event["choices"]:  # type: ignore[index]
        return ""
    return event["choices"][0]["delta"].get("content") or ""  # type: ignore[index]


def abandoned(metrics: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("wazen_replies_abandoned_total")
    )


def test_tokens_leave_the_published_port_as_the_upstream_produces_them(
    app_factory, demo_key, upstream, llm_env, measurements
):
    app = app_factory(env=llm_env)
    # A first reply warms the worker (imports, key and catalog cached, upstream client built): the
    # numbers below are then the path's, not a cold start's.
    upstream.script(["warm "], 0)
    cold = read_all(app.port, demo_key)
    upstream.script(TOKENS, PACE)
    arrivals = read_all(app.port, demo_key)
    words = [(at, content(event)) for at, event in arrivals if content(event)]
    assert arrivals[-1][1] == "[DONE]"
    assert "".join(text for _, text in words) == "".join(TOKENS)
    first, complete = words[0][0], arrivals[-1][0]
    spread = words[-1][0] - words[0][0]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(words)]
    measurements[f"streamed reply through nginx, {len(TOKENS)} tokens x {PACE * 1000:.0f} ms"] = (
        f"first chunk {first * 1000:.0f} ms, complete {complete * 1000:.0f} ms, "
        f"first→last word {spread * 1000:.0f} ms, "
        f"median gap {statistics.median(gaps) * 1000:.0f} ms"
        f" (a cold worker's first, unpaced reply: {cold[-1][0] * 1000:.0f} ms)"
    )
    # The upstream needs (tokens + 3 frames) * PACE for the whole reply; the first word leaves
    # with the upstream's first token. Any buffer on the way makes first ≈ complete.
    assert complete >= len(TOKENS) * PACE
    assert first < 0.5 * complete, (first, complete)
    # …and the words keep coming one by one, not in a burst at the end: they are spread over
    # most of the upstream's pace, and the middle one arrives well before the end.
    assert spread >= 0.5 * (len(TOKENS) - 1) * PACE, gaps
    assert words[len(words) // 2][0] < complete - 0.25 * len(TOKENS) * PACE


def test_a_client_that_hangs_up_hangs_up_the_upstream(
    app_factory, demo_key, upstream, llm_env, measurements
):
    app = app_factory(env=llm_env)
    before = abandoned(app.metrics())
    tokens = [f"part{i} " for i in range(60)]
    upstream.script(tokens, 0.1)  # 6 s if nobody hung up
    served = len(upstream.streams())
    stream = open_stream(app.port, demo_key, "tell me all")
    received: list[str] = []
    try:
        assert stream.response.status == 200
        for _, event in stream.events():
            if content(event):
                received.append(content(event))
            if len(received) == 3:
                break
    finally:
        stream.hang_up()
    left = time.perf_counter()

    def upstream_log() -> dict | None:
        streams = upstream.streams()
        return streams[served] if len(streams) > served else None

    deadline = left + 10
    while not (log := upstream_log()) or not log["ended"]:
        assert time.perf_counter() < deadline, f"the upstream call was not stopped: {log}"
        time.sleep(0.05)
    upstream_seconds = time.perf_counter() - left
    # Three words read (~0.5 s in), the rest would take ~5.7 s: a front that finishes reading
    # the upstream for a client that is gone lets it write (nearly) every frame before the end.
    assert log["disconnected"], log
    assert log["frames_written"] <= log["frames"] // 2, log
    while abandoned(app.metrics()) < before + 1:
        assert time.perf_counter() < deadline, "the abandoned reply was not counted"
        time.sleep(0.1)
    measurements["client hang-up → upstream sees it (nginx front)"] = (
        f"≤ {upstream_seconds * 1000:.0f} ms; upstream wrote {log['frames_written']} of "
        f"{log['frames']} frames"
    )
    assert abandoned(app.metrics()) == before + 1
