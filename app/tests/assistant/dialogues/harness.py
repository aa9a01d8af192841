"""Running a dialogue through the whole reply pipeline (database, cache, orders), with the offline
provider or with the openai provider against a scripted chat-completions server."""

from __future__ import annotations

import re
from decimal import Decimal

from assistant import services
from assistant.models import Order
from catalog.management.commands.seed_demo import DEMO_SERVICES
from catalog.models import Service
from tenancy.keys import Tenant
from tenancy.models import Company
from tests.assistant.dialogues import CONFIRM, TOOL_INTENTS, Dialogue, Step, _arabic
from testsupport.chat_completions import ChatCompletionsServer, Scripted, completion

CANNED = {"en": "Happy to help with that.", "ar": "يسعدني مساعدتك في ذلك."}


def demo_company() -> Tenant:
    """The demo company of `manage.py seed_demo`: six services in English and Arabic."""
    company = Company.objects.create(name="Wazen Demo Accounting", slug="demo")
    Service.objects.bulk_create(
        Service(
            company=company, name=name, category=category, price=Decimal(price),
            description=description, name_ar=name_ar, description_ar=description_ar,
        )
        for name, category, price, description, name_ar, description_ar in DEMO_SERVICES
    )  # fmt: skip
    return Tenant(id=company.id, slug=company.slug, name=company.name)


def _letters(text: str) -> tuple[int, int]:
    arabic = len(re.findall(r"[\u0620-\u064a]", text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return arabic, latin


def assert_language(reply: str, language: str) -> None:
    arabic, latin = _letters(reply)
    if language == "ar":
        assert arabic > latin, reply
    else:
        assert arabic == 0, reply


def _render(text: str, order_id: int | None) -> str:
    if order_id is None:
        return text
    arabic_digits = str(order_id).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    return text.replace("{order_ar}", arabic_digits).replace("{order}", str(order_id))


def _script(llm: ChatCompletionsServer, step: Step, service_ids: dict, order_id, language):
    if step.intent == CONFIRM:
        return  # the server reads the "yes" itself: the model is not asked
    tool = TOOL_INTENTS.get(step.intent)
    if tool is None:
        llm.responses.append(Scripted(body=completion(CANNED[language])))
        return
    if tool == "place_order":
        args = {"service_id": service_ids[step.proposes]}
        if step.quantity != 1:
            args["quantity"] = step.quantity
    elif "{order" in step.say:
        args = {"order_id": order_id}
    elif tool == "cancel_order" and step.services:
        args = {"service_id": service_ids[step.services[0]]}
    elif step.order_number is not None:
        args = {"order_id": step.order_number}
    else:
        args = {}
    llm.responses.append(Scripted(body=completion(None, {"name": tool, "args": args})))


def run_dialogue(dialogue: Dialogue, tenant: Tenant, llm: ChatCompletionsServer | None) -> None:
    service_ids = dict(Service.objects.filter(company_id=tenant.id).values_list("name", "id"))
    names = {v: k for k, v in service_ids.items()}
    conversation_id, last_order, asked = None, None, None
    for number, step in enumerate(dialogue.steps, 1):
        where = f"{dialogue.name} step {number}: {step.say!r}"
        message = _render(step.say, last_order)
        language = step.language or ("ar" if _arabic(message) else "en")
        if llm is not None:
            _script(llm, step, service_ids, last_order, language)
            asked = asked if step.intent == CONFIRM else message
        orders_before = set(Order.objects.values_list("id", flat=True))
        cancelled_before = Order.objects.filter(status=Order.Status.CANCELLED).count()

        result = services.reply_create(
            tenant=tenant, message=message, conversation_id=conversation_id
        )
        conversation_id = result.conversation_id

        served = step.intent in TOOL_INTENTS or step.intent == CONFIRM
        expected_intent = step.intent if llm is None or served else "answer"
        assert result.intent == expected_intent, (where, result.reply)
        assert result.language == language, where
        assert_language(result.reply, language)
        if llm is None:
            about = step.services or ((step.proposes,) if step.proposes else ())
            assert tuple(names[i] for i in result.service_ids) == about, where
        if step.proposes:
            assert result.proposal is not None, (where, result.reply)
            assert names[result.proposal.service_id] == step.proposes, where
            assert result.proposal.quantity == step.quantity, where
            assert f"× {step.quantity}" in result.reply, (where, result.reply)
        else:
            assert result.proposal is None, (where, result.reply)
        if llm is None or served:
            for fact in step.contains:
                assert fact in result.reply, (where, result.reply)
        else:
            assert result.reply == CANNED[language], where

        new_orders = Order.objects.exclude(id__in=orders_before)
        if step.ordered:
            order = new_orders.get()
            assert (order.service.name, order.conversation_id) == (step.ordered, conversation_id)
            assert order.quantity == step.quantity, where
            assert order.price == order.unit_price * step.quantity, where
            assert result.order is not None, where
            assert result.order.id == order.id, where
            assert f"{order.id}" in result.reply, where
            last_order = order.id
        else:
            assert not new_orders.exists(), (where, result.reply)
        cancelled = Order.objects.filter(status=Order.Status.CANCELLED).count()
        assert cancelled == cancelled_before + (1 if step.cancels else 0), (where, result.reply)
        if step.cancels and step.services:  # cancelled by the service's name: that one
            assert names[result.order.service_id] == step.services[0], where

    if llm is not None:
        assert not llm.responses, "every scripted reply was used"
        body = llm.requests[-1]["body"]
        assert [t["function"]["name"] for t in body["tools"]] == [
            "place_order", "order_status", "cancel_order",
        ]  # fmt: skip
        assert body["messages"][-1] == {"role": "user", "content": asked}
        system = body["messages"][0]["content"]
        assert "مسير الرواتب" in system
        assert "language of the customer's last message" in system
