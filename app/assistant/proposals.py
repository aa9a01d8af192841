"""The two steps of every order: propose, then place on the customer's confirmation.

Step one (any provider's ORDER intent, an offline "order payroll for 10 employees" or an LLM's
`place_order` call alike) writes an OrderProposal and answers with exactly what would be ordered:
the service, the quantity, the unit price, the total and the currency, then the question.
Step two happens only in the very next turn, and only when the server itself reads that turn as
a plain "yes" (assistant/confirmation.py): the proposal is taken (deleted, so two concurrent
"yes" place one order) and turned into an Order after the service is checked again in the
database (still active, orderable, same price and currency). Any other turn discards it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from assistant import replies
from assistant.conversations import PendingProposal
from assistant.models import OrderProposal
from assistant.orders import OrderSummary, order_create, orderable_service
from catalog.snapshot import CatalogSnapshot
from tenancy.keys import Tenant

MAX_QUANTITY = 10_000  # a larger number is a typo or a test of the system, not an order


@dataclass(frozen=True, slots=True)
class ProposalSummary:
    service_id: int
    service_name: str
    quantity: int
    unit_price: str
    total: str
    currency: str


def _name(snapshot: CatalogSnapshot, service_id: int, fallback: str, language: str) -> str:
    entry = snapshot.get(service_id)
    return entry.name_in(language) if entry else fallback


def proposal_make(
    *,
    tenant: Tenant,
    snapshot: CatalogSnapshot,
    conversation_id: uuid.UUID,
    service_id: int,
    quantity: int | None,
    language: str,
) -> tuple[str, ProposalSummary | None]:
    """Step one: remember what would be ordered and say it; (text, proposal or None)."""
    row = orderable_service(tenant=tenant, service_id=service_id)
    if row is None:
        name = _name(snapshot, service_id, replies.say("unknown_service", language), language)
        return replies.say("order_refused", language, name=name), None
    db_name, unit_price, currency = row
    count = min(max(quantity or 1, 1), MAX_QUANTITY)
    OrderProposal.objects.update_or_create(
        conversation_id=conversation_id,
        defaults={
            "service_id": service_id,
            "quantity": count,
            "unit_price": unit_price,
            "currency": currency,
        },
    )
    name = _name(snapshot, service_id, db_name, language)
    total = unit_price * count
    text = replies.say(
        "order_proposal",
        language,
        name=name,
        quantity=count,
        unit=replies.price(str(unit_price), currency, language),
        total=replies.price(str(total), currency, language),
    )
    summary = ProposalSummary(service_id, name, count, str(unit_price), str(total), currency)
    return text, summary


def proposal_discard(*, conversation_id: uuid.UUID) -> None:
    """A turn that is not a confirmation ends the proposal: a later "yes" confirms nothing."""
    OrderProposal.objects.filter(conversation_id=conversation_id).delete()


def proposal_confirm(
    *,
    tenant: Tenant,
    snapshot: CatalogSnapshot,
    conversation_id: uuid.UUID,
    proposal: PendingProposal,
    language: str,
) -> tuple[str, OrderSummary | None, ProposalSummary | None]:
    """Step two: place the proposed order; (text, order, a new proposal if the price moved)."""
    taken, _ = OrderProposal.objects.filter(
        conversation_id=conversation_id,
        service_id=proposal.service_id,
        quantity=proposal.quantity,
        unit_price=proposal.unit_price,
        currency=proposal.currency,
    ).delete()
    if not taken:  # a concurrent turn confirmed or replaced it first: nothing to place here
        return replies.say("nothing_to_confirm", language), None, None
    order = order_create(
        tenant=tenant,
        service_id=proposal.service_id,
        conversation_id=conversation_id,
        quantity=proposal.quantity,
        unit_price=proposal.unit_price,
        currency=proposal.currency,
    )
    if order is not None:
        text = replies.say(
            "order_placed",
            language,
            id=order.id,
            name=_name(snapshot, order.service_id, order.service_name, language),
            quantity=order.quantity,
            price=replies.price(order.price, order.currency, language),
        )
        return text, order, None
    row = orderable_service(tenant=tenant, service_id=proposal.service_id)
    fallback = row[0] if row else replies.say("unknown_service", language)
    name = _name(snapshot, proposal.service_id, fallback, language)
    if row is None:
        return replies.say("order_refused", language, name=name), None, None
    # Same service, new price: say so, and propose it again at the price it has now.
    again, summary = proposal_make(
        tenant=tenant,
        snapshot=snapshot,
        conversation_id=conversation_id,
        service_id=proposal.service_id,
        quantity=proposal.quantity,
        language=language,
    )
    return replies.say("price_changed", language, name=name) + "\n" + again, None, summary
