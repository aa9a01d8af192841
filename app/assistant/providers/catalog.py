"""The offline provider: deterministic answers straight from the catalog snapshot.

It needs no key and no network, so `make run`, the tests and air-gapped installs always have a
working assistant. It understands listing, describing (tolerant name matching, typos included),
ordering ("order payroll", or "order it" after a service was discussed) and small talk.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from assistant.providers.base import Provider, ProviderReply, Turn
from catalog.snapshot import CatalogSnapshot, ServiceEntry

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_ORDER_PATTERNS = re.compile(
    r"\b(order|buy|book|purchase|subscribe|sign me up|i want|i'd like|i would like|"
    r"get me|place an order)\b"
)
_LIST_PATTERNS = re.compile(
    r"\b(services?|offer|offers|offering|catalog(ue)?|menu|list|options|what can you|"
    r"what do you (do|have|sell)|prices?)\b"
)
_GREETING = re.compile(
    r"^\s*(hi|hello|hey|salam|salaam|marhaba|good (morning|afternoon|evening))\b"
)
_THANKS = re.compile(r"\b(thanks|thank you|shukran|bye|goodbye)\b")
_REFERENCE = re.compile(r"\b(it|that|this|that one|this one)\b")
_STOPWORDS = {"the", "a", "an", "and", "of", "for", "to", "service", "services"}
_MATCH_THRESHOLD = 0.8


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _similar(a: str, b: str) -> float:
    return 1.0 if a == b else SequenceMatcher(None, a, b).ratio()


def match_service(text: str, services: tuple[ServiceEntry, ...]) -> ServiceEntry | None:
    """The service the text names, tolerating case, punctuation, plurals and small typos."""
    words = _words(text)
    joined = " ".join(words)
    best, best_score = None, 0.0
    for service in services:
        name_words = [w for w in _words(service.name) if w not in _STOPWORDS] or _words(
            service.name
        )
        if " ".join(_words(service.name)) in joined:
            score = 1.0
        elif words:
            score = min(max(_similar(nw, w) for w in words) for nw in name_words)
        else:
            score = 0.0
        if score > best_score:
            best, best_score = service, score
    return best if best_score >= _MATCH_THRESHOLD else None


def _last_discussed(history: list[Turn], services: tuple[ServiceEntry, ...]) -> ServiceEntry | None:
    for turn in reversed(history):
        service = match_service(turn.content, services)
        if service is not None:
            return service
    return None


def _catalog_lines(snapshot: CatalogSnapshot) -> str:
    return "\n".join(f"- {s.name} ({s.category}): {s.price_label}" for s in snapshot.services)


class CatalogProvider(Provider):
    name = "catalog"

    def reply(
        self, *, company_name: str, snapshot: CatalogSnapshot, history: list[Turn], message: str
    ) -> ProviderReply:
        text = message.casefold()
        if not snapshot.services:
            return ProviderReply(
                f"{company_name} has no services available to order right now. "
                "Please check back later."
            )
        service = match_service(message, snapshot.services)
        if _ORDER_PATTERNS.search(text):
            if service is None and _REFERENCE.search(text):
                service = _last_discussed(history, snapshot.services)
            if service is None:
                return ProviderReply(
                    "Which service would you like to order? We offer:\n" + _catalog_lines(snapshot)
                )
            # The service layer confirms (or refuses) the order in the reply.
            return ProviderReply("", order_service_id=service.id)
        if service is not None:
            return ProviderReply(
                f"{service.name} costs {service.price_label}. {service.description} "
                f'Say "order {service.name}" if you would like it.'
            )
        if _LIST_PATTERNS.search(text):
            return ProviderReply(
                f"Here are the services {company_name} offers:\n"
                + _catalog_lines(snapshot)
                + '\nAsk about any of them, or say "order <service>".'
            )
        if _GREETING.search(text):
            return ProviderReply(
                f"Hello! I'm the {company_name} assistant. I can tell you about our services "
                'and place orders. Ask "what services do you offer?" to start.'
            )
        if _THANKS.search(text):
            return ProviderReply("You're welcome! Anything else I can help you with?")
        return ProviderReply(
            "I'm sorry, I can only help with our services and orders. We offer:\n"
            + _catalog_lines(snapshot)
        )
