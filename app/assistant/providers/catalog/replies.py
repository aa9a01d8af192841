"""What the offline assistant says, in English and Arabic. Prices read with the currency in the
reader's language ("950.00 SAR", "950.00 ريال"); service names are the catalog's in that language.

Two sentences are also read back from the history: the offer that ends a single-service answer
and the question that asks which service to order, so a following "yes" or "payroll" completes
the order the assistant asked about (and nothing else).
"""

from __future__ import annotations

from catalog.snapshot import ServiceEntry

OFFER = {"en": "Shall I place an order for {name}?", "ar": "هل تريد أن أطلب لك {name}؟"}
WHICH = {
    "en": "Which service would you like to order? We offer:",
    "ar": "أي خدمة تريد أن تطلب؟ نقدم:",
}
WHICH_OF = {
    "en": "Which of these would you like to order?",
    "ar": "أي هذه الخدمات تريد أن تطلب؟",
}
_TEXTS = {
    "empty": {
        "en": "{company} has no services available to order right now. Please check back later.",
        "ar": "لا توجد لدى {company} خدمات متاحة للطلب حالياً. يرجى المحاولة لاحقاً.",
    },
    "list": {
        "en": "Here are the services {company} offers:\n{lines}\n"
        'Ask about any of them, or say "order <service>".',
        "ar": "هذه الخدمات التي تقدمها {company}:\n{lines}\n"
        "اسألني عن أي خدمة، أو اكتب «اطلب» ثم اسم الخدمة.",
    },
    "describe_one": {
        "en": "{name} costs {price}. {description}\n{offer}",
        "ar": "سعر {name} هو {price}. {description}\n{offer}",
    },
    "describe_many": {
        "en": "Here are the prices you asked about:\n{lines}\nTell me which one you would like "
        "to order.",
        "ar": "هذه أسعار الخدمات التي سألت عنها:\n{lines}\nأخبرني أيها تريد أن تطلب.",
    },
    "compare": {
        "en": "By price, from the lowest:\n{lines}",
        "ar": "حسب السعر، من الأقل:\n{lines}",
    },
    "differ": {
        "en": "Here is what each one is:\n{lines}",
        "ar": "هذا ما تقدمه كل خدمة:\n{lines}",
    },
    "topic": {
        "en": "These of our services cover that:\n{lines}\nAsk me about any of them, or tell me "
        "which one you would like to order.",
        "ar": "هذه خدماتنا في هذا المجال:\n{lines}\nاسألني عن أي منها، أو أخبرني أيها تريد أن "
        "تطلب.",
    },
    "compare_ends": {
        "en": "\nThe cheapest is {low} ({low_price}); the most expensive is {high} ({high_price}).",
        "ar": "\nالأرخص هو {low} ({low_price})، والأغلى هو {high} ({high_price}).",
    },
    "declined": {
        "en": "No problem, I haven't ordered anything. Anything else I can help you with?",
        "ar": "لا مشكلة، لم أطلب لك شيئاً. هل هناك شيء آخر أستطيع مساعدتك به؟",
    },
    "cancel_help": {
        "en": 'You can cancel an order while it is still pending: say "cancel my order" (or '
        '"cancel order #<number>"). "Where is my order?" shows your orders and their status.',
        "ar": "يمكنك إلغاء الطلب ما دام قيد الانتظار: اكتب «ألغِ طلبي» (أو «ألغِ الطلب رقم» ثم "
        "رقمه). واسأل «أين طلبي؟» لترى طلباتك وحالتها.",
    },
    "greeting": {
        "en": "Hello! I'm the {company} assistant. I can tell you about our services and place "
        'orders. Ask "what services do you offer?" to start.',
        "ar": "أهلاً وسهلاً! أنا مساعد {company}. أستطيع أن أعرّفك بخدماتنا وأن أطلبها لك. "
        "اسأل «ما هي الخدمات المتوفرة؟» للبدء.",
    },
    "thanks": {
        "en": "You're welcome! Anything else I can help you with?",
        "ar": "العفو! هل هناك شيء آخر أستطيع مساعدتك به؟",
    },
    "redirect": {
        "en": "I'm sorry, I can only help with our services and orders. We offer:\n{lines}",
        "ar": "عذراً، أستطيع المساعدة فقط في خدماتنا وطلباتها. نقدم:\n{lines}",
    },
}


def say(key: str, language: str, **values: str) -> str:
    return _TEXTS[key][language].format(**values)


def catalog_lines(services: tuple[ServiceEntry, ...] | list[ServiceEntry], language: str) -> str:
    if language == "ar":
        return "\n".join(f"- {s.name_in('ar')}: {s.price_in('ar')}" for s in services)
    return "\n".join(f"- {s.name} ({s.category}): {s.price_label}" if s.category
                     else f"- {s.name}: {s.price_label}" for s in services)  # fmt: skip


def describe_lines(services: list[ServiceEntry], language: str) -> str:
    return "\n".join(
        f"- {s.name_in(language)}: {s.price_in(language)}. {s.description_in(language)}".rstrip()
        for s in services
    )


def price_lines(services: list[ServiceEntry], language: str) -> str:
    return "\n".join(f"- {s.name_in(language)}: {s.price_in(language)}" for s in services)


def offered_name(text: str) -> str | None:
    """The service name an earlier reply offered to order, if it ended with the offer."""
    for template in OFFER.values():
        prefix, _, suffix = template.partition("{name}")
        last_line = text.rstrip().rsplit("\n", 1)[-1]
        if last_line.startswith(prefix) and last_line.endswith(suffix):
            return last_line[len(prefix) : len(last_line) - len(suffix)]
    return None


def asked_which(text: str) -> bool:
    """Whether an earlier reply asked the customer which service to order."""
    return any(text.startswith(q) for q in (*WHICH.values(), *WHICH_OF.values())) or any(
        q in text for q in WHICH_OF.values()
    )
