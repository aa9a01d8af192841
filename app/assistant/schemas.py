"""The assistant's own API (/api/v1/…): its request and response types, declared once."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from django.conf import settings
from pydantic import Field

from api.types import BoundedText, Request, Response

Language = Literal["en", "ar"]


class ChatRequest(Request):
    message: Annotated[str, BoundedText(lambda: settings.WAZEN_MAX_MESSAGE_CHARS)]
    conversation_id: Annotated[
        uuid.UUID | None,
        Field(strict=False, description="Continue this conversation (omit to start one)."),
    ] = None


class Order(Response):
    """An order placed (or cancelled) during the turn."""

    id: int
    service_id: int
    service_name: str
    price: str = Field(description="The total (unit price * quantity): a decimal, as text.")
    currency: str
    status: Literal["placed", "confirmed", "cancelled"]
    quantity: int = Field(default=1, description="How many units (employees, months…).")
    unit_price: str = Field(default="", description="The price of one unit, as text.")


class Proposal(Response):
    """The order the assistant proposed this turn: it is placed only if the customer's next
    message confirms it ("yes", "نعم", "confirm")."""

    service_id: int
    service_name: str
    quantity: int
    unit_price: str = Field(description="A decimal, as text.")
    total: str = Field(description="unit_price * quantity, a decimal, as text.")
    currency: str


class ChatResponse(Response):
    reply: str
    conversation_id: uuid.UUID
    language: Language = Field(description="The reply's language (ar: render right to left).")
    order: Order | None = Field(
        default=None, description="Present when the turn placed or cancelled an order."
    )
    proposal: Proposal | None = Field(
        default=None,
        description="Present when the assistant asks the customer to confirm an order; send "
        '"yes" as the next message to place it.',
    )


class Texts(Response):
    """A text in each language; '' where the company has not written one."""

    en: str
    ar: str


class Service(Response):
    id: int
    name: str = Field(description="In the chosen language.")
    description: str = Field(description="In the chosen language.")
    price: str = Field(description="A decimal, as text.")
    currency: str
    category: str
    names: Texts
    descriptions: Texts


class Company(Response):
    slug: str
    name: str


class Catalog(Response):
    """The company's orderable services, from the cached catalog."""

    company: Company
    language: Language
    services: list[Service]
