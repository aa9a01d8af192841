"""Provider.stream() of the OpenAI provider: a real SSE upstream (the local chat-completions
server) through the real SDK and HTTP client. The catalog provider's chunks and the SSE framing:
test_stream_basics.py."""

from __future__ import annotations

import json
import threading
import time
from contextlib import nullcontext

import pytest

from assistant import providers
from assistant.providers import Intent, ProviderError, ProviderReply, Turn
from assistant.providers import openai_sse as sse_module
from assistant.providers.deadline import current_budget, reply_budget
from tests.assistant.streams import SNAPSHOT, ask, drain
from testsupport.chat_completions import (
    DONE,
    Frame,
    Scripted,
    chunk,
    completion,
    stream_frames,
)

# --- the OpenAI provider ---


@pytest.fixture
def openai_provider(llm, settings):
    settings.OPENAI_TIMEOUT = 2.0
    settings.OPENAI_MAX_RETRIES = 1
    settings.WAZEN_LLM_REPLY_DEADLINE = 10.0
    providers._provider.cache_clear()
    return providers.get_provider()


TOKENS = ["Payroll", " costs", " 35.00", " SAR", " a", " month", ".", " Anything", " else", "?"]


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "close-delimited"])
def test_deltas_arrive_before_the_upstream_finishes(llm, openai_provider, chunked):
    llm.responses.append(Scripted(stream=stream_frames(TOKENS, delay=0.12), chunked=chunked))
    started = time.monotonic()
    arrivals, items = [], []
    for item in ask(openai_provider, "how much is payroll?"):
        arrivals.append(time.monotonic() - started)
        items.append(item)
    total = time.monotonic() - started
    *deltas, reply = items
    assert deltas == TOKENS  # one delta per upstream chunk, in order, none merged or lost
    assert reply == ProviderReply("".join(TOKENS))
    assert total >= 13 * 0.12  # the upstream took its time ...
    assert arrivals[0] < total / 3  # ... and the first token did not wait for the rest
    assert arrivals[len(TOKENS) // 2] < total * 0.8
    request = llm.requests[0]["body"]
    assert request["stream"] is True
    assert request["tools"][0]["function"]["name"] == "place_order"
    assert request["messages"][-1] == {"role": "user", "content": "how much is payroll?"}


def _nonstreamed_reply(llm, provider, body) -> ProviderReply:
    llm.responses.append(Scripted(body=body))
    return provider.reply(company_name="Acme", snapshot=SNAPSHOT, history=[], message="x")


@pytest.mark.parametrize(
    ("calls", "intent", "fields"),
    [
        ([("place_order", '{"service_id": 2}')], Intent.ORDER,
         {"order_service_id": 2, "service_ids": (2,)}),
        ([("order_status", '{"order_id": 7}')], Intent.ORDER_STATUS, {"order_id": 7}),
        ([("cancel_order", "{}")], Intent.ORDER_CANCEL, {"order_id": None}),
        ([("weather", '{"city": "Riyadh"}'), ("cancel_order", '{"order_id": 3}')],
         Intent.ORDER_CANCEL, {"order_id": 3}),  # an unknown tool is skipped, as reply() does
    ],
    ids=["order", "status", "cancel", "unknown-then-cancel"],
)  # fmt: skip
@pytest.mark.parametrize("pieces", [1, 4, 50])
def test_tool_calls_split_across_chunks(llm, openai_provider, calls, intent, fields, pieces):
    text = ["Sure", ", one", " moment."]
    llm.responses.append(Scripted(stream=stream_frames(text, calls, pieces=pieces)))
    deltas, reply = drain(ask(openai_provider, "do it"))
    assert deltas == text
    assert reply.intent is intent
    assert reply.text == "Sure, one moment."
    for name, value in fields.items():
        assert getattr(reply, name) == value
    body = completion("".join(text))
    body["choices"][0]["message"]["tool_calls"] = [
        {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": a}}
        for i, (n, a) in enumerate(calls)
    ]
    assert reply == _nonstreamed_reply(llm, openai_provider, body)  # the same as reply()


def test_tool_call_fragments_of_interleaved_calls_add_up_by_index(llm, openai_provider):
    frames = [
        Frame(chunk({"tool_calls": [
            {"index": 1, "id": "b", "type": "function",
             "function": {"name": "place_order", "arguments": '{"serv'}},
            {"index": 0, "id": "a", "type": "function",
             "function": {"name": "wea", "arguments": '{"ci'}},
        ]})),
        Frame(chunk({"tool_calls": [
            {"index": 0, "function": {"name": "ther", "arguments": 'ty": "x"}'}},
            {"index": 1, "function": {"arguments": 'ice_id": 3}'}},
        ]})),
        Frame(chunk({}, "tool_calls")),
        Frame(DONE),
    ]  # fmt: skip
    llm.responses.append(Scripted(stream=frames))
    deltas, reply = drain(ask(openai_provider, "order payroll"))
    assert deltas == []
    assert reply == ProviderReply("", order_service_id=3, intent=Intent.ORDER, service_ids=(3,))


def test_an_upstream_that_ignores_stream_true_still_answers(llm, openai_provider):
    llm.responses.append(Scripted(body=completion("Whole at once.")))
    deltas, reply = drain(ask(openai_provider, "hi"))
    assert deltas == ["Whole at once."]
    assert reply == ProviderReply("Whole at once.")


def _tool_stream(arguments: str) -> list[Frame]:
    return stream_frames(["ok"], [("place_order", arguments)], pieces=2)


def _bad_delta(delta) -> list[Frame]:
    return [Frame(chunk({"content": "Hi"})), Frame(chunk(delta)), Frame(DONE)]


MALFORMED_STREAMS = {
    "broken-chunk-json": ([Frame(chunk({"content": "Hi"})), Frame(b'data: {"choices": [\n\n')],
                          "invalid_json"),
    "nan-in-chunk": ([Frame(b'data: {"choices": [], "x": NaN}\n\n')], "invalid_json"),
    "chunk-is-a-list": ([Frame(["choices"])], "malformed_response"),
    "choices-not-a-list": ([Frame({"choices": {"0": 1}})], "malformed_response"),
    "choice-not-an-object": ([Frame({"choices": [None]})], "malformed_response"),
    "delta-not-an-object": ([Frame(chunk({"content": "Hi"})), Frame({"choices": [{"delta": 3}]})],
                            "malformed_response"),
    "content-not-a-string": (_bad_delta({"content": 42}), "malformed_response"),
    "finish-reason-not-a-string": ([Frame({"choices": [{"delta": {}, "finish_reason": 1}]})],
                                   "malformed_response"),
    "no-done": (stream_frames(["Hello", " there"], done=False), "malformed_response"),
    "html-as-event-stream": ([Frame(b"<html><body>502 Bad gateway</body></html>\n")],
                             "malformed_response"),
    "not-utf8": ([Frame(b"data: \xff\xfe\n\n")], "malformed_response"),
    "error-frame": ([Frame(chunk({"content": "Hi"})),
                     Frame({"error": {"message": "overloaded", "type": "server_error"}})],
                    "upstream_error"),
    "error-event": ([Frame(b'event: error\ndata: {"message": "overloaded"}\n\n')],
                    "upstream_error"),
    "tool-args-not-json": (_tool_stream("not json"), "bad_tool_call"),
    "tool-args-overflow": (_tool_stream('{"service_id": 1e999}'), "bad_tool_call"),
    "tool-args-a-list": (_tool_stream("[1]"), "bad_tool_call"),
    "tool-args-boolean-id": (_tool_stream('{"service_id": true}'), "bad_tool_call"),
    "tool-index-not-int": (_bad_delta({"tool_calls": [{"index": "0", "function": {}}]}),
                           "bad_tool_call"),
    "tool-index-huge": (_bad_delta({"tool_calls": [{"index": 10**9, "function": {}}]}),
                        "bad_tool_call"),
    "tool-fragment-not-object": (_bad_delta({"tool_calls": [7]}), "bad_tool_call"),
    "tool-name-not-string": (_bad_delta({"tool_calls": [{"index": 0, "function": {"name": 1}}]}),
                             "bad_tool_call"),
    "tool-call-without-name": (_bad_delta({"tool_calls": [{"index": 0, "function":
                                                           {"arguments": "{}"}}]}),
                               "bad_tool_call"),
    "nothing-said": (stream_frames([]), "empty_response"),
}  # fmt: skip


@pytest.mark.parametrize(
    ("frames", "reason"), MALFORMED_STREAMS.values(), ids=MALFORMED_STREAMS.keys()
)
def test_malformed_streams_become_a_provider_error(llm, openai_provider, frames, reason):
    llm.responses.extend([Scripted(stream=frames)] * 2)
    deltas = []
    with pytest.raises(ProviderError) as raised:
        for item in ask(openai_provider, "hi"):
            deltas.append(item)
    assert raised.value.reason == reason
    assert len(raised.value.args[0]) < 400  # a bounded message, whatever the upstream sent
    assert len(llm.requests) == 1  # a malformed stream is not retried
    assert all(isinstance(d, str) for d in deltas)
    assert current_budget() is None


def test_an_over_long_line_is_refused_without_buffering_it(llm, openai_provider, monkeypatch):
    monkeypatch.setattr(sse_module, "MAX_LINE_BYTES", 1000)
    llm.responses.append(Scripted(stream=[Frame(b"data: " + b"x" * 5000)] * 3))
    with pytest.raises(ProviderError) as raised:
        list(ask(openai_provider, "hi"))
    assert raised.value.reason == "malformed_response"


def test_the_reply_deadline_bounds_a_slow_drip_stream(llm, openai_provider, settings):
    """Every frame comes well within OPENAI_TIMEOUT, so only the reply's budget can stop it."""
    settings.WAZEN_LLM_REPLY_DEADLINE = 1.0
    llm.responses.append(Scripted(stream=stream_frames(["tick"] * 60, delay=0.1)))  # 6 s
    deltas, started = [], time.monotonic()
    with pytest.raises(ProviderError) as raised:
        for item in ask(openai_provider, "hi"):
            deltas.append(item)
    elapsed = time.monotonic() - started
    assert raised.value.reason == "deadline"
    assert 1.0 <= elapsed < 1.0 + 1.0  # generous; the whole drip would take 6 s
    assert 3 <= len(deltas) < 60  # tokens flowed until the budget ran out
    assert len(llm.requests) == 1  # text was shown: no retry
    assert current_budget() is None
    assert llm.streams[0].disconnected.wait(2)  # and the upstream was hung up on


def test_a_stall_before_the_first_token_is_retried(llm, openai_provider, settings):
    settings.OPENAI_TIMEOUT = 0.4
    stalled = [Frame(chunk({"role": "assistant", "content": ""})), Frame(DONE, delay=3)]
    llm.responses.extend(
        [Scripted(stream=stalled), Scripted(stream=stream_frames(["second", " try"]))]
    )
    deltas, reply = drain(ask(openai_provider, "hi"))
    assert deltas == ["second", " try"]
    assert reply.text == "second try"
    assert len(llm.requests) == 2


def test_an_upstream_5xx_is_retried_before_streaming(llm, openai_provider):
    llm.responses.extend(
        [Scripted(503, {"error": {"message": "busy"}}), Scripted(stream=stream_frames(["ok"]))]
    )
    deltas, reply = drain(ask(openai_provider, "hi"))
    assert deltas == ["ok"]
    assert reply.text == "ok"
    assert len(llm.requests) == 2


@pytest.mark.parametrize(
    ("scripted", "reason"),
    [
        (Scripted(stream=[Frame(chunk({"content": "Hello"})), Frame(DONE, delay=3)]), "timeout"),
        (Scripted(stream=[Frame(chunk({"content": "Hello"}))], cut=True), "connection"),
    ],
    ids=["stall", "connection-cut"],
)
def test_no_retry_once_text_was_handed_out(llm, openai_provider, settings, scripted, reason):
    settings.OPENAI_TIMEOUT = 0.4
    llm.responses.extend([scripted, Scripted(stream=stream_frames(["a retry would say this"]))])
    deltas = []
    with pytest.raises(ProviderError) as raised:
        for item in ask(openai_provider, "hi"):
            deltas.append(item)
    assert raised.value.reason == reason
    assert deltas == ["Hello"]
    assert len(llm.requests) == 1


def test_a_connection_cut_before_any_text_is_retried(llm, openai_provider):
    cut = Scripted(stream=[Frame(chunk({"role": "assistant", "content": ""}))], cut=True)
    llm.responses.extend([cut, Scripted(stream=stream_frames(["fine"]))])
    deltas, reply = drain(ask(openai_provider, "hi"))
    assert deltas == ["fine"]
    assert reply.text == "fine"
    assert len(llm.requests) == 2


def test_nothing_is_sent_until_the_stream_is_read(llm, openai_provider):
    llm.responses.append(Scripted(stream=stream_frames(["hi"])))
    stream = ask(openai_provider, "hi")
    time.sleep(0.2)
    assert llm.requests == []
    assert drain(stream)[1].text == "hi"


@pytest.mark.parametrize("outer", [False, True], ids=["no-budget-before", "a-budget-before"])
def test_closing_early_hangs_up_on_the_upstream_and_restores_the_budget(
    llm, openai_provider, outer
):
    llm.responses.append(Scripted(stream=stream_frames(["word "] * 100, delay=0.03)))  # 3 s
    with reply_budget(60) if outer else nullcontext() as before:
        assert current_budget() is before
        stream = ask(openai_provider, "hi")
        assert next(stream) == "word "
        assert current_budget() is before  # not left set while the generator is suspended
        assert next(stream) == "word "
        started = time.monotonic()
        stream.close()
        closed_in = time.monotonic() - started
        assert current_budget() is before
    log = llm.streams[0]
    assert log.disconnected.wait(2)
    assert log.disconnected_at is not None
    assert log.disconnected_at - started < 1.0  # noticed at once, not at the end of the stream
    assert closed_in < 0.5
    assert log.frames_written < 40  # of 104: the upstream stopped sending
    assert len(llm.requests) == 1


def test_an_exhausted_stream_restores_the_budget_and_can_be_read_on_another_thread(
    llm, openai_provider
):
    llm.responses.append(Scripted(stream=stream_frames(["a", "b", "c"], delay=0.01)))
    with reply_budget(60) as outer:
        stream = ask(openai_provider, "hi")
        first = next(stream)
        seen: dict[str, object] = {}

        def rest() -> None:
            seen["items"] = list(stream)
            seen["budget"] = current_budget()

        reader = threading.Thread(target=rest)
        reader.start()
        reader.join(5)
        assert current_budget() is outer
    assert first == "a"
    *deltas, reply = seen["items"]
    assert deltas == ["b", "c"]
    assert reply.text == "abc"
    assert seen["budget"] is None  # the other thread's budget was never touched either
    assert llm.streams[0].ended.is_set()
    assert not llm.streams[0].disconnected.is_set()


def test_the_stream_carries_history_like_reply(llm, openai_provider):
    llm.responses.append(Scripted(stream=stream_frames(["yes"])))
    history = [Turn("user", "tell me about payroll"), Turn("assistant", "Payroll costs 35.")]
    drain(ask(openai_provider, "order it", history))
    messages = llm.requests[0]["body"]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert "Payroll" in messages[0]["content"]
    assert json.dumps(messages[-1]) == json.dumps({"role": "user", "content": "order it"})


def test_the_reply_ends_at_done_not_when_the_upstream_closes(llm, openai_provider):
    """Some servers keep the response open after [DONE]; the reply must not wait for them."""
    frames = [*stream_frames(["done", " here"]), Frame(b": still open\n\n", delay=3)]
    llm.responses.append(Scripted(stream=frames))
    started = time.monotonic()
    deltas, reply = drain(ask(openai_provider, "hi"))
    assert deltas == ["done", " here"]
    assert reply.text == "done here"
    assert time.monotonic() - started < 2
