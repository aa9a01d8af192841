"""The offline provider: deterministic answers from the snapshot, tolerant name matching."""

from __future__ import annotations

import pytest

from assistant.providers import Turn
from assistant.providers.catalog import CatalogProvider, match_service
from catalog.snapshot import CatalogSnapshot, ServiceEntry

SNAPSHOT = CatalogSnapshot(
    company_id=1,
    services=(
        ServiceEntry(1, "Bookkeeping", "Monthly books.", "950.00", "SAR", "Accounting"),
        ServiceEntry(2, "VAT Filing", "Quarterly VAT.", "450.00", "SAR", "Tax"),
        ServiceEntry(3, "Payroll", "Monthly payroll.", "35.00", "SAR", "HR"),
    ),
)


def ask(message: str, history: list[Turn] | None = None):
    return CatalogProvider().reply(
        company_name="Acme", snapshot=SNAPSHOT, history=history or [], message=message
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vat filing", 2),
        ("How much is VAT-filing?", 2),
        ("tell me about bookeeping", 1),  # typo
        ("PAYROLL please", 3),
        ("payrol", 3),
        ("the weather", None),
    ],
)
def test_tolerant_matching(text, expected):
    match = match_service(text, SNAPSHOT.services)
    assert (match.id if match else None) == expected


def test_lists_services_with_prices():
    reply = ask("What services do you offer?")
    assert all(s.name in reply.text and s.price in reply.text for s in SNAPSHOT.services)
    assert reply.order_service_id is None


def test_describes_one_service():
    reply = ask("how much is payroll?")
    assert "35.00 SAR" in reply.text
    assert "Monthly payroll." in reply.text


def test_orders_a_named_service():
    assert ask("I want to order VAT filing").order_service_id == 2


def test_orders_the_service_discussed_before():
    history = [Turn("user", "tell me about bookkeeping"), Turn("assistant", "Bookkeeping costs…")]
    assert ask("ok, order it", history).order_service_id == 1


def test_asks_which_service_when_the_order_is_vague():
    reply = ask("I want to order something")
    assert reply.order_service_id is None
    assert "Which service" in reply.text


def test_unrelated_questions_get_a_polite_redirect():
    reply = ask("what's the capital of France?")
    assert reply.text.startswith("I'm sorry")
    assert "Payroll" in reply.text


def test_an_empty_catalog_is_said_plainly():
    reply = CatalogProvider().reply(
        company_name="Acme", snapshot=CatalogSnapshot(1, ()), history=[], message="hi"
    )
    assert "no services" in reply.text


ARABIC = CatalogSnapshot(
    company_id=1,
    services=(
        ServiceEntry(1, "Bookkeeping", "Books.", "950.00", "SAR", "Accounting", "مسك الدفاتر"),
        ServiceEntry(2, "VAT Filing", "VAT.", "450.00", "SAR", "Tax", "إقرار ضريبة القيمة المضافة"),
        ServiceEntry(3, "Payroll", "Payroll.", "35.00", "SAR", "HR", "مسير الرواتب"),
        ServiceEntry(4, "Zakat Filing", "Zakat.", "1800.00", "SAR", "Tax", "إقرار الزكاة"),
        ServiceEntry(5, "Company Formation", "CR.", "3500.00", "SAR", "Legal", "تأسيس الشركات"),
    ),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("كم سعر الرواتب؟", 3),  # one distinctive word of the name
        ("كم سعر رواتب", 3),  # without the article
        ("بكم الراتب", 3),  # singular
        ("للرواتب", 3),  # attached preposition + article
        ("إقرار الزكاة", 4),
        ("اقرار الزكاه", 4),  # أ/إ/ا and ة/ه
        ("الزَّكاة", 4),  # diacritics
        ("ضريبة القيمة المضافة", 2),
        ("تاسيس شركة", 5),
        ("اقرار", None),  # shared by two services: ambiguous
        ("شركتكم ممتازة", None),  # an everyday word never names a service alone
        ("I need information", None),  # "information" is not "formation"
        ("company formation", 5),
        ("What does your company do?", None),
    ],
)
def test_tolerant_arabic_matching(text, expected):
    match = match_service(text, ARABIC.services)
    assert (match.id if match else None) == expected


def bilingual(message: str, history: list[Turn] | None = None):
    return CatalogProvider().reply(
        company_name="Acme", snapshot=ARABIC, history=history or [], message=message
    )


def test_arabic_question_gets_an_arabic_answer():
    """Issue 13: an Arabic question used to get the English redirect and the English list."""
    reply = bilingual("ما هي الخدمات المتوفرة؟")
    assert reply.intent == "list"
    assert "مسير الرواتب: 35.00 ريال" in reply.text
    assert "I'm sorry" not in reply.text
    assert "Payroll" not in reply.text


def test_a_question_about_two_services_answers_both():
    """Issue 13: only the first service of "bookkeeping and VAT" used to be answered."""
    reply = bilingual("How much do you charge for bookkeeping and VAT?")
    assert reply.service_ids == (1, 2)
    assert "950.00 SAR" in reply.text
    assert "450.00 SAR" in reply.text
    assert reply.order_service_id is None


def test_an_unknown_service_then_order_it_asks_which():
    """Issue 10 item 6: "order it" after the fallback list ordered the first listed service."""
    first = bilingual("Tell me about Zeppelin Repair")
    history = [Turn("user", "Tell me about Zeppelin Repair"), Turn("assistant", first.text)]
    reply = bilingual("Great, order it", history)
    assert reply.order_service_id is None
    assert reply.intent == "clarify"
    assert "Which service" in reply.text


@pytest.mark.parametrize("message", ["cancel my order", "please cancel order #12", "ألغِ طلبي"])
def test_cancel_is_never_an_order(message):
    """Issue 10 item 6 / issue 13: "cancel my order" was read as a request to place one."""
    reply = bilingual(message)
    assert reply.order_service_id is None
    assert reply.intent == "order_cancel"


@pytest.mark.parametrize(
    "message",
    ["what if I cancel?", "can I cancel my order?", "what is the cancellation policy?",
     "هل يمكنني إلغاء الطلب لاحقاً؟", "ما هي سياسة الإلغاء؟"],
)  # fmt: skip
def test_asking_about_cancelling_cancels_nothing(message):
    reply = bilingual(message)
    assert reply.intent == "how_to"
    assert "cancel my order" in reply.text or "ألغِ طلبي" in reply.text


def test_only_a_bare_yes_accepts_the_offer():
    offer = bilingual("tell me about payroll")
    history = [Turn("user", "tell me about payroll"), Turn("assistant", offer.text)]
    for yes in ("yes", "ok", "yes please", "sure, go ahead", "نعم", "تمام", "نعم من فضلك"):
        assert bilingual(yes, history).order_service_id == 3, yes
    for other in ("order history please", "ok, what else?", "ok thanks", "yes, and VAT?", "لا"):
        assert bilingual(other, history).order_service_id is None, other


@pytest.mark.parametrize(
    ("message", "order_id"),
    [("where is my order?", None), ("status of order 7", 7), ("وين طلبي رقم ٧؟", 7)],
)
def test_order_status_is_an_intent_with_the_number_given(message, order_id):
    reply = bilingual(message)
    assert (reply.intent, reply.order_id, reply.order_service_id) == (
        "order_status",
        order_id,
        None,
    )
