"""The cues that tell what a customer wants, in English and Arabic (normalised forms: see
assistant/language.py). `read_cues` reports every cue of one message, independent of the
catalog; the provider (catalog/__init__.py) decides between them in a fixed order of precedence,
with the cues that protect the customer's money (cancel, status, negation, price questions)
checked before any order.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from assistant.language import normalize, words
from assistant.providers.catalog.matching import variants


def _forms(tokens: list[str]) -> set[str]:
    return set().union(*(variants(w) for w in tokens)) if tokens else set()


def _pattern(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w'])(?:" + "|".join(alternatives) + r")(?![\w'])")


_EN_CANCEL = _pattern(r"cancel(?:l?ed|l?ing|lation)?", r"call off", r"call it off")
_AR_CANCEL = {
    "الغ", "الغي", "الغاء", "الغيه", "الغيها", "الغوا", "الغيت", "نلغي", "تلغي", "يلغي",
    "كنسل", "كنسلي", "كنسله", "كنسلوا",
}  # fmt: skip

# "Can I cancel later?" asks about cancelling; only a request cancels ("cancel my order").
_EN_CANCEL_QUESTION = re.compile(
    r"^\s*(?:can|could|may) (?:i|we)\b|^\s*what if\b|\bis it possible\b"
    r"|^\s*how (?:do|can) (?:i|we)\b|\bpolicy\b|\bafter (?:i|we) order\b"
)
_AR_CANCEL_HOW = {"كيف", "لو", "اذا"}  # first word: how, if
_AR_CANCEL_MAY = {"يمكنني", "اقدر", "استطيع", "نقدر", "يمكننا", "يمكن", "نستطيع"}  # after هل
_AR_CANCEL_POLICY = {"سياسه", "شروط"}
_EN_STATUS = _pattern(
    r"status", r"track", r"tracking", r"(?:my|our) orders?", r"order (?:#|no\.?|number) ?\d+",
    r"where(?:'s| is| are)? (?:is |are )?(?:my|our|the) orders?", r"what happened to",
    r"order history", r"(?:list|show)(?: me)? (?:my |our |the )?orders",
    r"where(?! (?:can|do|should|could|would) (?:i|we)\b)\b.*\border",
    r"(?:i|we) (?:placed|made|submitted|sent) (?:an|the|my|our) order",
    r"(?:i|we) ordered",
)  # fmt: skip
_AR_STATUS_WORDS = {"طلبي", "طلباتي", "طلبيتي", "طلبيه"}
_AR_STATUS_QUESTION = {"حاله", "وضع", "تتبع", "وين", "اين", "فين", "متي", "وصل", "اخبار"}

_EN_ORDER_STRONG = _pattern(
    r"order", r"buy", r"book", r"purchase", r"subscribe", r"sign me up", r"get me",
    r"place (?:an|the|my) order", r"i'?ll take", r"go ahead",
)  # fmt: skip
_EN_ORDER_WEAK = _pattern(r"i want", r"i'd like", r"i would like", r"i need", r"we need")
_EN_INQUIRY = _pattern(
    r"know", r"ask", r"see", r"understand", r"learn", r"find", r"check", r"more", r"info",
    r"information", r"details?", r"about", r"how much", r"price", r"cost",
)  # fmt: skip
_AR_ORDER_STRONG = {
    "اطلب", "اطلبه", "اطلبها", "اطلبلي", "نطلب", "ابي اطلب", "اشتري", "اشتريه", "اشترك",
    "احجز", "احجزه", "احجزها", "احجزلي", "سجلني",
}  # fmt: skip
_AR_ORDER_WEAK = {"اريد", "اريده", "اريدها", "ابغي", "ابغا", "ابغاه", "ابغاها", "ابي", "ودي",
                  "بدي", "عايز", "حاب", "نريد", "نبغي", "نحتاج", "احتاج"}  # fmt: skip
_AR_INQUIRY = {"اعرف", "نعرف", "اسال", "استفسر", "افهم", "معلومات", "تفاصيل", "عن", "كم",
               "سعر", "بكم", "تكلفه"}  # fmt: skip
# "How do I order payroll?" asks about ordering; the answer offers the order, it does not place it.
_EN_HOW_TO = re.compile(r"^\s*(?:how|where) (?:do|can|could|would|should|to) ")
_AR_HOW_TO = {"كيف", "شلون", "ازاي"}
# "I don't want to order it", "maybe next month": never an order. A bare "no" is not here, so
# "no, order VAT filing instead" still orders what it names.
_EN_NOT_NOW = _pattern(
    r"don'?t", r"do not", r"not", r"never", r"won'?t", r"will not", r"no need", r"nothing",
    r"maybe", r"perhaps", r"later", r"next (?:week|month|year)", r"think about", r"not sure",
)  # fmt: skip
_AR_NOT_NOW = {"لا", "لن", "مش", "مو", "ليس", "بدون", "مابي", "مابغي", "ماابغي", "ماابي",
               "مااريد", "ماودي", "ربما", "لاحقا", "بعدين", "سافكر", "افكر", "مستقبلا"}  # fmt: skip
_AR_NEGATED_AFTER_MA = {"تطلب", "تطلبه", "تطلبها", "ابغي", "ابغا", "ابي", "اريد", "اريده",
                        "اريدها", "ودي", "احتاج", "اطلب", "ابغاه", "ابغاها"}  # fmt: skip
_EN_PRICE = _pattern(r"how much", r"price", r"prices", r"cost", r"costs", r"fee", r"fees")
_AR_PRICE = {"كم", "بكم", "سعر", "اسعار", "تكلفه", "رسوم"}
_EN_REFERENCE = _pattern(r"it", r"that", r"this", r"that one", r"this one", r"same")
_AR_REFERENCE = {"هذا", "هذه", "هذي", "ذلك", "تلك", "هاذا", "هذاك", "اياه", "اياها", "ياه",
                 "اطلبه", "اطلبها", "احجزه", "احجزها", "اشتريه", "اريده", "اريدها", "ابغاه",
                 "ابغاها", "نفس"}  # fmt: skip
# A bare "yes" accepts the order just offered: the message must be made of these words only
# (so "order history please" or "ok, what else?" is not a yes), with at least one of _YES.
_YES = {
    "yes", "yeah", "yep", "sure", "ok", "okay", "please", "نعم", "ايوه", "ايوا", "اكيد", "تمام",
    "طيب", "اوكي", "يب", "اجل", "بالتاكيد", "موافق", "ياليت",
}  # fmt: skip
_YES_FILLERS = {
    "do", "it", "go", "ahead", "why", "not", "of", "course", "great", "perfect", "fine",
    "alright", "then", "let's", "lets", "thank", "you", "لو", "سمحت", "من", "فضلك", "الله",
    "يعطيك", "العافيه", "اطلبه", "اطلبها", "اطلب",
}  # fmt: skip

_NO = {"no", "nope", "nah", "لا", "كلا"}
_NO_FILLERS = {"thanks", "thank", "you", "not", "now", "شكرا", "مو", "الحين", "الان"}

_EN_COMPARE = _pattern(
    r"compare", r"comparison", r"cheaper", r"cheapest", r"more expensive", r"most expensive",
    r"difference", r"vs\.?", r"versus", r"which is better",
)  # fmt: skip
_AR_COMPARE = {"ارخص", "اغلي", "قارن", "مقارنه", "فرق", "افضل", "احسن", "اقل"}

_EN_LIST = _pattern(
    r"services?", r"offer", r"offers", r"offering", r"catalog(?:ue)?", r"menu", r"list",
    r"options", r"what can you", r"what do you (?:do|have|sell)", r"prices?",
)  # fmt: skip
_AR_LIST = {"خدمات", "خدماتكم", "خدمتكم", "تقدمون", "تقدموا", "تقدم", "عندكم", "متوفره",
            "متاحه", "قائمه", "اسعار", "اسعاركم", "تبيعون", "منتجات", "وش", "ايش"}  # fmt: skip

_EN_GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|salam|salaam|marhaba|good (?:morning|afternoon|evening))(?![\w'])"
)
_AR_GREETING = {"مرحبا", "مرحبه", "اهلا", "هلا", "السلام", "سلام", "صباح", "مساء", "هاي",
                "حياك", "هلو"}  # fmt: skip
_EN_THANKS = _pattern(r"thanks", r"thank you", r"thx", r"bye", r"goodbye", r"shukran")
_AR_THANKS = {"شكرا", "مشكور", "مشكورين", "يعطيك", "جزاك", "تسلم", "باي", "وداعا",
              "الله يعافيك", "مع السلامه"}  # fmt: skip

# A question about a service is never an order ("do I need an audit?", "what do I need for
# company formation?", "هل أحتاج إلى مسك دفاتر؟"): the answer describes, it does not order. A
# polite request phrased as a question ("could you order payroll for me?") still asks to order.
_EN_ASKS = re.compile(
    r"^\s*(?:do|does|did|is|are|am|was|were|can|could|should|would|will|shall|may|must|what|"
    r"what's|whats|which|who|how|why|when|where|is there|are there|have|has)(?![\w'])"
)
_EN_POLITE = re.compile(
    r"^\s*(?:can|could|would|will) you (?:please |kindly )?(?:order|book|buy|get|place|sign)\b"
)
_AR_ASKS = {"هل", "ماذا", "ما", "ماهي", "ماهو", "كيف", "لماذا", "ليش", "متي", "اين", "وين",
            "وش", "ايش", "شو", "كم", "بكم", "ليه", "شلون", "ازاي", "ايه"}  # fmt: skip
_AR_POLITE = {"ممكن", "ياليت", "لو"}  # "ممكن تطلب لي الرواتب" asks for an order
# "order payroll for 10 employees": how many units of a per-unit price.
_UNITS_EN = (
    r"employees?|staff|people|persons?|workers?|users?|months?|units?|items?|copies|branch(?:es)?"
    r"|companies|company|accounts?|hours?|times|seats?|licen[cs]es?|entities|years?|quarters?"
)
_UNITS_AR = (
    r"موظف\w*|عامل|عمال|شخص|اشخاص|افراد|فرد|اشهر|شهور|شهر|وحده|وحدات|فرع|فروع|مرات|ساعه|ساعات"
    r"|سنه|سنوات|شركه|شركات|حساب|حسابات"
)
_QUANTITY = re.compile(
    rf"(?<![\w#])(\d{{1,5}})\s*(?:x\s*)?(?:{_UNITS_EN}|{_UNITS_AR})(?!\w)"
    r"|(?<![\w#])(?:x|×)\s*(\d{1,5})(?!\w)|(?<![\w#])(\d{1,5})\s*(?:x|×)(?!\w)"
)
_EN_DIFFER = _pattern(
    r"difference", r"differences", r"differ", r"different", r"vs\.?", r"versus", r"compare",
    r"comparison",
)  # fmt: skip
_AR_DIFFER = {"فرق", "فروق", "الفرق", "مقارنه", "قارن", "يختلف", "تختلف", "اختلاف"}

_ORDER_NUMBER = re.compile(r"(?:#|\b(?:no\.?|number|order|رقم|طلب|الطلب)\s*#?)\s*(\d{1,12})\b")


@dataclass(frozen=True, slots=True)
class Cues:
    """What one message says, independent of the catalog."""

    cancel: bool
    cancel_question: bool  # asks whether or how one may cancel
    status: bool
    order_strong: bool
    order_weak: bool
    reference: bool
    affirm: bool
    compare: bool
    list: bool
    greeting: bool
    thanks: bool
    question: bool  # has a question mark (Latin or Arabic): never a bare "yes"
    asks_price: bool  # "how much to order payroll?" asks; it does not order
    not_now: bool  # a negation or a hedge: "don't order it", "maybe later", "لا أريده"
    order_number: int | None
    asks: bool = False  # phrased as a question (not a polite request): never an order
    quantity: int | None = None  # "for 10 employees", "١٠ موظفين", "x3"
    differ: bool = False  # "what's the difference between A and B": describe both
    refuse: bool = False  # a bare "no" ("no thanks", "لا"): declines what was just proposed
    yes_with_quantity: bool = False  # "yes, for 10 employees", "نعم، لـ ١٠ موظفين"


def _ar_has(forms: set[str], text: str, vocabulary: set[str]) -> bool:
    return any((" " in v and f" {v} " in text) or v in forms for v in vocabulary)


def _ar_not_now(message_words: list[str]) -> bool:
    if set(message_words) & _AR_NOT_NOW:
        return True
    pairs = itertools.pairwise(message_words)
    return any(first == "ما" and second in _AR_NEGATED_AFTER_MA for first, second in pairs)


def _ar_cancel_question(message_words: list[str]) -> bool:
    first = message_words[:1]
    return (
        bool(set(first) & _AR_CANCEL_HOW)
        or (first == ["هل"] and bool(set(message_words[1:3]) & _AR_CANCEL_MAY))
        or bool(set(message_words) & _AR_CANCEL_POLICY)
    )


def read_cues(message: str) -> Cues:
    text = normalize(message)
    tokens = words(message)
    joined = " " + " ".join(tokens) + " "
    forms = _forms(tokens)
    inquiry = bool(_EN_INQUIRY.search(text)) or _ar_has(forms, joined, _AR_INQUIRY)
    order_strong = bool(_EN_ORDER_STRONG.search(text)) or _ar_has(forms, joined, _AR_ORDER_STRONG)
    number = _ORDER_NUMBER.search(text)
    ar_status = bool(forms & _AR_STATUS_WORDS) or (
        bool(forms & _AR_STATUS_QUESTION) and any(f.startswith("طلب") for f in forms)
    )
    en_status = bool(_EN_STATUS.search(text))
    # "place my order" is an order; "my order" alone asks about one.
    place_verb = re.search(r"\b(?:place|buy|book|purchase|subscribe)\b", text) or _ar_has(
        forms, joined, _AR_ORDER_STRONG
    )
    how_to = bool(_EN_HOW_TO.search(text)) or bool(set(tokens[:1]) & _AR_HOW_TO)
    message_words = set(tokens)
    quantity = _QUANTITY.search(text)
    polite = bool(_EN_POLITE.search(text)) or bool(set(tokens[:1]) & _AR_POLITE)
    asks = (
        "?" in message
        or "؟" in message
        or bool(_EN_ASKS.search(text))
        or bool(set(tokens[:1]) & _AR_ASKS)
    ) and not polite
    return Cues(
        cancel=bool(_EN_CANCEL.search(text)) or bool(forms & _AR_CANCEL),
        cancel_question=bool(_EN_CANCEL_QUESTION.search(text)) or _ar_cancel_question(tokens),
        status=(en_status or ar_status) and not place_verb,
        order_strong=order_strong and not how_to,
        order_weak=(bool(_EN_ORDER_WEAK.search(text)) or bool(forms & _AR_ORDER_WEAK))
        and not inquiry,
        reference=bool(_EN_REFERENCE.search(text)) or bool(forms & _AR_REFERENCE),
        affirm=bool(message_words & _YES) and message_words <= _YES | _YES_FILLERS,
        compare=bool(_EN_COMPARE.search(text)) or bool(forms & _AR_COMPARE),
        list=bool(_EN_LIST.search(text)) or bool(forms & _AR_LIST),
        greeting=bool(_EN_GREETING.search(text)) or bool(set(tokens[:2]) & _AR_GREETING),
        thanks=bool(_EN_THANKS.search(text)) or _ar_has(forms, joined, _AR_THANKS),
        question="?" in message or "؟" in message,
        asks_price=bool(_EN_PRICE.search(text)) or bool(forms & _AR_PRICE),
        not_now=bool(_EN_NOT_NOW.search(text)) or _ar_not_now(tokens),
        order_number=int(number.group(1)) if number else None,
        asks=asks,
        quantity=int(next(g for g in quantity.groups() if g)) if quantity else None,
        differ=bool(_EN_DIFFER.search(text)) or bool(forms & _AR_DIFFER),
        refuse=bool(message_words & _NO) and message_words <= _NO | _NO_FILLERS,
        yes_with_quantity=bool(quantity)
        and bool(message_words & _YES)
        and not (message_words & _NO),
    )
