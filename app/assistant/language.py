"""Which language a customer writes in, and text normalised so Arabic matches as tolerantly as
English: the assistant answers Arabic script in Arabic and anything else in English.

Normalisation folds what Arabic writers vary freely (hamza seats on alef, ta marbuta vs ha,
alef maqsura vs ya, diacritics, tatweel) and Arabic-Indic digits, so "أسعار" and "اسعار", "الزكاة"
and "الزكاه", "١٢" and "12" are the same words to the matcher.
"""

from __future__ import annotations

import re

LANGUAGES = ("en", "ar")
DEFAULT_LANGUAGE = "en"

_ARABIC_LETTER = re.compile(r"[\u0620-\u064a\u066e-\u06d3\u06fa-\u06ff]")
_ANY_LETTER = re.compile(r"[^\W\d_]")
_DIACRITICS = re.compile(r"[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")  # + tatweel
_FOLD = str.maketrans(
    {
        "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ؤ": "و", "ئ": "ي",
        "٠": "0", "١": "1", "٢": "2", "٣": "3", "٤": "4",
        "٥": "5", "٦": "6", "٧": "7", "٨": "8", "٩": "9",
        "۰": "0", "۱": "1", "۲": "2", "۳": "3", "۴": "4",
        "۵": "5", "۶": "6", "۷": "7", "۸": "8", "۹": "9",
        "’": "'",
    }
)  # fmt: skip
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)


# Words Arabic writers type in Latin letters too: alone they do not switch the conversation.
_NEUTRAL_WORDS = {"ok", "okay"}


def detect_language(text: str, *, fallback: str = DEFAULT_LANGUAGE) -> str:
    """Arabic for Arabic letters, English for other letters; `fallback` (the conversation's
    language) for a message of digits only ("12") or a bare "ok"."""
    if _ARABIC_LETTER.search(text):
        return "ar"
    if not _ANY_LETTER.search(text) or set(words(text)) <= _NEUTRAL_WORDS:
        return fallback
    return "en"


def normalize(text: str) -> str:
    """Case-folded text with Arabic spelling variants and digits unified."""
    return _DIACRITICS.sub("", text.casefold()).translate(_FOLD)


def words(text: str) -> list[str]:
    return _WORD.findall(normalize(text))


def negotiate_language(*, requested: str | None, accept_language: str) -> str:
    """The language a list should be shown in: an explicit `lang` parameter wins, else the
    best supported entry of Accept-Language (by q-value), else English.

    Raises ValueError for an explicit language the catalog does not have, so a client's typo
    is an error it sees rather than a silent English answer.
    """
    if requested is not None:
        code = requested.strip().lower().split("-")[0]
        if code not in LANGUAGES:
            raise ValueError(requested)
        return code
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        code = tag.strip().lower().split("-")[0]
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        q -= position * 1e-6  # equal weights: the first listed wins
        if code in LANGUAGES and q > best_q:
            best, best_q = code, q
    return best


def conversation_language(history: list[tuple[str, str]], message: str) -> str:
    """The message's language; a message without letters ("12") keeps the language of the
    customer's last message. `history` holds (role, content) pairs, oldest first."""
    for role, content in reversed(history):
        if role == "user":
            earlier = detect_language(content, fallback="")
            if earlier:
                return detect_language(message, fallback=earlier)
    return detect_language(message)
