"""Which services a message is *about* when it names none: "I need help with my taxes" is about
the services whose category or description speaks of tax (VAT Filing, Zakat Filing).

Only used when nothing else answered (no service named, no list, greeting or thanks), in place of
the polite redirect, so it can only turn a "sorry, I can't help" into a useful answer. Words are
compared whole after light stemming (plural "s"/"es", the Arabic article), never fuzzily: a
description's every word is a weaker signal than a service's name.
"""

from __future__ import annotations

from functools import lru_cache

from assistant.language import words
from assistant.providers.catalog.matching import variants
from catalog.snapshot import ServiceEntry

# Words too common to say what a message is about.
_COMMON = {
    "the", "and", "with", "for", "from", "into", "your", "you", "our", "that", "this", "these",
    "those", "what", "which", "need", "needs", "help", "want", "have", "about", "some", "any",
    "each", "every", "including", "month", "monthly", "annual", "year", "yearly", "company",
    "business", "service", "services", "please", "would", "like", "could", "there", "their",
    "them", "they", "will", "also", "more", "other", "file", "files", "filed", "management",
    "في", "من", "الي", "علي", "عن", "مع", "هذا", "هذه", "اريد", "احتاج", "مساعده", "خدمه",
    "خدمات", "شركه", "شهري", "سنوي", "كل",
}  # fmt: skip
# Arabic topics to the catalog's (often English-only) categories, and broken plurals (keys
# in the normalised spelling of assistant/language.py: ئ is ي, ة is ه).
_SYNONYMS = {
    "ضرايب": {"tax", "ضريبه"}, "ضريبه": {"tax"}, "ضريبي": {"tax"}, "ضريبيه": {"tax"},
    "محاسبه": {"accounting"}, "حسابات": {"accounting"}, "قانوني": {"legal"},
    "قانونيه": {"legal"}, "تدقيق": {"assurance", "audit"}, "مراجعه": {"assurance", "audit"},
    "موظفين": {"hr", "موظف"}, "رواتب": {"hr", "payroll"}, "taxes": {"tax"},
}  # fmt: skip


def _forms(word: str) -> set[str]:
    forms = variants(word)
    if word.isascii() and len(word) > 4 and word.endswith("es"):
        forms.add(word[:-2])
    for form in list(forms):
        forms |= _SYNONYMS.get(form, set())
    return forms


def _significant(text: str) -> set[str]:
    found: set[str] = set()
    for word in words(text):
        if len(word) >= 3 and word not in _COMMON and not word.isdigit():
            found |= {f for f in _forms(word) if f not in _COMMON and len(f) >= 2}
    return found


@lru_cache(maxsize=64)
def _topics(services: tuple[ServiceEntry, ...]) -> tuple[tuple[ServiceEntry, frozenset], ...]:
    """Each service's topic words: its category and descriptions, in both languages."""
    return tuple(
        (
            service,
            frozenset(
                _significant(service.category)
                | _significant(service.description_in("en"))
                | _significant(service.description_in("ar"))
            ),
        )
        for service in services
    )


def topic_services(text: str, services: tuple[ServiceEntry, ...]) -> list[ServiceEntry]:
    """The services whose category or description shares a significant word with `text`."""
    wanted = _significant(text)
    if not wanted:
        return []
    return [service for service, topics in _topics(services) if topics & wanted]
