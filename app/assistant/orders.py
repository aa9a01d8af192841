"""Order status and cancel for the assistant: what a customer may see and undo of their own
orders. Both reach orders only through the customer's conversation of their company
(assistant/selectors.py), so another customer's or company's order is never found, let alone
changed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from assistant import replies
from assistant.models import Order
from assistant.selectors import OrderView, conversation_orders
from catalog.api_keys import Tenant
from ops.metrics import ORDERS_CANCELLED


@dataclass(frozen=True, slots=True)
class OrderSummary:
    id: int
    service_id: int
    service_name: str
    price: str
    currency: str
    status: str


def _order_line(order: OrderView, language: str) -> str:
    return replies.say(
        "order_line",
        language,
        id=order.id,
        name=order.service_name_in(language),
        price=replies.price(order.price, order.currency, language),
        status=replies.STATUS_LABELS[language][order.status],
        date=order.created_at.strftime("%Y-%m-%d"),
    )


def order_status_text(
    *, tenant: Tenant, conversation_id: uuid.UUID, order_id: int | None, language: str
) -> str:
    """The customer's orders in this conversation (or the one they named), as a reply."""
    orders = conversation_orders(
        company_id=tenant.id, conversation_id=conversation_id, order_id=order_id
    )
    if not orders:
        if order_id is not None:
            return replies.say("order_not_found", language, id=order_id)
        return replies.say("no_orders", language)
    lines = "\n".join(_order_line(order, language) for order in orders)
    return replies.say("orders", language, lines=lines)


def order_cancel(
    *, tenant: Tenant, conversation_id: uuid.UUID, order_id: int | None, language: str
) -> tuple[str, OrderSummary | None]:
    """Cancel the customer's pending order: the one they named, or their only pending one.

    Only orders of this company *and* this conversation are reachable, so neither another
    company's nor another customer's order can be cancelled, or even confirmed to exist. The
    update is conditional on the order still being pending, so a cancel racing staff's
    confirmation cannot undo it.
    """
    if order_id is None:
        pending = conversation_orders(
            company_id=tenant.id, conversation_id=conversation_id, status=Order.Status.PLACED
        )
        if len(pending) > 1:
            lines = "\n".join(_order_line(order, language) for order in pending)
            return replies.say("which_to_cancel", language, lines=lines), None
        if not pending:
            return replies.say("nothing_pending", language), None
        target = pending[0]
    else:
        found = conversation_orders(
            company_id=tenant.id, conversation_id=conversation_id, order_id=order_id
        )
        if not found:
            return replies.say("order_not_found", language, id=order_id), None
        target = found[0]
    name = target.service_name_in(language)
    if target.status != Order.Status.PLACED:
        label = replies.STATUS_LABELS[language][target.status]
        return replies.say("not_pending", language, id=target.id, name=name, status=label), None
    changed = Order.objects.filter(
        pk=target.id,
        company_id=tenant.id,
        conversation_id=conversation_id,
        status=Order.Status.PLACED,
    ).update(status=Order.Status.CANCELLED, cancelled_at=timezone.now())
    if not changed:  # confirmed by staff between the read and the update
        status = Order.objects.filter(pk=target.id).values_list("status", flat=True).first()
        label = replies.STATUS_LABELS[language].get(status or target.status, target.status)
        return replies.say("not_pending", language, id=target.id, name=name, status=label), None
    transaction.on_commit(ORDERS_CANCELLED.inc)
    summary = OrderSummary(
        id=target.id,
        service_id=target.service_id,
        service_name=target.service_name,
        price=target.price,
        currency=target.currency,
        status=Order.Status.CANCELLED.value,
    )
    return replies.say("cancelled", language, id=target.id, name=name), summary
