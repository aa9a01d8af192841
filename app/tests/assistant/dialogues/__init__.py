"""The conversation suite's vocabulary: a dialogue is a list of steps, each a customer message
and what the assistant must make of it (the intent, the services, the order proposed, placed or
cancelled, facts the reply must contain, its language). The tables are in `basics.py` and
`orders.py`; `harness.py` runs a dialogue through the whole reply pipeline with either provider.

Placeholders in a message: {order} is the number of the dialogue's latest order, {order_ar} the
same in Arabic-Indic digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

LIST, DESCRIBE, COMPARE, CLARIFY = "list", "describe", "compare", "clarify"
GREETING, THANKS, REDIRECT, HOW_TO = "greeting", "thanks", "redirect", "how_to"
DECLINED = "declined"
ORDER, STATUS, CANCEL = "order", "order_status", "order_cancel"
CONFIRM = "order_confirm"  # decided by the server, whatever the provider: no model call
TOOL_INTENTS = {ORDER: "place_order", STATUS: "order_status", CANCEL: "cancel_order"}


@dataclass(frozen=True)
class Step:
    say: str
    intent: str
    services: tuple[str, ...] = ()  # English names, in the order the answer gives them
    ordered: str | None = None  # the service of the order this step places
    proposes: str | None = None  # the service this step proposes to order (nothing ordered)
    quantity: int = 1  # of the proposal (or the order) of this step
    cancels: bool = False  # this step cancels one pending order
    contains: tuple[str, ...] = ()
    order_number: int | None = None  # a number the customer gives that is not {order}
    language: str | None = None  # the reply's language when the message has no Arabic or
    # English of its own ("ok", "12": the conversation's)


@dataclass(frozen=True)
class Dialogue:
    name: str
    steps: tuple[Step, ...]
    language: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "language", "ar" if _arabic(self.steps[0].say) else "en")


def _arabic(text: str) -> bool:
    return bool(re.search(r"[\u0600-\u06ff]", text))


def D(name: str, *steps: Step) -> Dialogue:
    return Dialogue(name, steps)


S = Step


def order_steps(
    say: str, service: str, *, yes: str | None = None, quantity: int = 1, **facts
) -> tuple:
    """An order, as every order now goes: the customer asks (the assistant proposes: service,
    quantity, total), then confirms with a plain yes in the next turn (the order is placed).
    `contains` and `language` are about the placed order's reply."""
    language = facts.get("language") or ("ar" if _arabic(say) else "en")
    yes = yes or ("نعم" if language == "ar" else "yes")
    return (
        S(say, ORDER, proposes=service, quantity=quantity, language=facts.get("language")),
        S(yes, CONFIRM, ordered=service, quantity=quantity, **facts),
    )
