"""The customer's "yes" to an order the assistant proposed, read by the server itself.

The second step of an order is decided here, not by a provider: a language model may say or call
whatever it likes, but an order is placed only when the turn right after the proposal is a plain
confirmation ("yes", "نعم", "confirm", "go ahead") and nothing else. A question ("yes?"), a
hedge or a negation ("yes but not now", "لا"), or any other content is not one, and discards the
proposal.
"""

from __future__ import annotations

from assistant.language import words

_YES = {
    "yes", "yeah", "yep", "yup", "sure", "ok", "okay", "confirm", "confirmed", "agreed", "correct",
    "نعم", "ايوه", "ايوا", "اكيد", "تمام", "طيب", "اوكي", "اجل", "بالتاكيد", "موافق", "اوافق",
    "اكد", "اكده", "اكدها", "موكد", "اعتمد", "صح",
}  # fmt: skip
_FILLERS = {
    "please", "do", "it", "go", "ahead", "place", "the", "order", "that", "this", "is", "of",
    "course", "great", "perfect", "fine", "alright", "then", "let's", "lets", "thank", "you",
    "thanks", "i", "we", "proceed", "absolutely", "definitely", "right",
    "لو", "سمحت", "من", "فضلك", "الله", "يعطيك", "العافيه", "اطلبه", "اطلبها", "اطلب", "الطلب",
    "شكرا", "يا", "ريت", "ياليت", "وكمل", "كمل", "توكل", "علي",
}  # fmt: skip


# "ok, thanks" closes a conversation more often than it agrees to pay: a thank-you counts as part
# of a yes only beside an unambiguous one ("yes, thank you", "نعم شكرا").
_WEAK_YES = {"ok", "okay", "sure", "fine", "alright", "طيب", "تمام", "اوكي"}
_THANKS = {"thank", "thanks", "you", "شكرا", "يعطيك", "العافيه", "الله"}


def is_confirmation(message: str) -> bool:
    """Whether `message` is a plain yes: only confirmation words (at least one) and fillers,
    no question mark. Everything else is not a confirmation, so it can never place an order."""
    if "?" in message or "؟" in message:
        return False
    tokens = set(words(message))
    if not (tokens & _YES) or not tokens <= _YES | _FILLERS:
        return False
    return not (tokens & _THANKS) or bool(tokens & (_YES - _WEAK_YES))
