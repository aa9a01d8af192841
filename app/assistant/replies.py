"""What the service layer itself says, in the customer's language: the outcome of the intents
it carries out (place an order, report orders, cancel one) and the apology when the provider
fails. Providers phrase everything else.
"""

from __future__ import annotations

from catalog.snapshot import price_in

APOLOGY = {
    "en": "I'm sorry, I can't answer right now because our assistant is temporarily "
    "unavailable. Please try again in a moment.",
    "ar": "عذراً، لا أستطيع الرد الآن لأن المساعد غير متاح مؤقتاً. يرجى المحاولة بعد قليل.",
}
STATUS_LABELS = {
    "en": {"placed": "pending confirmation", "confirmed": "confirmed", "cancelled": "cancelled"},
    "ar": {"placed": "قيد الانتظار", "confirmed": "مؤكد", "cancelled": "ملغى"},
}
_TEXTS = {
    "order_placed": {
        "en": "Your order #{id} for {name} × {quantity} ({price}) has been placed. Our team will "
        "contact you to confirm the details.",
        "ar": "تم تسجيل طلبك رقم {id} لخدمة {name} × {quantity} ({price}). سيتواصل معك فريقنا "
        "لتأكيد التفاصيل.",
    },
    # The first step of every order: exactly what will be ordered, then the question. Nothing is
    # ordered until the customer's next message confirms it (assistant/confirmation.py).
    "order_proposal": {
        "en": "Please confirm your order: {name} × {quantity} ({unit} each), total {total}. "
        'Reply "yes" to place it, or tell me what to change.',
        "ar": "يرجى تأكيد طلبك: {name} × {quantity} ({unit} للوحدة)، الإجمالي {total}. "
        "اكتب «نعم» لتسجيله، أو أخبرني بما تريد تغييره.",
    },
    "nothing_to_confirm": {
        "en": "There is no order waiting for your confirmation.",
        "ar": "لا يوجد طلب بانتظار تأكيدك.",
    },
    "price_changed": {
        "en": "The price of {name} has changed since I proposed it, so nothing was ordered.",
        "ar": "تغيّر سعر {name} منذ أن عرضته عليك، لذلك لم يُسجَّل أي طلب.",
    },
    "order_refused": {
        "en": "Sorry, {name} cannot be ordered right now.",
        "ar": "عذراً، لا يمكن طلب {name} حالياً.",
    },
    "unknown_service": {"en": "That service", "ar": "هذه الخدمة"},
    "no_orders": {
        "en": "You have no orders in this conversation yet.",
        "ar": "لا توجد طلبات في هذه المحادثة بعد.",
    },
    "orders": {"en": "Your orders:\n{lines}", "ar": "طلباتك:\n{lines}"},
    "order_line": {
        "en": "- Order #{id}: {name} × {quantity} ({price}), {status}, placed {date}.",
        "ar": "- الطلب رقم {id}: {name} × {quantity} ({price})، {status}، بتاريخ {date}.",
    },
    "order_not_found": {
        "en": "I can't find order #{id} in this conversation.",
        "ar": "لم أجد الطلب رقم {id} في هذه المحادثة.",
    },
    "cancelled": {
        "en": "Your order #{id} for {name} has been cancelled.",
        "ar": "تم إلغاء طلبك رقم {id} لخدمة {name}.",
    },
    "not_pending": {
        "en": "Order #{id} for {name} is {status}, so it can no longer be cancelled.",
        "ar": "الطلب رقم {id} لخدمة {name} حالته {status}، لذلك لا يمكن إلغاؤه.",
    },
    "nothing_pending": {
        "en": "You have no pending order to cancel in this conversation.",
        "ar": "لا يوجد لديك طلب قيد الانتظار يمكن إلغاؤه في هذه المحادثة.",
    },
    "which_service_to_cancel": {
        "en": "You have no pending order for {name} in this conversation.",
        "ar": "لا يوجد لديك طلب قيد الانتظار لخدمة {name} في هذه المحادثة.",
    },
    "which_to_cancel": {
        "en": 'You have several pending orders:\n{lines}\nWhich one should I cancel? Say "cancel '
        'order #<number>".',
        "ar": "لديك عدة طلبات قيد الانتظار:\n{lines}\nأي طلب تريد إلغاءه؟ اكتب «ألغِ الطلب رقم» ثم "
        "رقمه.",
    },
}


def say(key: str, language: str, **values: object) -> str:
    return _TEXTS[key][language].format(**values)


def price(amount: str, currency: str, language: str) -> str:
    return price_in(amount, currency, language)


def is_proposal(text: str) -> bool:
    """Whether an earlier reply was an order proposal (the offline provider reads the history:
    "10 employees" after one changes its quantity)."""
    return any(template.split("{", 1)[0] in text for template in _TEXTS["order_proposal"].values())
