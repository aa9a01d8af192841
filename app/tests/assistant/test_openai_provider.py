"""The OpenAI provider with the real `openai` SDK against a local chat-completions server."""

from __future__ import annotations

import json
import time

import pytest
from prometheus_client import REGISTRY

from assistant import providers, services
from assistant.models import Order
from testsupport.chat_completions import Scripted, completion

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def llm(llm, settings):
    """Short attempts and one retry: the transport tests exercise both."""
    settings.OPENAI_TIMEOUT = 0.5
    settings.OPENAI_MAX_RETRIES = 1
    providers._provider.cache_clear()
    return llm


def test_answer_uses_catalog_in_system_prompt_and_history(llm, tenant):
    llm.responses.extend([Scripted(body=completion("Service 1 costs 101.00 SAR."))] * 2)
    first = services.reply_create(
        tenant=tenant, message="price of service 1?", conversation_id=None
    )
    services.reply_create(tenant=tenant, message="thanks", conversation_id=first.conversation_id)
    assert first.reply == "Service 1 costs 101.00 SAR."
    request = llm.requests[-1]
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer sk-test"
    body = request["body"]
    assert body["model"] == "test-model"
    system = body["messages"][0]
    assert system["role"] == "system"
    assert "Service 1" in system["content"]
    assert "101.00" in system["content"]
    assert [m["role"] for m in body["messages"][1:]] == ["user", "assistant", "user"]
    assert body["tools"][0]["function"]["name"] == "place_order"


def test_tool_call_proposes_and_the_customers_yes_places_the_order(llm, tenant):
    """place_order is step one only: the server proposes, and places the order on the next
    turn's plain yes without asking the model (issue 18: the rule is the server's)."""
    service_id = services.catalog_cache.orderable_services(tenant.id).services[2].id
    llm.responses.append(
        Scripted(body=completion(None, {"name": "place_order", "args": {"service_id": service_id}}))
    )
    proposed = services.reply_create(tenant=tenant, message="order service 2", conversation_id=None)
    assert proposed.order is None
    assert proposed.proposal.service_id == service_id
    assert "Please confirm your order: Service 2 × 1" in proposed.reply
    assert not Order.objects.exists()
    result = services.reply_create(
        tenant=tenant, message="yes", conversation_id=proposed.conversation_id
    )
    order = Order.objects.get()
    assert result.order.id == order.id
    assert order.service_id == service_id
    assert f"Your order #{order.id}" in result.reply
    assert len(llm.requests) == 1  # the yes was the server's to read


def test_a_model_that_calls_place_order_twice_orders_nothing(llm, tenant):
    service_id = services.catalog_cache.orderable_services(tenant.id).services[1].id
    call = {"name": "place_order", "args": {"service_id": service_id}}
    llm.responses += [Scripted(body=completion(None, call)) for _ in range(2)]
    first = services.reply_create(tenant=tenant, message="tell me more", conversation_id=None)
    second = services.reply_create(
        tenant=tenant, message="and the price?", conversation_id=first.conversation_id
    )
    assert second.proposal is not None
    assert not Order.objects.exists()


def test_tool_call_for_another_companys_service_orders_nothing(llm, tenant, make_company):
    other = make_company(services=1, slug="other")
    foreign_id = other.services.get().id
    llm.responses.append(
        Scripted(body=completion(None, {"name": "place_order", "args": {"service_id": foreign_id}}))
    )
    result = services.reply_create(tenant=tenant, message="order that", conversation_id=None)
    assert result.order is None
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("scripted", "reason", "requests"),
    [
        ([Scripted(500, {"error": {"message": "boom"}})] * 2, "http_500", 2),  # 1 retry
        ([Scripted(401, {"error": {"message": "bad key"}})], "http_401", 1),  # no retry
        ([Scripted(body=completion("late"), delay=1.2)] * 2, "timeout", 2),
        ([Scripted(body={"choices": []})], "empty_response", 1),
    ],
)
def test_provider_failures_become_an_apology(llm, tenant, scripted, reason, requests):
    llm.responses.extend(scripted)
    before = (
        REGISTRY.get_sample_value(
            "wazen_llm_errors_total", {"provider": "openai", "reason": reason}
        )
        or 0
    )
    result = services.reply_create(tenant=tenant, message="hello", conversation_id=None)
    assert result.reply == services.APOLOGY
    assert len(llm.requests) == requests  # bounded retries
    after = REGISTRY.get_sample_value(
        "wazen_llm_errors_total", {"provider": "openai", "reason": reason}
    )
    assert after == before + 1


def test_chat_endpoint_with_openai_provider(llm, client, api_key):
    llm.responses.append(Scripted(body=completion("Hello from the model")))
    response = client.post(
        "/api/v1/chat", json.dumps({"message": "hi"}), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json()["reply"] == "Hello from the model"


def _errors(reason: str) -> float:
    labels = {"provider": "openai", "reason": reason}
    return REGISTRY.get_sample_value("wazen_llm_errors_total", labels) or 0


def _tool(args: str) -> dict:
    body = completion(None, {"name": "place_order", "args": {}})
    body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = args
    return body


def _with_message(message) -> dict:
    body = completion("x")
    body["choices"][0]["message"] = message
    return body


@pytest.mark.parametrize(
    ("scripted", "reason"),
    [
        (Scripted(raw=b'{"choices": [', content_type="application/json"), "invalid_json"),
        (Scripted(raw=b"<html><body>Bad gateway</body></html>", content_type="text/html"),
         "invalid_json"),
        (Scripted(raw=b"\xff\xfe not utf-8"), "invalid_json"),
        (Scripted(body=None), "malformed_response"),
        (Scripted(body=["choices"]), "malformed_response"),
        (Scripted(body={"choices": None}), "malformed_response"),
        (Scripted(body={"choices": [None]}), "malformed_response"),
        (Scripted(body=_with_message(None)), "malformed_response"),
        (Scripted(body=_with_message({"role": "assistant", "content": 42})), "malformed_response"),
        (Scripted(body=_with_message({"content": None, "tool_calls": "x"})),
         "malformed_response"),
        (Scripted(body=_tool('{"service_id": 1e999}')), "bad_tool_call"),
        (Scripted(body=_tool('{"service_id": NaN}')), "bad_tool_call"),
        (Scripted(body=_tool('{"service_id": 99999999999999999999999}')), "bad_tool_call"),
        (Scripted(body=_tool('{"service_id": true}')), "bad_tool_call"),
        (Scripted(body=_tool("not json")), "bad_tool_call"),
        (Scripted(body=_tool("[1]")), "bad_tool_call"),
        (Scripted(body=_tool("[" * 5000 + "]" * 5000)), "bad_tool_call"),
        (Scripted(body=_with_message({"content": None, "tool_calls": [{"function": 1}]})),
         "bad_tool_call"),
        (Scripted(body=_with_message({"role": "assistant", "content": None})), "empty_response"),
    ],
)  # fmt: skip
def test_malformed_upstream_replies_become_a_counted_apology(
    llm, client, api_key, scripted, reason
):
    llm.responses.append(scripted)
    before = _errors(reason)
    response = client.post(
        "/api/v1/chat", json.dumps({"message": "hi"}), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json()["reply"] == services.APOLOGY
    assert _errors(reason) == before + 1
    assert len(llm.requests) == 1  # a malformed body is not retried
    assert Order.objects.count() == 0


def test_a_float_service_id_that_is_integral_still_orders(llm, tenant):
    service_id = services.catalog_cache.orderable_services(tenant.id).services[0].id
    llm.responses.append(Scripted(body=_tool(json.dumps({"service_id": float(service_id)}))))
    result = services.reply_create(tenant=tenant, message="order it", conversation_id=None)
    assert result.proposal is not None
    assert result.proposal.service_id == service_id


def _timed_reply(tenant) -> tuple[str, float]:
    started = time.monotonic()
    result = services.reply_create(tenant=tenant, message="hello", conversation_id=None)
    return result.reply, time.monotonic() - started


def test_a_retry_after_longer_than_the_budget_answers_at_once(llm, tenant, settings):
    """Before: the SDK slept Retry-After (5 s) per retry, 10 s for one reply."""
    settings.WAZEN_LLM_REPLY_DEADLINE = 3
    settings.OPENAI_MAX_RETRIES = 2
    llm.responses.extend([Scripted(429, {"error": {}}, headers={"Retry-After": "5"})] * 3)
    before = _errors("rate_limited")
    reply, elapsed = _timed_reply(tenant)
    assert reply == services.APOLOGY
    assert len(llm.requests) == 1
    assert _errors("rate_limited") == before + 1
    assert elapsed < 2  # generous: no 5-second sleep happened


def test_a_short_retry_after_is_honoured_then_the_retry_answers(llm, tenant, settings):
    settings.OPENAI_MAX_RETRIES = 2
    llm.responses.extend(
        [
            Scripted(429, {"error": {}}, headers={"Retry-After": "0.3"}),
            Scripted(body=completion("after the wait")),
        ]
    )
    reply, elapsed = _timed_reply(tenant)
    assert reply == "after the wait"
    assert len(llm.requests) == 2
    assert elapsed >= 0.3


@pytest.mark.parametrize(
    "scripted",
    [
        Scripted(body=completion("one byte at a time"), drip=0.1),  # headers and body dripped
        Scripted(hang=True),
    ],
    ids=["slow-drip", "hang"],
)
def test_the_reply_deadline_bounds_slow_and_silent_upstreams(llm, tenant, settings, scripted):
    """Before: a 1-byte-per-second upstream held a reply 20 s with OPENAI_TIMEOUT=2."""
    settings.WAZEN_LLM_REPLY_DEADLINE = 1.5
    settings.OPENAI_TIMEOUT = 5.0  # per attempt, longer than the budget: the budget cuts it
    settings.OPENAI_MAX_RETRIES = 2
    llm.responses.extend([scripted] * 3)
    before = _errors("deadline")
    reply, elapsed = _timed_reply(tenant)
    assert reply == services.APOLOGY
    assert _errors("deadline") == before + 1
    assert elapsed < 1.5 + 1.5  # generous; the drip alone would take ~30 s


def test_retries_stop_when_the_budget_is_spent(llm, tenant, settings):
    settings.WAZEN_LLM_REPLY_DEADLINE = 1.6
    settings.OPENAI_TIMEOUT = 0.5
    settings.OPENAI_MAX_RETRIES = 10
    llm.responses.extend([Scripted(body=completion("late"), delay=1.0)] * 11)
    reply, elapsed = _timed_reply(tenant)
    assert reply == services.APOLOGY
    assert len(llm.requests) < 4  # ten retries of 0.5 s plus back-off would not fit in 1.6 s
    assert elapsed < 1.6 + 1.5
