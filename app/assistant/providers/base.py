from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from catalog.snapshot import CatalogSnapshot


@dataclass(frozen=True, slots=True)
class Turn:
    role: str  # "user" or "assistant"
    content: str


class Intent(StrEnum):
    """What the customer asked for, as the provider understood it. The order intents are
    requests the service layer checks and carries out; the others are answered by the text.

    ORDER never places an order by itself: the service layer answers it with a proposal (what
    will be ordered, how many, the total) and places the order only when the customer's next
    turn confirms it (ORDER_CONFIRM, decided by the server: assistant/confirmation.py)."""

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
    ORDER = "order"  # the customer wants to order: the service layer proposes it
    ORDER_CONFIRM = "order_confirm"  # the customer confirmed the proposal: the order is placed
    ORDER_STATUS = "order_status"
    ORDER_CANCEL = "order_cancel"


@dataclass(frozen=True, slots=True)
class ProviderReply:
    text: str
    order_service_id: int | None = None  # the customer asked to order this service
    intent: Intent = Intent.ANSWER
    order_id: int | None = None  # status/cancel: the order number the customer gave, if any
    service_ids: tuple[int, ...] = ()  # the services the answer is about, in the order named
    quantity: int | None = None  # order: how many (employees, months…) the customer asked for

    def __post_init__(self) -> None:
        if self.order_service_id is not None and self.intent is Intent.ANSWER:
            object.__setattr__(self, "intent", Intent.ORDER)


class ProviderError(Exception):
    """The provider could not answer; `reason` is a short label for metrics."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


_WORD = re.compile(r"\s*\S+")
WORDS_PER_CHUNK = 3


def text_chunks(text: str, words: int = WORDS_PER_CHUNK) -> Iterator[str]:
    """`text` in pieces of a few words, each piece keeping the whitespace before its words (the
    last one the text's trailing whitespace too), so that "".join(pieces) == text exactly."""
    pieces = _WORD.findall(text)
    tail = text[sum(map(len, pieces)) :]
    if not pieces:
        if tail:
            yield tail
        return
    for start in range(0, len(pieces), words):
        chunk = "".join(pieces[start : start + words])
        yield chunk + tail if start + words >= len(pieces) else chunk


class Provider(ABC):
    name: str

    @abstractmethod
    def reply(
        self, *, company_name: str, snapshot: CatalogSnapshot, history: list[Turn], message: str
    ) -> ProviderReply:
        """Answer `message` given the catalog snapshot and earlier turns (oldest first)."""

    def stream(
        self, *, company_name: str, snapshot: CatalogSnapshot, history: list[Turn], message: str
    ) -> Iterator[str | ProviderReply]:
        """The reply as it is produced: text deltas (non-empty strings), then exactly one
        ProviderReply as the last item, whose text is "".join(deltas) and which carries the
        intent, order_service_id, order_id and service_ids that reply() would.

        A generator: nothing happens until the first next(). It raises ProviderError, possibly
        after some deltas were yielded. Closing it early (the HTTP client went away) stops the
        work at once and leaks nothing.

        This default computes reply() and hands its text out a few words at a time, which is
        what a provider that answers all at once (the catalog provider) can offer; a provider
        that can stream (openai) overrides it.
        """
        reply = self.reply(
            company_name=company_name, snapshot=snapshot, history=history, message=message
        )
        yield from text_chunks(reply.text)
        yield reply
