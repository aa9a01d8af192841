"""Which services a message names, in English or Arabic, tolerating what customers type.

A service is named when every significant word of one of its names appears (typos, plurals,
the Arabic article "ال" and attached prepositions tolerated), or when the message contains a word
that belongs to that service's names alone ("vat" names "VAT Filing"; "filing" names nothing,
two services share it). Everyday words ("company", "شركة", "price") never name a service alone.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

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


@lru_cache(maxsize=65536)
def _close(word: str, target: str) -> bool:
    """A typo away: one edit (insert, delete, substitute, swap) for words of up to 6 letters,
    two for longer ones. Typos rarely hit the first letter, so it must agree ("information"
    is not "formation")."""
    if word[:1] != target[:1] or abs(len(word) - len(target)) > 2:
        return False
    limit = 1 if len(target) < 7 else 2
    return _edit_distance(word, target, limit) <= limit


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance, giving up (limit + 1) once every path exceeds it."""
    before, previous = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            current[j] = min(
                previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return previous[-1]


def _name_words(name: str) -> tuple[str, ...]:
    all_words = tuple(_canonical(w) for w in words(name))
    significant = tuple(w for w in all_words if w not in _STOPWORDS)
    return significant or all_words


@dataclass(frozen=True, slots=True)
class _Name:
    service: ServiceEntry
    words: tuple[str, ...]
    phrase: str | None  # for names that are only a number after the stopwords: the whole name


@lru_cache(maxsize=64)
def _index(services: tuple[ServiceEntry, ...]) -> tuple[tuple[_Name, ...], dict[str, int]]:
    """Each service's names as words, and how many services each word belongs to (built once
    per catalog snapshot, not once per message)."""
    names, owners = [], defaultdict(set)
    for service in services:
        for name in service.names():
            name_words = _name_words(name)
            numeric = all(w.isdigit() for w in name_words)
            phrase = " " + " ".join(words(name)) + " " if numeric else None
            names.append(_Name(service, name_words, phrase))
            for word in name_words:
                owners[word].add(service.id)
    return tuple(names), {word: len(ids) for word, ids in owners.items()}


def mentioned_services(
    text: str, services: tuple[ServiceEntry, ...], *, strict: bool = False
) -> list[ServiceEntry]:
    """The services `text` names, in the order it names them.

    `strict` accepts full names only: used on the assistant's own replies, whose descriptions
    may contain a word of another service's name.
    """
    message_words = words(text)
    first_seen: dict[str, int] = {}  # each form of a message word -> where it first occurs
    for position, word in enumerate(message_words):
        for form in variants(word):
            first_seen.setdefault(form, position)
    joined = " " + " ".join(message_words) + " "
    names, owners = _index(services)

    def find(word: str) -> int:
        if word in first_seen:
            return first_seen[word]
        if strict or len(word) < 4 or word.isdigit():
            return -1  # the assistant writes names exactly; short words and numbers must match
        return min((p for form, p in first_seen.items() if _close(form, word)), default=-1)

    best: dict[int, tuple[int, int]] = {}  # service id -> (position, -words matched)
    for name in names:
        if name.phrase is not None:
            # "Service 2": a bare number is too common; the whole name must be written.
            if name.phrase not in joined:
                continue
            candidate = (joined.index(name.phrase), -len(name.words))
        else:
            hits = {}
            for word in name.words:
                position = find(word)
                if position >= 0:
                    hits[word] = position
            if len(hits) == len(name.words):
                candidate = (min(hits.values()), -len(name.words))
            elif strict:
                continue
            else:
                distinctive = [
                    position
                    for word, position in hits.items()
                    if owners[word] == 1 and word not in _EVERYDAY and not word.isdigit()
                ]
                if not distinctive:
                    continue
                candidate = (min(distinctive), 0)
        sid = name.service.id
        if sid not in best or candidate < best[sid]:
            best[sid] = candidate
    by_id = {s.id: s for s in services}
    return [by_id[sid] for sid, _ in sorted(best.items(), key=lambda item: item[1])]


def match_service(text: str, services: tuple[ServiceEntry, ...]) -> ServiceEntry | None:
    """The single service `text` names, or None if it names none or several."""
    found = mentioned_services(text, services)
    return found[0] if len(found) == 1 else None


def contains_phrase(text: str, phrase: str) -> bool:
    return " " + " ".join(words(phrase)) + " " in " " + " ".join(words(text)) + " "
