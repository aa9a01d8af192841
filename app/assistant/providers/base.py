from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum

from catalog.snapshot import CatalogSnapshot


@dataclass(frozen=True, slots=True)
class Turn:
    role: str  # "user" or "assistant"
    content: str


class Intent(StrEnum):
    """What the customer asked for, as the provider understood it. The three order intents are
    requests the service layer checks and carries out; the others are answered by the text."""

    ANSWER = "answer"  # free text (an LLM's answer; the offline provider is more specific)
    GREETING = "greeting"
    THANKS = "thanks"
    LIST = "list"
    DESCRIBE = "describe"
    COMPARE = "compare"
    CLARIFY = "clarify"  # asked which service the customer means
    REDIRECT = "redirect"  # not about the services: a polite redirect
    DECLINED = "declined"  # "don't order it", "maybe later": acknowledged, nothing ordered
    HOW_TO = "how_to"  # how something works (e.g. "can I cancel later?"), nothing done
    EMPTY_CATALOG = "empty_catalog"
    ORDER = "order"
    ORDER_STATUS = "order_status"
    ORDER_CANCEL = "order_cancel"


@dataclass(frozen=True, slots=True)
class ProviderReply:
    text: str
    order_service_id: int | None = None  # the customer asked to order this service
    intent: Intent = Intent.ANSWER
    order_id: int | None = None  # status/cancel: the order number the customer gave, if any
    service_ids: tuple[int, ...] = ()  # the services the answer is about, in the order named

    def __post_init__(self) -> None:
        if self.order_service_id is not None and self.intent is Intent.ANSWER:
            object.__setattr__(self, "intent", Intent.ORDER)


class ProviderError(Exception):
    """The provider could not answer; `reason` is a short label for metrics."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class Provider(ABC):
    name: str

    @abstractmethod
    def reply(
        self, *, company_name: str, snapshot: CatalogSnapshot, history: list[Turn], message: str
    ) -> ProviderReply:
        """Answer `message` given the catalog snapshot and earlier turns (oldest first)."""
