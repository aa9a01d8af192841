"""The OpenAI provider with the real `openai` SDK against a local chat-completions server."""

from __future__ import annotations

import json

import pytest
from prometheus_client import REGISTRY

from assistant import providers, services
from assistant.models import Order
from tests.assistant.chat_completions_server import ChatCompletionsServer, Scripted, completion

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def llm(settings):
    with ChatCompletionsServer() as server:
        settings.LLM_PROVIDER = "openai"
        settings.OPENAI_BASE_URL = server.base_url
        settings.OPENAI_API_KEY = "sk-test"
        settings.OPENAI_MODEL = "test-model"
        settings.OPENAI_TIMEOUT = 0.5
        settings.OPENAI_MAX_RETRIES = 1
        providers._provider.cache_clear()
        yield server
        providers._provider.cache_clear()


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


def test_tool_call_places_the_order(llm, tenant):
    service_id = services.catalog_cache.orderable_services(tenant.id).services[2].id
    llm.responses.append(
        Scripted(body=completion(None, {"name": "place_order", "args": {"service_id": service_id}}))
    )
    result = services.reply_create(tenant=tenant, message="order service 2", conversation_id=None)
    order = Order.objects.get()
    assert result.order.id == order.id
    assert order.service_id == service_id
    assert f"Your order #{order.id}" in result.reply


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
