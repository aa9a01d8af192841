"""Database reads for the assistant. Orders are only ever read through a conversation of the
caller's company: the two filters are the tenant isolation (a customer's conversation id is
their only handle on their orders)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from assistant.models import Order

_FIELDS = (
    "id", "service_id", "service__name", "service__name_ar", "price", "currency", "status",
    "created_at", "quantity",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class OrderView:
    id: int
    service_id: int
    service_name: str
    service_name_ar: str
    price: str
    currency: str
    status: str
    created_at: datetime
    quantity: int = 1

    def service_name_in(self, language: str) -> str:
        return (
            self.service_name_ar if language == "ar" and self.service_name_ar else self.service_name
        )


def conversation_orders(
    *,
    company_id: int,
    conversation_id: uuid.UUID | None,
    order_id: int | None = None,
    status: str | None = None,
    service_id: int | None = None,
    limit: int = 10,
) -> list[OrderView]:
    """The conversation's orders (only `order_id`, only in `status` when given), newest first;
    none for a conversation not created yet."""
    if conversation_id is None:
        return []
    orders = Order.objects.filter(company_id=company_id, conversation_id=conversation_id)
    if order_id is not None:
        orders = orders.filter(pk=order_id)
    if status is not None:
        orders = orders.filter(status=status)
    if service_id is not None:
        orders = orders.filter(service_id=service_id)
    rows = orders.order_by("-created_at", "-id").values_list(*_FIELDS)[:limit]
    return [
        OrderView(
            id=pk,
            service_id=service_id,
            service_name=name,
            service_name_ar=name_ar,
            price=str(price),
            currency=currency,
            status=status,
            created_at=created_at,
            quantity=quantity,
        )
        for pk, service_id, name, name_ar, price, currency, status, created_at, quantity in rows
    ]
