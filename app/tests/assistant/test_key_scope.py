"""Issue 18: conversations (and so their orders) belong to the API key that started them, and a
stateless OpenAI client continues its conversation by resending the history the server produced.

Each test fails on main: there any key of the company continued any of its conversations, and a
request without `metadata.conversation_id` always started a new one.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.contrib.auth.models import User

from assistant import services
from assistant.models import Conversation, Order
from catalog.models import Service
from tenancy.keys import Tenant, api_key_issue

pytestmark = pytest.mark.django_db(transaction=True)
GONE = "No such conversation for this API key."


def auth(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def chat(client, key: str, message: str, conversation_id: str | None = None):
    body = {"message": message, **({"conversation_id": conversation_id} if conversation_id else {})}
    return client.post(
        "/api/v1/chat", json.dumps(body), content_type="application/json", **auth(key)
    )


def complete(client, key: str, messages: list[dict], metadata: dict | None = None):
    body = {"model": "acme", "messages": messages, **({"metadata": metadata} if metadata else {})}
    return client.post(
        "/v1/chat/completions", json.dumps(body), content_type="application/json", **auth(key)
    )


@pytest.fixture
def second_key(company) -> str:
    return api_key_issue(company=company, name="second")[1]


@pytest.fixture
def placed(client, api_key, company) -> dict:
    """A pending order in a conversation the first key started (placed by the service layer, so
    this fixture means the same before and after the two-step order)."""
    conversation = chat(client, api_key, "hello").json()["conversation_id"]
    tenant = Tenant(id=company.id, slug=company.slug, name=company.name)
    service_id = Service.objects.get(company=company, name="Service 1").id
    order = services.order_create(
        tenant=tenant, service_id=service_id, conversation_id=uuid.UUID(conversation)
    )
    return {"conversation_id": conversation, "order": {"id": order.id}}


def test_another_key_of_the_company_gets_the_404(client, placed, second_key):
    conversation = placed["conversation_id"]
    for message in (
        "where is my order?",
        "cancel my order",
        f"cancel order #{placed['order']['id']}",
    ):
        response = chat(client, second_key, message, conversation)
        assert response.status_code == 404, message
        assert response.json()["error"] == {"code": "conversation_not_found", "message": GONE}
    response = complete(
        client,
        second_key,
        [{"role": "user", "content": "cancel my order"}],
        {"conversation_id": conversation},
    )
    assert response.status_code == 404
    assert response.json()["error"]["param"] == "metadata.conversation_id"
    assert Order.objects.get().status == Order.Status.PLACED


def test_the_key_that_started_it_continues_it(client, api_key, placed):
    response = chat(client, api_key, "cancel my order", placed["conversation_id"])
    assert response.status_code == 200
    assert response.json()["order"]["status"] == "cancelled"


def test_conversations_record_their_key_and_the_admin_sees_all(client, api_key, second_key):
    first = chat(client, api_key, "hello").json()["conversation_id"]
    second = chat(client, second_key, "hello").json()["conversation_id"]
    keys = dict(Conversation.objects.values_list("id", "api_key__name"))
    assert {str(k): v for k, v in keys.items()} == {first: "default", second: "second"}
    User.objects.create_superuser("admin", "admin@example.com", "pw-for-tests-only")
    client.login(username="admin", password="pw-for-tests-only")
    page = client.get("/admin/assistant/conversation/").content.decode()
    assert first in page
    assert second in page


def _stateless(client, key: str, history: list[dict], text: str) -> dict:
    history.append({"role": "user", "content": text})
    response = complete(client, key, history)
    assert response.status_code == 200, response.content
    body = response.json()
    history.append({"role": "assistant", "content": body["choices"][0]["message"]["content"]})
    return body


def test_a_stateless_client_continues_its_conversation_by_its_history(client, api_key):
    history: list[dict] = []
    proposed = _stateless(client, api_key, history, "order service 2 for 4 users")
    assert proposed["metadata"]["proposal"]["quantity"] == 4
    placed = _stateless(client, api_key, history, "yes")
    order = placed["metadata"]["order"]
    assert (order["quantity"], order["price"]) == (4, "408.00")
    status = _stateless(client, api_key, history, "where is my order?")
    assert f"#{order['id']}" in status["choices"][0]["message"]["content"]
    ids = {b["metadata"]["conversation_id"] for b in (proposed, placed, status)}
    assert len(ids) == 1
    assert Conversation.objects.count() == 1


def test_a_history_is_only_continued_for_the_key_that_produced_it(client, api_key, second_key):
    history: list[dict] = []
    asked = _stateless(client, api_key, history, "order service 2")
    confirmed = _stateless(client, api_key, history, "yes")
    assert "order" in asked["metadata"] or "order" in confirmed["metadata"]
    stranger = list(history)
    status = _stateless(client, second_key, stranger, "where is my order?")
    assert status["metadata"]["conversation_id"] != confirmed["metadata"]["conversation_id"]
    assert "no orders" in status["choices"][0]["message"]["content"]


def test_an_edited_history_starts_a_new_conversation(client, api_key):
    history: list[dict] = []
    first = _stateless(client, api_key, history, "order service 2")
    history[-1]["content"] = "I placed your order."  # not what the server said
    second = _stateless(client, api_key, history, "yes")
    assert second["metadata"]["conversation_id"] != first["metadata"]["conversation_id"]
    assert "order" not in second["metadata"]
    assert not Order.objects.exists()


def test_two_customers_with_the_same_history_are_never_merged(client, api_key):
    one: list[dict] = []
    two: list[dict] = []
    a = _stateless(client, api_key, one, "order service 1")
    b = _stateless(client, api_key, two, "order service 1")
    assert a["choices"][0]["message"]["content"] == b["choices"][0]["message"]["content"]
    # Both conversations have this history: neither is guessed, a new one starts, and the
    # "yes" confirms nothing that the other customer was proposed.
    c = _stateless(client, api_key, one, "yes")
    assert c["metadata"]["conversation_id"] not in {
        a["metadata"]["conversation_id"],
        b["metadata"]["conversation_id"],
    }
    assert not Order.objects.exists()


def test_an_explicit_id_is_preferred_to_the_history(client, api_key):
    history: list[dict] = []
    first = _stateless(client, api_key, history, "hello")
    other = chat(client, api_key, "hello").json()["conversation_id"]
    history.append({"role": "user", "content": "how much is service 1?"})
    response = complete(client, api_key, history, {"conversation_id": other})
    assert response.json()["metadata"]["conversation_id"] == other
    assert other != first["metadata"]["conversation_id"]
