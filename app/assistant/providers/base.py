from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from catalog.snapshot import CatalogSnapshot


@dataclass(frozen=True, slots=True)
class Turn:
    role: str  # "user" or "assistant"
    content: str


@dataclass(frozen=True, slots=True)
class ProviderReply:
    text: str
    order_service_id: int | None = None  # the customer asked to order this service


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
