"""Orders for the assistant: placing one (only from a confirmed proposal: assistant/proposals.py),
and the status and cancel of a customer's own orders. Status and cancel reach orders only through
the customer's conversation of their company (assistant/selectors.py), so another customer's or
company's order is never found, let alone changed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from assistant import replies
from assistant.models import Order
from assistant.selectors import OrderView, conversation_orders
from catalog.models import Service
from ops.metrics import ORDERS_CANCELLED, ORDERS_CREATED
from tenancy.keys import Tenant


@dataclass(frozen=True, slots=True)
class OrderSummary:
    id: int
    service_id: int
    service_name: str
    price: str  # the total: unit_price * quantity
    currency: str
    status: str
    quantity: int = 1
    unit_price: str = ""


def orderable_service(*, tenant: Tenant, service_id: int) -> tuple[str, Decimal, str] | None:
    """(name, price, currency) of a service of the tenant's that is active and orderable now,
    read from the database: the snapshot may be up to one invalidation old."""
    return (
        Service.objects.filter(
            pk=service_id, company_id=tenant.id, is_active=True, is_orderable=True
        )
        .values_list("name", "price", "currency")
        .first()
    )


def order_create(
    *,
    tenant: Tenant,
    service_id: int,
    conversation_id: uuid.UUID | None,
    quantity: int = 1,
    unit_price: Decimal | None = None,
    currency: str | None = None,
) -> OrderSummary | None:
    """Order a service of the tenant's that is active and orderable now; None if it is not, or
    if its price or currency is no longer the `unit_price`/`currency` the customer agreed to."""
    row = orderable_service(tenant=tenant, service_id=service_id)
    if row is None:
        return None
    name, price, current_currency = row
    if (unit_price is not None and price != unit_price) or (
        currency is not None and current_currency != currency
    ):
        return None
    total = price * quantity
    order = Order.objects.create(
        company_id=tenant.id,
        service_id=service_id,
        conversation_id=conversation_id,
        price=total,
        unit_price=price,
        quantity=quantity,
        currency=current_currency,
    )
    transaction.on_commit(ORDERS_CREATED.inc)
    return OrderSummary(
        id=order.id,
        service_id=service_id,
        service_name=name,
        price=str(total),
        currency=current_currency,
        status=order.status,
        quantity=quantity,
        unit_price=str(price),
    )


def _order_line(order: OrderView, language: str) -> str:
    return replies.say(
        "order_line",
        language,
        id=order.id,
        name=order.service_name_in(language),
        price=replies.price(order.price, order.currency, language),
        status=replies.STATUS_LABELS[language][order.status],
        date=order.created_at.strftime("%Y-%m-%d"),
        quantity=order.quantity,
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
    *,
    tenant: Tenant,
    conversation_id: uuid.UUID,
    order_id: int | None,
    language: str,
    service_id: int | None = None,
    service_name: str = "",
) -> tuple[str, OrderSummary | None]:
    """Cancel the customer's pending order: the one they named (by number, or by service when
    only one pending order is for it), or their only pending one.

    Only orders of this company *and* this conversation are reachable, so neither another
    company's nor another customer's order can be cancelled, or even confirmed to exist. The
    update is conditional on the order still being pending, so a cancel racing staff's
    confirmation cannot undo it.
    """
    if order_id is None:
        pending = conversation_orders(
            company_id=tenant.id,
            conversation_id=conversation_id,
            status=Order.Status.PLACED,
            service_id=service_id,
        )
        if not pending and service_id is not None:
            return replies.say("which_service_to_cancel", language, name=service_name), None
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
        quantity=target.quantity,
    )
    return replies.say("cancelled", language, id=target.id, name=name), summary
