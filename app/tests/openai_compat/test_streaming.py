"""Streaming with the openai provider: upstream tokens pass through the app under gunicorn as
they arrive, read by two independent clients (plain httpx and the official SDK); an order placed
by a streamed tool call reaches the client; a client that leaves mid-stream hangs up the
upstream, and the conversation keeps what was said."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.openai_compat.conftest import Document, sdk, sse_events
from testsupport.chat_completions import (
    ChatCompletionsServer,
    Scripted,
    completion,
    provider_env,
    stream_frames,
)
from testsupport.live_server import GunicornApp, metric_sum

pytestmark = pytest.mark.slow

TOKENS = [f"word{i} " for i in range(20)]
PACE = 0.05  # seconds between upstream frames


@pytest.fixture(scope="module")
def upstream():
    with ChatCompletionsServer() as server:
        yield server


@pytest.fixture(scope="module")
def llm_app(tmp_path_factory, redis_server, upstream):
    if redis_server.process is None:
        redis_server.start()
    app = GunicornApp(
        tmp_path_factory.mktemp("streaming"),
        redis_url=redis_server.url,
        extra_env={**provider_env(upstream.base_url), "WAZEN_LLM_REPLY_DEADLINE": "20"},
    ).start()
    try:
        yield app, app.seed_demo_key()
    finally:
        app.stop()


def _post_stream(app: GunicornApp, key: str, body: dict) -> httpx.Response:
    return httpx.stream(
        "POST",
        app.url("/v1/chat/completions"),
        json={"model": "demo", "stream": True, **body},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )


def test_the_first_chunk_arrives_long_before_the_reply_is_complete(llm_app, upstream):
    app, key = llm_app
    upstream.responses.append(Scripted(stream=stream_frames(TOKENS, delay=PACE)))
    arrivals: list[tuple[float, str]] = []
    started = time.perf_counter()
    body = {"messages": [{"role": "user", "content": "hello"}]}
    with _post_stream(app, key, body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-accel-buffering"] == "no"
        for event in sse_events(response.iter_lines()):
            arrivals.append((time.perf_counter() - started, event))
    content = [(at, e) for at, e in arrivals if e != "[DONE]" and e["choices"]
               and e["choices"][0]["delta"].get("content")]  # fmt: skip
    first_chunk, complete = content[0][0], arrivals[-1][0]
    assert arrivals[-1][1] == "[DONE]"
    assert "".join(e["choices"][0]["delta"]["content"] for _, e in content) == "".join(TOKENS)
    # 20 tokens 50 ms apart: the upstream paces the last second of the reply. Unbuffered, the
    # first word arrives with the first upstream token, about that second before the end;
    # buffering anywhere would make the two equal. (Relative to the end, so a cold worker's
    # start-up delays both alike.)
    upstream_pacing = len(TOKENS) * PACE
    assert complete - first_chunk >= 0.5 * upstream_pacing, (first_chunk, complete)
    # …and the words keep arriving one by one, not in a burst at the end.
    assert complete - content[len(content) // 2][0] >= 0.25 * upstream_pacing


def test_the_sdk_receives_each_upstream_token_as_a_chunk(llm_app, upstream):
    upstream.responses.append(Scripted(stream=stream_frames(TOKENS, delay=0.01)))
    stream = sdk(*llm_app).chat.completions.create(
        model="demo", messages=[{"role": "user", "content": "hello"}], stream=True
    )
    texts = [chunk.choices[0].delta.content for chunk in stream if chunk.choices]
    assert [t for t in texts if t] == TOKENS
    request = upstream.requests[-1]["body"]
    assert request["stream"] is True
    assert request["messages"][-1] == {"role": "user", "content": "hello"}


def _service_id(app: GunicornApp, key: str, name: str) -> int:
    listing = httpx.get(app.url("/api/v1/services"), headers={"Authorization": f"Bearer {key}"})
    return next(s["id"] for s in listing.json()["services"] if s["name"] == name)


def test_an_order_placed_by_a_streamed_tool_call_reaches_the_client(llm_app, upstream):
    app, key = llm_app
    payroll = _service_id(app, key, "Payroll")
    upstream.responses.append(
        Scripted(
            stream=stream_frames(
                ["Certainly. "], [("place_order", json.dumps({"service_id": payroll}))]
            )
        )
    )
    client = sdk(app, key)
    chunks = list(
        client.chat.completions.create(
            model="demo", messages=[{"role": "user", "content": "order payroll"}], stream=True
        )
    )
    proposal = chunks[-1].metadata["proposal"]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert proposal["service_name"] == "Payroll"
    assert "order" not in chunks[-1].metadata
    assert text.startswith("Certainly. ")
    assert "Please confirm your order: Payroll × 1" in text
    # The customer's yes is the server's to read: no upstream response is scripted for it.
    confirmed = list(
        client.chat.completions.create(
            model="demo",
            messages=[{"role": "user", "content": "yes"}],
            metadata={"conversation_id": chunks[-1].metadata["conversation_id"]},
            stream=True,
        )
    )
    order = confirmed[-1].metadata["order"]
    text = "".join(c.choices[0].delta.content or "" for c in confirmed if c.choices)
    assert order["service_name"] == "Payroll"
    assert f"#{order['id']}" in text


def test_a_client_that_leaves_stops_the_upstream_and_the_conversation_keeps_what_was_said(
    llm_app, upstream
):
    app, key = llm_app
    tokens = [f"part{i} " for i in range(60)]
    upstream.responses.append(Scripted(stream=stream_frames(tokens, delay=0.1)))
    abandoned = metric_sum(app.metrics(), "wazen_replies_abandoned_total")
    received: list[str] = []
    with _post_stream(app, key, {"messages": [{"role": "user", "content": "tell me all"}]}) as r:
        lines = r.iter_lines()
        for event in sse_events(lines):
            conversation = event["metadata"]["conversation_id"] if "metadata" in event else None
            if conversation:
                conversation_id = conversation
            delta = event["choices"][0]["delta"].get("content") if event["choices"] else None
            if delta:
                received.append(delta)
            if len(received) == 3:
                break  # the client goes away mid-stream
    log = upstream.streams[-1]
    assert log.disconnected.wait(10), "the upstream call was not stopped"
    assert log.frames_written < log.frames
    deadline = time.monotonic() + 10
    while metric_sum(app.metrics(), "wazen_replies_abandoned_total") < abandoned + 1:
        assert time.monotonic() < deadline, "the abandoned reply was not counted"
        time.sleep(0.1)
    # The conversation holds the customer's message and what the assistant had said: the next
    # turn's prompt to the upstream carries both.
    upstream.responses.append(Scripted(body=completion("Anything else?")))
    sdk(app, key).chat.completions.create(
        model="demo",
        messages=[{"role": "user", "content": "go on"}],
        metadata={"conversation_id": conversation_id},
    )
    history = upstream.requests[-1]["body"]["messages"][1:-1]
    assert history[0] == {"role": "user", "content": "tell me all"}
    assert history[1]["role"] == "assistant"
    said = history[1]["content"]
    assert said.startswith("".join(received))
    assert len(said) < len("".join(tokens))


def test_streamed_frames_and_replies_match_the_openapi_document(llm_app, upstream):
    app, key = llm_app
    document = Document(httpx.get(app.url("/api/v1/openapi.json")).json())
    upstream.responses.append(Scripted(stream=stream_frames(TOKENS[:3])))
    with _post_stream(
        app,
        key,
        {
            "messages": [{"role": "user", "content": "hi"}],
            "stream_options": {"include_usage": True},
        },
    ) as response:
        events = list(sse_events(response.iter_lines()))  # fmt: skip
    name = document.response_schema("/v1/chat/completions", "post", 200, "text/event-stream")
    assert events[-1] == "[DONE]"
    for event in events[:-1]:
        document.validate(name, event)
    assert events[-2]["usage"]["total_tokens"] > 0


def test_replies_are_counted_by_endpoint_and_streams_by_first_text(llm_app, upstream):
    app, key = llm_app
    before = app.metrics()
    upstream.responses.append(Scripted(stream=stream_frames(TOKENS[:2])))
    with _post_stream(app, key, {"messages": [{"role": "user", "content": "hi"}]}) as response:
        list(response.iter_lines())
    after = app.metrics()

    def grew(name: str, **labels: str) -> float:
        return metric_sum(after, name, **labels) - metric_sum(before, name, **labels)

    by_view = "django_http_responses_total_by_status_view_method_total"
    assert grew(by_view, view="openai-chat-completions", status="200") == 1
    assert grew("wazen_reply_first_chunk_seconds_count", provider="openai") == 1
    assert grew("wazen_reply_duration_seconds_count", provider="openai") == 1
