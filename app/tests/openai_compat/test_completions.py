"""/v1/chat/completions in process (Django's test client): the guarantees it shares with
/api/v1/chat (one catalog snapshot per reply, orders re-checked in the database, the reply
deadline, tenant isolation), and every hostile body a 4xx in OpenAI's shape, never a 500."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from assistant import services
from assistant.models import Conversation, Message, Order
from catalog import cache as catalog_cache
from catalog.models import Service
from tenancy.keys import api_key_issue
from testsupport.chat_completions import Frame, Scripted, stream_frames

pytestmark = pytest.mark.django_db(transaction=True)


def post(client, key, body, **extra):
    payload = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(
        "/v1/chat/completions", payload, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}", **extra,
    )  # fmt: skip


def events(response) -> list:
    """The decoded `data:` payloads of a streamed response (the stream is read to its end)."""
    body = b"".join(response.streaming_content).decode()
    response.close()
    frames = [line.removeprefix("data: ") for line in body.split("\n\n") if line]
    return [frame if frame == "[DONE]" else json.loads(frame) for frame in frames]


def streamed_text(frames: list) -> str:
    return "".join(
        f["choices"][0]["delta"].get("content") or ""
        for f in frames
        if f != "[DONE]" and f.get("choices")
    )


def ask(company, text: str, **extra) -> dict:
    return {"model": company.slug, "messages": [{"role": "user", "content": text}], **extra}


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("stream", [False, True])
def test_a_reply_reads_the_catalog_once(redis_cache, client, api_key, company, monkeypatch,
                                        stream):  # fmt: skip
    reads = []
    real = catalog_cache.orderable_services
    monkeypatch.setattr(
        services.catalog_cache, "orderable_services", lambda cid: reads.append(cid) or real(cid)
    )
    response = post(client, api_key, ask(company, "what services do you offer?", stream=stream))
    assert response.status_code == 200
    text = streamed_text(events(response)) if stream else response.json()["choices"][0]
    assert text
    assert reads == [company.id]
    assert Message.objects.count() == 2


def test_a_streamed_order_is_rechecked_in_the_database(redis_cache, client, api_key, company,
                                                       monkeypatch):  # fmt: skip
    service = Service.objects.get(company=company, name="Service 1")
    snapshot = catalog_cache.orderable_services(company.id)
    Service.objects.filter(pk=service.pk).update(is_orderable=False)
    monkeypatch.setattr(services.catalog_cache, "orderable_services", lambda cid: snapshot)
    frames = events(post(client, api_key, ask(company, "order service 1", stream=True)))
    assert "cannot be ordered" in streamed_text(frames)
    assert "order" not in frames[-2]["metadata"]
    assert Order.objects.count() == 0


def test_the_deadline_ends_a_slow_stream_with_what_was_said_and_an_apology(
    llm,
    settings,
    client,
    api_key,
    company,
):
    settings.WAZEN_LLM_REPLY_DEADLINE = 1.0
    llm.responses.append(Scripted(stream=stream_frames([f"w{i} " for i in range(40)], delay=0.1)))
    deadlines = sample("wazen_llm_errors_total", provider="openai", reason="deadline")
    frames = events(post(client, api_key, ask(company, "hello", stream=True)))
    text = streamed_text(frames)
    assert text.startswith("w0 w1 ")
    assert text.endswith(services.APOLOGY)
    assert frames[-2]["choices"][0]["finish_reason"] == "stop"
    assert frames[-1] == "[DONE]"
    assert sample("wazen_llm_errors_total", provider="openai", reason="deadline") == deadlines + 1
    stored = Message.objects.get(role=Message.Role.ASSISTANT)
    assert stored.content == text


def test_an_upstream_error_event_mid_stream_becomes_an_apology(
    llm,
    client,
    api_key,
    company,
):
    frames = stream_frames(["Let me see. "], done=False)[:-1]  # no finish, no [DONE]
    llm.responses.append(Scripted(stream=[*frames, Frame({"error": {"message": "overloaded"}})]))
    text = streamed_text(events(post(client, api_key, ask(company, "hello", stream=True))))
    assert text == f"Let me see. \n\n{services.APOLOGY}"


def test_a_stream_and_a_whole_reply_say_the_same(redis_cache, client, api_key, company):
    question = "compare service 0 and service 2"
    whole = post(client, api_key, ask(company, question)).json()
    frames = events(post(client, api_key, ask(company, question, stream=True)))
    assert streamed_text(frames) == whole["choices"][0]["message"]["content"]
    assert frames[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert frames[0]["metadata"]["conversation_id"] != whole["metadata"]["conversation_id"]


def test_tenants_are_isolated(redis_cache, client, make_company):
    a, b = make_company(slug="alpha"), make_company(slug="beta")
    key_a, key_b = api_key_issue(company=a)[1], api_key_issue(company=b)[1]
    first = post(client, key_a, ask(a, "hello")).json()
    conversation = first["metadata"]["conversation_id"]
    other = post(client, key_b, ask(b, "hello", metadata={"conversation_id": conversation}))
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "conversation_not_found"
    model = post(client, key_b, ask(a, "hello"))
    assert (model.status_code, model.json()["error"]["code"]) == (404, "model_not_found")
    listed = client.get("/v1/models", HTTP_AUTHORIZATION=f"Bearer {key_b}").json()
    assert [m["id"] for m in listed["data"]] == ["beta"]
    assert Conversation.objects.get(pk=conversation).company_id == a.id
    assert Message.objects.filter(conversation_id=conversation).count() == 2


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ("[" * 1000 + "]" * 1000, 400, "too_deeply_nested"),
        ('{"model": "x", "messages": [{"role": "user", "content": "\\ud800"}]}', 400,
         "invalid_unicode"),
        ('{"model": "x", "messages": [], "n": ' + "1" * 5000 + "}", 400, "malformed_json"),
        ("{not json", 400, "malformed_json"),
        ("", 400, "empty_body"),
        ("[1]", 400, "invalid_body"),
        ('{"messages": [{"role": "user", "content": "hi"}]}', 400, "missing_model"),
        ('{"model": 5, "messages": []}', 400, "invalid_model"),
        ('{"model": "x", "messages": "hi"}', 400, "invalid_messages"),
        ('{"model": "x", "messages": [{"content": "hi"}]}', 400, "missing_messages"),
        ('{"model": "x", "messages": [{"role": "robot", "content": "hi"}]}', 400,
         "invalid_messages"),
        ('{"model": "x", "messages": [{"role": "user", "content": 5}]}', 400, "invalid_messages"),
        ('{"model": "x", "messages": [{"role": "user", "content": "hi"}], "stream": "yes"}', 400,
         "invalid_stream"),
        ('{"model": "x", "messages": [{"role": "user", "content": "hi"}], "metadata": '
         '{"conversation_id": 5}}', 400, "invalid_metadata"),
        ('{"model": "x", "messages": [{"role": "user", "content": "hi\\u0000"}]}', 400,
         "invalid_message"),
    ],
)  # fmt: skip
def test_hostile_bodies_get_an_openai_400(client, api_key, payload, status, code):
    response = post(client, api_key, payload)
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert (error["code"], error["type"]) == (code, "invalid_request_error")
    assert error["message"]
    assert Message.objects.count() == 0


def test_an_earlier_turn_with_nul_is_refused_before_anything_is_stored(client, api_key, company):
    body = {
        "model": company.slug,
        "messages": [
            {"role": "user", "content": "a\x00b"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "hi"},
        ],
    }
    response = post(client, api_key, body)
    assert (response.status_code, response.json()["error"]["param"]) == (
        400,
        "messages[0].content",
    )
    assert Conversation.objects.count() == 0


def test_the_body_limit_of_completions_is_its_own(client, api_key, company, settings):
    history = [{"role": "user", "content": "x" * 3000}, {"role": "assistant", "content": "y"}]
    body = ask(company, "hello")
    body["messages"] = history * 30 + body["messages"]  # ~90 KB: over WAZEN_MAX_BODY_BYTES
    assert len(json.dumps(body)) > settings.WAZEN_MAX_BODY_BYTES
    assert post(client, api_key, body).status_code == 200
    settings.WAZEN_MAX_COMPLETIONS_BODY_BYTES = 60_000
    too_big = post(client, api_key, body)
    assert (too_big.status_code, too_big.json()["error"]["code"]) == (413, "body_too_large")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
FIELDS = ["model", "messages", "stream", "stream_options", "metadata", "n", "temperature",
          "response_format", "user", "tools", "stop", "max_tokens", "modalities"]  # fmt: skip
MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system", "tool", "x"])},
    optional={"content": JSON_VALUES | st.text(), "name": JSON_VALUES},
)


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(
        st.sampled_from(FIELDS) | st.text(max_size=5),
        JSON_VALUES | st.lists(MESSAGE, max_size=3),
        max_size=6,
    )
)
def test_any_json_object_gets_an_answer_or_an_openai_4xx(client, api_key, company, body):
    if "model" in body and isinstance(body["model"], str):
        body["model"] = company.slug
    response = post(client, api_key, body)
    if response.status_code == 200:
        return
    assert 400 <= response.status_code < 500, response.content
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    assert error["code"]
