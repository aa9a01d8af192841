"""Issue 18: a question is never an order; an order is proposed (service, quantity, total) and
placed on the next turn's yes; quantities; cancel by name; topics; "the difference between"."""

from __future__ import annotations

from tests.assistant.dialogues import (
    CANCEL,
    COMPARE,
    CONFIRM,
    DECLINED,
    DESCRIBE,
    ORDER,
    THANKS,
    D,
    S,
    order_steps,
)  # fmt: skip

ISSUE_18 = [
    # -- issue 18: a question is never an order; an order is proposed, then confirmed ----------
    D("question-do-i-need", S("Do I need an audit?", DESCRIBE, ("Financial Audit",))),
    D("question-do-i-need-ar", S("هل أحتاج إلى مسك دفاتر؟", DESCRIBE, ("Bookkeeping",))),
    D(
        "question-what-do-i-need",
        S("What do I need to provide for company formation?", DESCRIBE, ("Company Formation",)),
    ),
    D(
        "question-what-do-i-need-ar",
        S("ماذا أحتاج لتأسيس الشركات؟", DESCRIBE, ("Company Formation",)),
    ),
    D(
        "quantity",
        *order_steps(
            "order payroll for 10 employees",
            "Payroll",
            quantity=10,
            contains=("Payroll × 10", "350.00 SAR"),
        ),
    ),
    D(
        "quantity-ar",
        *order_steps(
            "اطلب مسير الرواتب لـ ١٠ موظفين",
            "Payroll",
            quantity=10,
            contains=("مسير الرواتب × 10", "350.00 ريال"),
        ),
    ),
    D(
        "yes-with-a-quantity",
        S("tell me about payroll", DESCRIBE, ("Payroll",)),
        *order_steps("yes, for 10 employees", "Payroll", quantity=10, contains=("350.00 SAR",)),
    ),
    D(
        "yes-with-a-quantity-ar",
        S("كم سعر الرواتب؟", DESCRIBE, ("Payroll",)),
        *order_steps("نعم، لـ ١٠ موظفين", "Payroll", quantity=10, contains=("350.00 ريال",)),
    ),
    D(
        "quantity-changed-before-yes",
        S("order payroll", ORDER, proposes="Payroll", contains=("35.00 SAR each",)),
        S("make it 12 employees", ORDER, proposes="Payroll", quantity=12, contains=("420.00 SAR",)),
        S("yes", CONFIRM, ordered="Payroll", quantity=12, contains=("420.00 SAR",)),
    ),
    D(
        "quantity-changed-before-yes-ar",
        S("اطلب مسير الرواتب", ORDER, proposes="Payroll", contains=("35.00 ريال للوحدة",)),
        S("خليها ١٢ موظف", ORDER, proposes="Payroll", quantity=12, contains=("420.00 ريال",)),
        S("أكّد", CONFIRM, ordered="Payroll", quantity=12),
    ),
    D(
        "a-late-yes-confirms-nothing",
        S("order bookkeeping", ORDER, proposes="Bookkeeping"),
        S("what does it include?", DESCRIBE, ("Bookkeeping",)),
        S("yes", ORDER, proposes="Bookkeeping"),  # the offer of the answer, proposed again
    ),
    D(
        "a-late-yes-confirms-nothing-ar",
        S("اطلب مسك الدفاتر", ORDER, proposes="Bookkeeping"),
        S("ماذا يشمل هذا؟", DESCRIBE, ("Bookkeeping",)),
        S("نعم", ORDER, proposes="Bookkeeping"),
    ),
    D(
        "ok-thanks-is-not-a-yes",
        S("order payroll", ORDER, proposes="Payroll"),
        S("ok thanks", THANKS),
    ),
    D(
        "ok-thanks-is-not-a-yes-ar",
        S("اطلب مسير الرواتب", ORDER, proposes="Payroll"),
        S("طيب شكراً", THANKS),
    ),
    D("yes-thank-you-confirms", *order_steps("order payroll", "Payroll", yes="yes, thank you")),
    D("yes-thank-you-confirms-ar", *order_steps("اطلب مسير الرواتب", "Payroll", yes="نعم شكراً")),
    D(
        "no-to-a-proposal",
        S("order the financial audit", ORDER, proposes="Financial Audit"),
        S("no thanks", DECLINED, contains=("haven't ordered anything",)),
    ),
    D(
        "no-to-a-proposal-ar",
        S("اطلب التدقيق المالي", ORDER, proposes="Financial Audit"),
        S("لا شكراً", DECLINED, contains=("لم أطلب لك شيئاً",)),
    ),
    D(
        "cancel-by-service-name",
        *order_steps("order payroll", "Payroll"),
        *order_steps("order bookkeeping", "Bookkeeping"),
        S(
            "cancel the bookkeeping order",
            CANCEL,
            ("Bookkeeping",),
            cancels=True,
            contains=("Bookkeeping has been cancelled",),
        ),
    ),
    D(
        "cancel-by-service-name-ar",
        *order_steps("اطلب مسير الرواتب", "Payroll"),
        *order_steps("اطلب مسك الدفاتر", "Bookkeeping"),
        S(
            "ألغِ طلب مسك الدفاتر",
            CANCEL,
            ("Bookkeeping",),
            cancels=True,
            contains=("تم إلغاء طلبك",),
        ),
    ),
    D(
        "topic-taxes",
        S(
            "I need help with my taxes",
            DESCRIBE,
            ("VAT Filing", "Zakat Filing"),
            contains=("450.00 SAR", "1800.00 SAR"),
        ),
    ),
    D(
        "topic-taxes-ar",
        S(
            "أحتاج مساعدة في الضرائب",
            DESCRIBE,
            ("VAT Filing", "Zakat Filing"),
            contains=("450.00 ريال", "1800.00 ريال"),
        ),
    ),
    D(
        "difference",
        S(
            "What's the difference between bookkeeping and a financial audit?",
            COMPARE,
            ("Bookkeeping", "Financial Audit"),
            contains=("ledger", "licensed auditor"),
        ),
    ),
    D(
        "difference-ar",
        S(
            "ما الفرق بين مسك الدفاتر والتدقيق المالي؟",
            COMPARE,
            ("Bookkeeping", "Financial Audit"),
            contains=("دفتر الأستاذ", "مراجع حسابات مرخص"),
        ),
    ),
]
