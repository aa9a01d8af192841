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
