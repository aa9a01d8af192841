"""Issue 18: a question is never an order, in either language, with either provider.

Each phrasing below asks *about* a service; none may place an order. Every one is run twice:
in a new conversation, and right after the assistant proposed an order (where a mistaken "yes"
would cost the customer money). The openai provider is scripted as the worst model there is: it
calls `place_order` on every question. The server's two-step rule still places nothing.

The mutation checks at the end prove the suite has teeth: with the server's confirmation gate
forced open, or with proposals skipped (ORDER placing at once), the same checks fail.
"""

from __future__ import annotations

import pytest

from assistant import services
from assistant.models import Order, OrderProposal
from catalog.models import Service
from tenancy.keys import Tenant
from tests.assistant.dialogues.harness import demo_company, run_dialogue
from tests.assistant.test_dialogues import DIALOGUES
from testsupport.chat_completions import ChatCompletionsServer, Scripted, completion

pytestmark = pytest.mark.django_db(transaction=True)

EN_QUESTIONS = [
    "Do I need an audit?",
    "Do I need bookkeeping?",
    "What do I need to provide for company formation?",
    "Do I need VAT filing if my revenue is small?",
    "Should I order payroll?",
    "Is bookkeeping required for a small company?",
    "Does payroll include GOSI?",
    "Can you explain what the financial audit covers?",
    "What does zakat filing include?",
    "How long does company formation take?",
    "Is VAT filing quarterly?",
    "Do you think I need payroll for 5 employees?",
    "Would I need an audit every year?",
    "Who does the financial audit?",
    "When is the VAT filing due?",
    "Why would I need bookkeeping?",
    "Which is better for me, bookkeeping or payroll?",
    "How much is payroll for 10 employees?",
    "What's the price of the audit?",
    "Is there a discount on bookkeeping?",
    "Are zakat filing and VAT filing the same?",
    "do i need an audit",
    "what do i need for company formation",
    "Does the audit need my bank statements?",
    "I need to know if I need an audit?",
    "Do I need to order bookkeeping every month?",
    "Can I order payroll later?",
    "Should we book company formation now?",
    "Is it worth buying the financial audit?",
    "Would you recommend VAT filing?",
    "Do I have to pay for zakat filing upfront?",
    "What happens after I order payroll?",
    "What if I need an audit next year?",
    "Is payroll per employee?",
    "How does bookkeeping work?",
    "Do companies need a financial audit?",
    "Do I need both VAT filing and zakat filing?",
    "Is an audit mandatory?",
    "Tell me, do I need bookkeeping?",
    "Need an audit?",
    "Any idea if I need payroll?",
    "What's the difference between bookkeeping and a financial audit?",
]
AR_QUESTIONS = [
    "هل أحتاج إلى مسك دفاتر؟",
    "هل أحتاج تدقيق مالي؟",
    "ماذا أحتاج لتأسيس الشركات؟",
    "هل مسير الرواتب يشمل التأمينات؟",
    "هل يجب أن أطلب إقرار الزكاة؟",
    "كم سعر مسير الرواتب لعشرة موظفين؟",
    "ما هو التدقيق المالي؟",
    "ما الفرق بين مسك الدفاتر والتدقيق المالي؟",
    "هل إقرار ضريبة القيمة المضافة ربع سنوي؟",
    "متى موعد إقرار الزكاة؟",
    "لماذا أحتاج مسك الدفاتر؟",
    "كيف يتم تأسيس الشركات؟",
    "هل التدقيق المالي إلزامي؟",
    "هل تنصحني بمسير الرواتب؟",
    "أي خدمة أفضل لي، مسك الدفاتر أم الرواتب؟",
    "هل أحتاج إقرار الزكاة وضريبة القيمة المضافة معاً؟",
    "وش يشمل التدقيق المالي؟",
    "ايش أحتاج عشان أأسس شركة؟",
    "هل أحتاج مسير رواتب لخمسة موظفين؟",
    "هل يلزمني تدقيق مالي كل سنة؟",
    "هل أحتاج إلى مسك دفاتر",
    "ماذا أحتاج لتأسيس الشركات",
    "هل تقدمون خصم على مسك الدفاتر؟",
    "كم يستغرق تأسيس الشركات؟",
    "من يقوم بالتدقيق المالي؟",
    "هل أطلب مسير الرواتب الآن؟",
    "هل من الأفضل أن أحجز تأسيس الشركات؟",
    "هل ينفع أشتري التدقيق المالي لاحقاً؟",
    "ما هي متطلبات إقرار الزكاة؟",
    "هل مسير الرواتب لكل موظف؟",
    "كيف يعمل مسك الدفاتر؟",
    "هل الشركات تحتاج تدقيق مالي؟",
    "هل إقرار الزكاة سنوي؟",
    "ماذا يحدث بعد أن أطلب مسير الرواتب؟",
    "هل أحتاج أن أطلب مسك الدفاتر كل شهر؟",
    "شو بحتاج لتأسيس شركة؟",
    "هل تأسيس الشركات يشمل السجل التجاري؟",
    "هل التدقيق المالي يحتاج كشوف الحساب البنكية؟",
    "بكم إقرار ضريبة القيمة المضافة؟",
    "هل عندكم مسك دفاتر؟",
    "ليش أحتاج إقرار الزكاة؟",
    "متى أحتاج تدقيق مالي؟",
]
QUESTIONS = EN_QUESTIONS + AR_QUESTIONS


def test_at_least_forty_questions_per_language():
    assert len(set(EN_QUESTIONS)) >= 40
    assert len(set(AR_QUESTIONS)) >= 40


def _greedy_model(llm: ChatCompletionsServer | None, service_id: int) -> None:
    """The worst model: it answers every message by calling place_order."""
    if llm is not None:
        call = {"name": "place_order", "args": {"service_id": service_id}}
        llm.responses.append(Scripted(body=completion(None, call)))


def question_orders_nothing(
    tenant: Tenant, question: str, llm: ChatCompletionsServer | None
) -> None:
    """The check: counts Order rows before and after the question, fresh and after a proposal."""
    payroll = Service.objects.get(company_id=tenant.id, name="Payroll").id
    before = Order.objects.count()
    _greedy_model(llm, payroll)
    fresh = services.reply_create(tenant=tenant, message=question, conversation_id=None)
    assert fresh.order is None, (question, fresh.reply)
    if llm is None:  # the offline assistant does not even propose
        assert fresh.proposal is None, (question, fresh.reply)
    assert Order.objects.count() == before, (question, fresh.reply)

    ask = "order payroll" if question.isascii() else "اطلب مسير الرواتب"
    _greedy_model(llm, payroll)
    proposed = services.reply_create(tenant=tenant, message=ask, conversation_id=None)
    assert proposed.proposal is not None, proposed.reply
    _greedy_model(llm, payroll)
    after = services.reply_create(
        tenant=tenant, message=question, conversation_id=proposed.conversation_id
    )
    assert after.order is None, (question, after.reply)
    assert Order.objects.count() == before, (question, after.reply)
    if llm is None:  # the question ended the proposal: a later "yes" confirms nothing
        assert not OrderProposal.objects.filter(pk=proposed.conversation_id).exists()


@pytest.mark.parametrize("question", QUESTIONS)
def test_a_question_orders_nothing_offline(question, settings):
    settings.LLM_PROVIDER = "catalog"
    question_orders_nothing(demo_company(), question, llm=None)


@pytest.mark.parametrize("question", QUESTIONS)
def test_a_question_orders_nothing_even_if_the_model_calls_place_order(question, llm):
    question_orders_nothing(demo_company(), question, llm=llm)


# -- mutation checks: the suite fails when the confirmation step is skipped ------------------


def test_the_question_suite_catches_an_open_confirmation_gate(settings, monkeypatch):
    """With the server's gate forced open (every message counts as a yes), a question after a
    proposal places the order, and the check above fails for every phrasing."""
    settings.LLM_PROVIDER = "catalog"
    monkeypatch.setattr(services, "is_confirmation", lambda message: True)
    tenant = demo_company()
    caught = 0
    for question in QUESTIONS:
        try:
            question_orders_nothing(tenant, question, llm=None)
        except AssertionError:
            caught += 1
    assert caught == len(QUESTIONS)


def test_the_dialogue_suite_catches_orders_placed_without_a_proposal(settings, monkeypatch):
    """With step one skipped (an ORDER intent places the order at once, as before issue 18),
    every dialogue that orders fails."""
    settings.LLM_PROVIDER = "catalog"

    def place_at_once(*, tenant, snapshot, conversation_id, service_id, quantity, language):
        order = services.order_create(
            tenant=tenant,
            service_id=service_id,
            conversation_id=conversation_id,
            quantity=quantity or 1,
        )
        return f"Your order #{order.id} has been placed.", None

    monkeypatch.setattr(services, "proposal_make", place_at_once)
    tenant = demo_company()
    ordering = [d for d in DIALOGUES if any(step.proposes for step in d.steps)]
    assert len(ordering) >= 20
    for dialogue in ordering:
        with pytest.raises(AssertionError):
            run_dialogue(dialogue, tenant, llm=None)
