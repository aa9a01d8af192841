"""Which services a message names, in English or Arabic, tolerating what customers type.

A service is named when every significant word of one of its names appears (typos, plurals,
the Arabic article "ال" and attached prepositions tolerated), or when the message contains a word
that belongs to that service's names alone ("vat" names "VAT Filing"; "filing" names nothing,
two services share it). Everyday words ("company", "شركة", "price") never name a service alone.
"""

from __future__ import annotations

from collections import defaultdict
from difflib import SequenceMatcher

from assistant.language import words
from catalog.snapshot import ServiceEntry

_STOPWORDS = {
    "the", "a", "an", "and", "of", "for", "to", "&", "service", "services",
    "خدمه", "خدمات", "و", "في", "من", "علي", "الي", "ل",
}  # fmt: skip
# Words customers use in any sentence: they confirm a full name but never identify a service.
_EVERYDAY = {
    "company", "companies", "business", "my", "your", "our", "order", "orders", "price",
    "prices", "cost", "monthly", "annual", "yearly", "plan", "package", "help", "new",
    "شركه", "شركات", "شركتي", "شركتكم", "طلب", "سعر", "اسعار", "شهري", "سنوي", "جديد", "خدمتي",
}  # fmt: skip
_ARABIC_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال")
_ONE_LETTER_PREFIXES = ("و", "ب", "ل", "ف")
_FUZZY_RATIO = 0.8


def variants(word: str) -> set[str]:
    """The forms a word may stand for: itself, without a plural "s" or a possessive "'s",
    and without the Arabic article or an attached preposition/conjunction."""
    forms = {word}
    if word.endswith("'s"):
        forms.add(word[:-2])
    if word.isascii() and len(word) > 3 and word.endswith("s"):
        forms.add(word[:-1])
    for prefix in _ARABIC_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            forms.add(word[len(prefix) :])
            break
    else:
        if word[:1] in _ONE_LETTER_PREFIXES and len(word) >= 4:
            forms.add(word[1:])
    return forms


def _canonical(word: str) -> str:
    """A name word in the form the message's variants are compared with."""
    return word[2:] if word.startswith("ال") and len(word) >= 4 else word


def _similar(candidates: set[str], target: str) -> bool:
    if target in candidates:
        return True
    if len(target) < 4 or target.isdigit():
        return False  # short words and numbers must match exactly
    return any(
        c[:1] == target[:1]  # typos rarely hit the first letter; "information" ≠ "formation"
        and abs(len(c) - len(target)) <= 2
        and SequenceMatcher(None, c, target).ratio() >= _FUZZY_RATIO
        for c in candidates
    )


def _name_words(name: str) -> list[str]:
    all_words = [_canonical(w) for w in words(name)]
    significant = [w for w in all_words if w not in _STOPWORDS]
    return significant or all_words


def mentioned_services(
    text: str, services: tuple[ServiceEntry, ...], *, strict: bool = False
) -> list[ServiceEntry]:
    """The services `text` names, in the order it names them.

    `strict` accepts full names only: used on the assistant's own replies, whose descriptions
    may contain a word of another service's name.
    """
    message = [variants(w) for w in words(text)]
    joined = " " + " ".join(words(text)) + " "
    owners: dict[str, set[int]] = defaultdict(set)
    for service in services:
        for name in service.names():
            for word in _name_words(name):
                owners[word].add(service.id)

    found: list[tuple[int, int, ServiceEntry]] = []  # (position, -matched words, service)
    for service in services:
        best: tuple[int, int] | None = None
        for name in service.names():
            name_words = _name_words(name)
            if all(w.isdigit() for w in name_words):
                # "Service 2": a bare number is too common; the whole name must be written.
                phrase = " " + " ".join(words(name)) + " "
                full = phrase in joined
                positions = [joined.index(phrase)] if full else []
            else:
                positions = []
                for word in name_words:
                    hit = next(
                        (i for i, forms in enumerate(message) if _similar(forms, word)), None
                    )
                    if hit is not None:
                        positions.append(hit)
                full = len(positions) == len(name_words)
            if full:
                candidate = (min(positions), -len(name_words))
            elif not strict and positions:
                distinctive = [
                    i
                    for word in name_words
                    if len(owners[word]) == 1 and word not in _EVERYDAY and not word.isdigit()
                    for i, forms in enumerate(message)
                    if _similar(forms, word)
                ]
                if not distinctive:
                    continue
                candidate = (min(distinctive), 0)
            else:
                continue
            if best is None or candidate < best:
                best = candidate
        if best is not None:
            found.append((best[0], best[1], service))
    found.sort(key=lambda item: (item[0], item[1]))
    return [service for _, _, service in found]


def match_service(text: str, services: tuple[ServiceEntry, ...]) -> ServiceEntry | None:
    """The single service `text` names, or None if it names none or several."""
    found = mentioned_services(text, services)
    return found[0] if len(found) == 1 else None


def contains_phrase(text: str, phrase: str) -> bool:
    return " " + " ".join(words(phrase)) + " " in " " + " ".join(words(text)) + " "
