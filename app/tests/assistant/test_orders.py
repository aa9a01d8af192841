"""Order status and cancel: a real state change on Order, only for the customer's own
conversation of their own company, only while pending; the same through the openai tools."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from assistant import orders, services
from assistant.models import Conversation, Order
from tenancy.keys import Tenant
from testsupport.chat_completions import Scripted, completion

pytestmark = pytest.mark.django_db(transaction=True)


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def ask(tenant: Tenant, message: str, conversation_id=None) -> services.ReplyResult:
    return services.reply_create(tenant=tenant, message=message, conversation_id=conversation_id)


@pytest.fixture
def other_tenant(make_company) -> Tenant:
    company = make_company(services=2, slug="rival")
    return Tenant(id=company.id, slug=company.slug, name=company.name)


@pytest.fixture
def placed(tenant) -> services.ReplyResult:
    """A pending order for Service 1 in a conversation of the tenant's."""
    proposed = ask(tenant, "order service 1")
    result = ask(tenant, "yes", proposed.conversation_id)
    assert result.order is not None
    return result


def test_cancel_is_a_real_state_change_and_counted(tenant, placed):
    before = sample("wazen_orders_cancelled_total")
    result = ask(tenant, "cancel my order", placed.conversation_id)
    order = Order.objects.get(pk=placed.order.id)
    assert order.status == Order.Status.CANCELLED
    assert order.cancelled_at is not None
    assert result.order.id == order.id
    assert result.order.status == "cancelled"
    assert f"#{order.id}" in result.reply
    assert sample("wazen_orders_cancelled_total") == before + 1


def test_another_conversations_order_cannot_be_cancelled_or_seen(tenant, placed):
    stranger = ask(tenant, "hello").conversation_id  # same company, another customer
    order_id = placed.order.id
    for message in (f"cancel order #{order_id}", "cancel my order", f"ألغِ الطلب رقم {order_id}"):
        result = ask(tenant, message, stranger)
        assert result.order is None, message
        assert "Service 1" not in result.reply, message  # not even its existence leaks
    status = ask(tenant, f"where is order #{order_id}?", stranger)
    assert f"can't find order #{order_id}" in status.reply
    assert "no orders" in ask(tenant, "what's the status of my order?", stranger).reply
    assert Order.objects.get(pk=order_id).status == Order.Status.PLACED


def test_another_companys_order_cannot_be_cancelled_or_seen(tenant, other_tenant, placed):
    order_id = placed.order.id
    rival_conversation = ask(other_tenant, "hello").conversation_id
    result = ask(other_tenant, f"cancel order #{order_id}", rival_conversation)
    assert f"can't find order #{order_id}" in result.reply
    status = ask(other_tenant, f"status of order #{order_id}", rival_conversation)
    assert f"can't find order #{order_id}" in status.reply
    assert Order.objects.get(pk=order_id).status == Order.Status.PLACED
    # The service functions themselves filter by company and conversation, whatever calls them.
    text, summary = orders.order_cancel(
        tenant=other_tenant, conversation_id=placed.conversation_id, order_id=order_id,
        language="en",
    )  # fmt: skip
    assert summary is None
    assert f"can't find order #{order_id}" in text
    assert Order.objects.get(pk=order_id).status == Order.Status.PLACED


def test_a_confirmed_order_is_no_longer_cancellable(tenant, placed):
    Order.objects.filter(pk=placed.order.id).update(status=Order.Status.CONFIRMED)
    result = ask(tenant, "cancel my order", placed.conversation_id)
    assert "no pending order" in result.reply
    named = ask(tenant, f"cancel order {placed.order.id}", placed.conversation_id)
    assert "is confirmed, so it can no longer be cancelled" in named.reply
    assert Order.objects.get(pk=placed.order.id).status == Order.Status.CONFIRMED


def test_status_lists_only_this_conversations_orders_in_the_customers_language(tenant, placed):
    ask(tenant, "yes", ask(tenant, "order service 2").conversation_id)  # another conversation
    result = ask(tenant, "أين طلبي؟", placed.conversation_id)
    assert result.language == "ar"
    assert f"الطلب رقم {placed.order.id}" in result.reply
    assert "Service 1" in result.reply  # no Arabic name: the English one
    assert "Service 2" not in result.reply
    assert "قيد الانتظار" in result.reply


def test_status_and_cancel_in_a_new_conversation_find_nothing(tenant, placed):
    assert Conversation.objects.count() == 1
    assert "no orders" in ask(tenant, "where is my order?").reply
    assert "no pending order" in ask(tenant, "cancel my order").reply
    assert Order.objects.get().status == Order.Status.PLACED


# -- the openai provider's tools ---------------------------------------------------------------


def tool(name: str, **args) -> Scripted:
    return Scripted(body=completion(None, {"name": name, "args": args}))


def test_tool_cancel_of_a_foreign_order_changes_nothing(tenant, other_tenant, placed, llm):
    rival_conversation = services.Conversation.objects.create(company_id=other_tenant.id).id
    llm.responses.append(tool("cancel_order", order_id=placed.order.id))
    result = ask(other_tenant, "cancel that order", rival_conversation)
    assert result.order is None
    assert f"can't find order #{placed.order.id}" in result.reply
    llm.responses.append(tool("order_status", order_id=placed.order.id))
    status = ask(other_tenant, "status?", rival_conversation)
    assert "Service 1" not in status.reply
    assert Order.objects.get(pk=placed.order.id).status == Order.Status.PLACED


def test_tool_cancel_of_the_customers_own_order(tenant, placed, llm):
    llm.responses.append(Scripted(body=completion("حسناً.", {"name": "cancel_order", "args": {}})))
    result = ask(tenant, "ألغِ طلبي من فضلك", placed.conversation_id)
    assert result.reply.startswith("حسناً.\n\nتم إلغاء طلبك رقم")
    assert Order.objects.get(pk=placed.order.id).status == Order.Status.CANCELLED


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("cancel_order", '{"order_id": 1e999}'),
        ("cancel_order", '{"order_id": true}'),
        ("cancel_order", '{"order_id": -3}'),
        ("cancel_order", '{"order_id": 1.5}'),
        ("order_status", '{"order_id": "abc"}'),
        ("order_status", "[1]"),
        ("place_order", "{}"),
        ("place_order", '{"service_id": 99999999999999999999999}'),
        ("place_order", "not json"),
    ],
)
def test_malformed_tool_arguments_are_an_apology_and_counted(tenant, placed, llm, name, arguments):
    body = completion(None, {"name": name, "args": {}})
    body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = arguments
    llm.responses.append(Scripted(body=body))
    before = sample("wazen_llm_errors_total", provider="openai", reason="bad_tool_call")
    result = ask(tenant, "do it", placed.conversation_id)
    assert result.reply == services.APOLOGY
    assert sample("wazen_llm_errors_total", provider="openai", reason="bad_tool_call") == before + 1
    assert Order.objects.get().status == Order.Status.PLACED


def test_the_apology_is_in_the_customers_language(tenant, llm):
    llm.responses.append(Scripted(body={"choices": []}))
    result = ask(tenant, "كم سعر الخدمة؟")
    assert result.reply.startswith("عذراً")
