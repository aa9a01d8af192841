"""The conversation suite: the same table of dialogues, half in Arabic, run through the whole
reply pipeline (database, cache, orders) with each provider.

- `catalog`: the offline provider must read every message right: the intent, the services it is
  about, the order placed (or not), the order cancelled (or not), the reply's language and key
  facts (prices with the currency in the customer's language).
- `openai`: the real SDK against a local chat-completions server scripted with the tool call a
  good model makes for each step (or a plain answer in the customer's language). This proves
  the provider's tool handling and the service layer behind it: the same orders are placed,
  cancelled or refused, and the service's own texts come back in the customer's language.

Placeholders in a message: {order} is the number of the dialogue's latest order, {order_ar} the
same in Arabic-Indic digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from assistant import services
from assistant.models import Order
from catalog.api_keys import Tenant
from catalog.management.commands.seed_demo import DEMO_SERVICES
from catalog.models import Company, Service
from tests.assistant.chat_completions_server import ChatCompletionsServer, Scripted, completion

pytestmark = pytest.mark.django_db(transaction=True)

LIST, DESCRIBE, COMPARE, CLARIFY = "list", "describe", "compare", "clarify"
GREETING, THANKS, REDIRECT, HOW_TO = "greeting", "thanks", "redirect", "how_to"
DECLINED = "declined"
ORDER, STATUS, CANCEL = "order", "order_status", "order_cancel"
CONFIRM = "order_confirm"  # decided by the server, whatever the provider: no model call
TOOL_INTENTS = {ORDER: "place_order", STATUS: "order_status", CANCEL: "cancel_order"}


@dataclass(frozen=True)
class Step:
    say: str
    intent: str
    services: tuple[str, ...] = ()  # English names, in the order the answer gives them
    ordered: str | None = None  # the service of the order this step places
    proposes: str | None = None  # the service this step proposes to order (nothing ordered)
    quantity: int = 1  # of the proposal (or the order) of this step
    cancels: bool = False  # this step cancels one pending order
    contains: tuple[str, ...] = ()
    order_number: int | None = None  # a number the customer gives that is not {order}
    language: str | None = None  # the reply's language when the message has no Arabic or
    # English of its own ("ok", "12": the conversation's)


@dataclass(frozen=True)
class Dialogue:
    name: str
    steps: tuple[Step, ...]
    language: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "language", "ar" if _arabic(self.steps[0].say) else "en")


def _arabic(text: str) -> bool:
    return bool(re.search(r"[\u0600-\u06ff]", text))


def D(name: str, *steps: Step) -> Dialogue:
    return Dialogue(name, steps)


S = Step


def order_steps(
    say: str, service: str, *, yes: str | None = None, quantity: int = 1, **facts
) -> tuple:
    """An order, as every order now goes: the customer asks (the assistant proposes: service,
    quantity, total), then confirms with a plain yes in the next turn (the order is placed).
    `contains` and `language` are about the placed order's reply."""
    language = facts.get("language") or ("ar" if _arabic(say) else "en")
    yes = yes or ("نعم" if language == "ar" else "yes")
    return (
        S(say, ORDER, proposes=service, quantity=quantity, language=facts.get("language")),
        S(yes, CONFIRM, ordered=service, quantity=quantity, **facts),
    )


DIALOGUES = [
    # -- listing, describing, comparing ------------------------------------------------------
    D("list", S("What services do you offer?", LIST, contains=("Payroll", "35.00 SAR"))),
    D("list-ar", S("ما هي الخدمات المتوفرة؟", LIST, contains=("مسير الرواتب", "35.00 ريال"))),
    D("list-after-greeting", S("hi, what do you offer?", LIST, contains=("VAT Filing",))),
    D("list-colloquial-ar", S("وش عندكم من خدمات؟", LIST, contains=("إقرار الزكاة",))),
    D("describe", S("How much is payroll?", DESCRIBE, ("Payroll",), contains=("35.00 SAR",))),
    D("describe-ar", S("كم سعر الرواتب؟", DESCRIBE, ("Payroll",), contains=("35.00 ريال",))),
    D(
        "describe-two",
        S(
            "How much do you charge for bookkeeping and VAT?",
            DESCRIBE,
            ("Bookkeeping", "VAT Filing"),
            contains=("950.00 SAR", "450.00 SAR"),
        ),
    ),
    D(
        "describe-two-ar",
        S(
            "كم تكلفة مسك الدفاتر وضريبة القيمة المضافة؟",
            DESCRIBE,
            ("Bookkeeping", "VAT Filing"),
            contains=("950.00 ريال", "450.00 ريال"),
        ),
    ),
    D("describe-typo", S("how much is bookeeping?", DESCRIBE, ("Bookkeeping",))),
    D("describe-variant-ar", S("كم سعر الزكاه", DESCRIBE, ("Zakat Filing",))),
    D(
        "describe-english-name",
        S("tell me about the financial audit", DESCRIBE, ("Financial Audit",)),
    ),
    D(
        "describe-english-name-in-ar",
        S("كم سعر VAT؟", DESCRIBE, ("VAT Filing",), contains=("450.00 ريال",)),
    ),
    D(
        "compare",
        S(
            "Which is cheaper, VAT filing or zakat filing?",
            COMPARE,
            ("VAT Filing", "Zakat Filing"),
            contains=("The cheapest is VAT Filing",),
        ),
    ),
    D(
        "compare-ar",
        S(
            "أيهما أرخص، الزكاة أم ضريبة القيمة المضافة؟",
            COMPARE,
            ("VAT Filing", "Zakat Filing"),
            contains=("الأرخص هو إقرار ضريبة القيمة المضافة",),
        ),
    ),
    D(
        "cheapest",
        S("What's your cheapest service?", COMPARE, contains=("The cheapest is Payroll",)),
    ),
    D("cheapest-ar", S("ما هي أرخص خدمة؟", COMPARE, contains=("الأرخص هو مسير الرواتب",))),
    # -- ordering only what the customer chose ---------------------------------------------
    D(
        "order-named",
        *order_steps("I want to order VAT filing", "VAT Filing", contains=("Your order #",)),
    ),
    D(
        "order-named-ar",
        *order_steps("أريد أن أطلب إقرار الزكاة", "Zakat Filing", contains=("تم تسجيل طلبك",)),
    ),
    D(
        "order-it-after-one",
        S("tell me about bookkeeping", DESCRIBE, ("Bookkeeping",)),
        *order_steps("ok, order it", "Bookkeeping", contains=("950.00 SAR",)),
    ),
    D(
        "order-it-after-one-ar",
        S("ما هي خدمة مسك الدفاتر؟", DESCRIBE, ("Bookkeeping",)),
        *order_steps("اطلبها لي", "Bookkeeping", contains=("950.00 ريال",)),
    ),
    D(
        "zeppelin",  # issue 10, item 6: the assistant's own listing is not a choice
        S("Tell me about Zeppelin Repair", REDIRECT, contains=("I'm sorry",)),
        S("Great, order it", CLARIFY, contains=("Which service",)),
    ),
    D(
        "zeppelin-ar",
        S("أخبرني عن إصلاح المناطيد", REDIRECT, contains=("عذراً",)),
        S("ممتاز، اطلبه", CLARIFY, contains=("أي خدمة",)),
    ),
    D(
        "order-it-after-list",
        S("What services do you offer?", LIST),
        S("I'll take it", CLARIFY),
    ),
    D(
        "order-it-after-list-ar",
        S("ما هي خدماتكم؟", LIST),
        S("أبغى هذا", CLARIFY),
    ),
    D(
        "order-it-after-two",
        S("compare bookkeeping and payroll", COMPARE, ("Payroll", "Bookkeeping")),
        S("order it", CLARIFY),
    ),
    D(
        "order-it-after-two-ar",
        S("قارن بين مسك الدفاتر والرواتب", COMPARE, ("Payroll", "Bookkeeping")),
        S("اطلبه", CLARIFY),
    ),
    D("order-vague", S("I want to order something", CLARIFY, contains=("Which service",))),
    D("order-vague-ar", S("أبي أطلب", CLARIFY, contains=("أي خدمة تريد أن تطلب",))),
    D(
        "answer-which",
        S("I'd like to place an order", CLARIFY),
        *order_steps("payroll", "Payroll"),
    ),
    D(
        "answer-which-ar",
        S("ودي أطلب خدمة", CLARIFY),
        *order_steps("الرواتب", "Payroll"),
    ),
    D("how-to-order", S("How do I order payroll?", DESCRIBE, ("Payroll",))),
    D("how-to-order-ar", S("كيف أطلب مسير الرواتب؟", DESCRIBE, ("Payroll",))),
    D("price-to-order", S("how much to order VAT filing", DESCRIBE, ("VAT Filing",))),
    D("price-to-order-ar", S("بكم أطلب إقرار الزكاة", DESCRIBE, ("Zakat Filing",))),
    D(
        "question-after-which",
        S("I want to order something", CLARIFY),
        S("how much is payroll?", DESCRIBE, ("Payroll",)),
    ),
    D(
        "question-after-which-ar",
        S("أبي أطلب", CLARIFY),
        S("كم سعر الرواتب؟", DESCRIBE, ("Payroll",)),
    ),
    D(
        "dont-order-it",
        S("tell me about payroll", DESCRIBE, ("Payroll",)),
        S("no, don't order it", DECLINED, contains=("haven't ordered anything",)),
    ),
    D(
        "dont-order-it-ar",
        S("كم سعر الرواتب؟", DESCRIBE, ("Payroll",)),
        S("لا، لا أريده", DECLINED, contains=("لم أطلب لك شيئاً",)),
    ),
    D(
        "maybe-later",
        S("How much is bookkeeping?", DESCRIBE, ("Bookkeeping",)),
        S("maybe I will order it next month", DECLINED),
    ),
    D(
        "maybe-later-ar",
        S("كم سعر مسك الدفاتر؟", DESCRIBE, ("Bookkeeping",)),
        S("ربما أطلبه لاحقاً", DECLINED),
    ),
    D(
        "question-about-it",
        S("tell me about VAT filing", DESCRIBE, ("VAT Filing",)),
        S("what does it include?", DESCRIBE, ("VAT Filing",)),
        S("where can I order it?", DESCRIBE, ("VAT Filing",)),
    ),
    D(
        "question-about-it-ar",
        S("ما هي خدمة إقرار الزكاة؟", DESCRIBE, ("Zakat Filing",)),
        S("ماذا يشمل هذا؟", DESCRIBE, ("Zakat Filing",), contains=("1800.00 ريال",)),
    ),
    D(
        "accept-offer",
        S("How much is zakat filing?", DESCRIBE, ("Zakat Filing",)),
        *order_steps("yes please", "Zakat Filing"),
    ),
    D(
        "accept-offer-ar",
        S("كم سعر إقرار الزكاة؟", DESCRIBE, ("Zakat Filing",)),
        *order_steps("نعم", "Zakat Filing"),
    ),
    D(
        "accept-offer-ok-ar",
        S("كم سعر مسك الدفاتر؟", DESCRIBE, ("Bookkeeping",)),
        *order_steps("ok", "Bookkeeping", contains=("تم تسجيل طلبك",), language="ar"),
    ),
    D(
        "accept-offer-ok",
        S("how much is bookkeeping?", DESCRIBE, ("Bookkeeping",)),
        *order_steps("ok", "Bookkeeping", contains=("Your order #",)),
    ),
    D(
        "thanks-is-not-yes",
        S("How much is the financial audit?", DESCRIBE, ("Financial Audit",)),
        S("ok thanks", THANKS),
    ),
    D(
        "thanks-is-not-yes-ar",
        S("كم سعر التدقيق المالي؟", DESCRIBE, ("Financial Audit",)),
        S("شكراً", THANKS, contains=("العفو",)),
    ),
    # -- status and cancel --------------------------------------------------------------------
    D("cancel-nothing", S("cancel my order", CANCEL, contains=("no pending order",))),
    D("cancel-nothing-ar", S("ألغِ طلبي", CANCEL, contains=("لا يوجد لديك طلب قيد الانتظار",))),
    D(
        "order-then-cancel",
        *order_steps("order payroll", "Payroll"),
        S("cancel my order", CANCEL, cancels=True, contains=("has been cancelled",)),
    ),
    D(
        "order-then-cancel-ar",
        *order_steps("اطلب مسير الرواتب", "Payroll"),
        S("الغ الطلب", CANCEL, cancels=True, contains=("تم إلغاء طلبك",)),
    ),
    D(
        "status",
        *order_steps("book company formation", "Company Formation"),
        S("where is my order?", STATUS, contains=("pending confirmation", "3500.00 SAR")),
    ),
    D(
        "status-ar",
        *order_steps("احجز تأسيس الشركات", "Company Formation"),
        S("وين طلبي؟", STATUS, contains=("قيد الانتظار", "تأسيس الشركات", "3500.00 ريال")),
    ),
    D(
        "placed-earlier-where-is-it",
        S("tell me about payroll", DESCRIBE, ("Payroll",)),
        S("I placed an order yesterday, where is it?", STATUS, contains=("no orders",)),
    ),
    D(
        "placed-earlier-where-is-it-ar",
        S("كم سعر الرواتب؟", DESCRIBE, ("Payroll",)),
        S("طلبت أمس، وين وصل الطلب؟", STATUS, contains=("لا توجد طلبات",)),
    ),
    D("status-none", S("what's the status of my order?", STATUS, contains=("no orders",))),
    D("status-none-ar", S("ما حالة طلبي؟", STATUS, contains=("لا توجد طلبات",))),
    D(
        "cancel-by-number-once",
        *order_steps("I need the audit", "Financial Audit"),
        S("cancel order #{order}", CANCEL, cancels=True),
        S("please cancel order #{order}", CANCEL, contains=("can no longer be cancelled",)),
    ),
    D(
        "cancel-by-number-once-ar",
        *order_steps("أريد التدقيق المالي", "Financial Audit"),
        S("ألغِ الطلب رقم {order_ar}", CANCEL, cancels=True),
        S("ألغِ الطلب رقم {order_ar}", CANCEL, contains=("لا يمكن إلغاؤه",)),
    ),
    D(
        "asking-about-cancelling-cancels-nothing",
        *order_steps("order payroll", "Payroll"),
        S("can I cancel my order later?", HOW_TO, contains=('"cancel my order"',)),
        S("order history please", STATUS, contains=("Payroll", "pending confirmation")),
    ),
    D(
        "asking-about-cancelling-cancels-nothing-ar",
        *order_steps("اطلب مسير الرواتب", "Payroll"),
        S("هل يمكنني إلغاء الطلب لاحقاً؟", HOW_TO, contains=("«ألغِ طلبي»",)),
        S("ما حالة طلبي؟", STATUS, contains=("مسير الرواتب", "قيد الانتظار")),
    ),
    D(
        "status-unknown-number",
        S(
            "where is order #999999?",
            STATUS,
            contains=("can't find order #999999",),
            order_number=999999,
        ),
    ),
    D(
        "status-unknown-number-ar",
        S(
            "أين الطلب رقم ٩٩٩٩٩٩؟",
            STATUS,
            contains=("لم أجد الطلب رقم 999999",),
            order_number=999999,
        ),
    ),
    D(
        "cancel-which-of-two",
        *order_steps("order payroll", "Payroll"),
        *order_steps("also order bookkeeping please", "Bookkeeping"),
        S("cancel my order", CANCEL, contains=("Which one should I cancel",)),
    ),
    D(
        "cancel-which-of-two-ar",
        *order_steps("اطلب الرواتب", "Payroll"),
        *order_steps("واطلب مسك الدفاتر كذلك", "Bookkeeping"),
        S("أريد إلغاء الطلب", CANCEL, contains=("أي طلب تريد إلغاءه",)),
    ),
    # -- small talk and everything else ------------------------------------------------------
    D("greeting", S("Hello!", GREETING)),
    D("greeting-ar", S("السلام عليكم", GREETING, contains=("أهلاً",))),
    D("thanks", S("thank you, bye", THANKS)),
    D("thanks-ar", S("مشكور، مع السلامة", THANKS)),
    D("redirect", S("What's the weather in Riyadh?", REDIRECT, contains=("I'm sorry",))),
    D("redirect-ar", S("كيف الطقس في الرياض؟", REDIRECT, contains=("عذراً", "35.00 ريال"))),
    # -- issue 18: a question is never an order; an order is proposed, then confirmed ----------
    D("question-do-i-need", S("Do I need an audit?", DESCRIBE, ("Financial Audit",))),
    D("question-do-i-need-ar", S("هل أحتاج إلى مسك دفاتر؟", DESCRIBE, ("Bookkeeping",))),
    D(
        "question-what-do-i-need",
        S("What do I need to provide for company formation?", DESCRIBE, ("Company Formation",)),
    ),
    D(
        "question-what-do-i-need-ar",
        S("ماذا أحتاج لتأسيس الشركات؟", DESCRIBE, ("Company Formation",)),
    ),
    D(
        "quantity",
        *order_steps(
            "order payroll for 10 employees",
            "Payroll",
            quantity=10,
            contains=("Payroll × 10", "350.00 SAR"),
        ),
    ),
    D(
        "quantity-ar",
        *order_steps(
            "اطلب مسير الرواتب لـ ١٠ موظفين",
            "Payroll",
            quantity=10,
            contains=("مسير الرواتب × 10", "350.00 ريال"),
        ),
    ),
    D(
        "yes-with-a-quantity",
        S("tell me about payroll", DESCRIBE, ("Payroll",)),
        *order_steps("yes, for 10 employees", "Payroll", quantity=10, contains=("350.00 SAR",)),
    ),
    D(
        "yes-with-a-quantity-ar",
        S("كم سعر الرواتب؟", DESCRIBE, ("Payroll",)),
        *order_steps("نعم، لـ ١٠ موظفين", "Payroll", quantity=10, contains=("350.00 ريال",)),
    ),
    D(
        "quantity-changed-before-yes",
        S("order payroll", ORDER, proposes="Payroll", contains=("35.00 SAR each",)),
        S("make it 12 employees", ORDER, proposes="Payroll", quantity=12, contains=("420.00 SAR",)),
        S("yes", CONFIRM, ordered="Payroll", quantity=12, contains=("420.00 SAR",)),
    ),
    D(
        "quantity-changed-before-yes-ar",
        S("اطلب مسير الرواتب", ORDER, proposes="Payroll", contains=("35.00 ريال للوحدة",)),
        S("خليها ١٢ موظف", ORDER, proposes="Payroll", quantity=12, contains=("420.00 ريال",)),
        S("أكّد", CONFIRM, ordered="Payroll", quantity=12),
    ),
    D(
        "a-late-yes-confirms-nothing",
        S("order bookkeeping", ORDER, proposes="Bookkeeping"),
        S("what does it include?", DESCRIBE, ("Bookkeeping",)),
        S("yes", ORDER, proposes="Bookkeeping"),  # the offer of the answer, proposed again
    ),
    D(
        "a-late-yes-confirms-nothing-ar",
        S("اطلب مسك الدفاتر", ORDER, proposes="Bookkeeping"),
        S("ماذا يشمل هذا؟", DESCRIBE, ("Bookkeeping",)),
        S("نعم", ORDER, proposes="Bookkeeping"),
    ),
    D(
        "no-to-a-proposal",
        S("order the financial audit", ORDER, proposes="Financial Audit"),
        S("no thanks", DECLINED, contains=("haven't ordered anything",)),
    ),
    D(
        "no-to-a-proposal-ar",
        S("اطلب التدقيق المالي", ORDER, proposes="Financial Audit"),
        S("لا شكراً", DECLINED, contains=("لم أطلب لك شيئاً",)),
    ),
    D(
        "cancel-by-service-name",
        *order_steps("order payroll", "Payroll"),
        *order_steps("order bookkeeping", "Bookkeeping"),
        S(
            "cancel the bookkeeping order",
            CANCEL,
            ("Bookkeeping",),
            cancels=True,
            contains=("Bookkeeping has been cancelled",),
        ),
    ),
    D(
        "cancel-by-service-name-ar",
        *order_steps("اطلب مسير الرواتب", "Payroll"),
        *order_steps("اطلب مسك الدفاتر", "Bookkeeping"),
        S(
            "ألغِ طلب مسك الدفاتر",
            CANCEL,
            ("Bookkeeping",),
            cancels=True,
            contains=("تم إلغاء طلبك",),
        ),
    ),
    D(
        "topic-taxes",
        S(
            "I need help with my taxes",
            DESCRIBE,
            ("VAT Filing", "Zakat Filing"),
            contains=("450.00 SAR", "1800.00 SAR"),
        ),
    ),
    D(
        "topic-taxes-ar",
        S(
            "أحتاج مساعدة في الضرائب",
            DESCRIBE,
            ("VAT Filing", "Zakat Filing"),
            contains=("450.00 ريال", "1800.00 ريال"),
        ),
    ),
    D(
        "difference",
        S(
            "What's the difference between bookkeeping and a financial audit?",
            COMPARE,
            ("Bookkeeping", "Financial Audit"),
            contains=("ledger", "licensed auditor"),
        ),
    ),
    D(
        "difference-ar",
        S(
            "ما الفرق بين مسك الدفاتر والتدقيق المالي؟",
            COMPARE,
            ("Bookkeeping", "Financial Audit"),
            contains=("دفتر الأستاذ", "مراجع حسابات مرخص"),
        ),
    ),
]
CANNED = {"en": "Happy to help with that.", "ar": "يسعدني مساعدتك في ذلك."}


def test_the_suite_is_big_enough_and_half_arabic():
    by_language = {"en": 0, "ar": 0}
    for dialogue in DIALOGUES:
        by_language[dialogue.language] += 1
    assert len(DIALOGUES) >= 40
    assert by_language["ar"] * 2 >= len(DIALOGUES)
    assert len({d.name for d in DIALOGUES}) == len(DIALOGUES)


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


@pytest.fixture
def demo() -> Tenant:
    return demo_company()


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


@pytest.mark.parametrize("dialogue", DIALOGUES, ids=lambda d: d.name)
def test_catalog_provider(dialogue, demo, settings):
    settings.LLM_PROVIDER = "catalog"
    run_dialogue(dialogue, demo, llm=None)


@pytest.mark.parametrize("dialogue", DIALOGUES, ids=lambda d: d.name)
def test_openai_provider_tools(dialogue, demo, llm):
    run_dialogue(dialogue, demo, llm=llm)
