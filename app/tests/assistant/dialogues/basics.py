"""Listing, describing, comparing, ordering only what the customer chose, status and cancel,
small talk: the dialogues from before issue 18, each order now in its two steps."""

from __future__ import annotations

from tests.assistant.dialogues import (
    CANCEL,
    CLARIFY,
    COMPARE,
    DECLINED,
    DESCRIBE,
    GREETING,
    HOW_TO,
    LIST,
    REDIRECT,
    STATUS,
    THANKS,
    D,
    S,
    order_steps,
)  # fmt: skip

BASICS = [
    # -- listing, describing, comparing ------------------------------------------------------
    D("list", S("What services do you offer?", LIST, contains=("Payroll", "35.00 SAR"))),
    D("list-ar", S("ما هي الخدمات المتوفرة؟", LIST, contains=("مسير الرواتب", "35.00 ريال"))),
    D("list-after-greeting", S("hi, what do you offer?", LIST, contains=("VAT Filing",))),
    D("list-colloquial-ar", S("وش عندكم من خدمات؟", LIST, contains=("إقرار الزكاة",))),
    D("describe", S("How much is payroll?", DESCRIBE, ("Payroll",), contains=("35.00 SAR",))),
    D("describe-ar", S("كم سعر الرواتب؟", DESCRIBE, ("Payroll",), contains=("35.00 ريال",))),
    D(
        "describe-two",
        S(
            "How much do you charge for bookkeeping and VAT?",
            DESCRIBE,
            ("Bookkeeping", "VAT Filing"),
            contains=("950.00 SAR", "450.00 SAR"),
        ),
    ),
    D(
        "describe-two-ar",
        S(
            "كم تكلفة مسك الدفاتر وضريبة القيمة المضافة؟",
            DESCRIBE,
            ("Bookkeeping", "VAT Filing"),
            contains=("950.00 ريال", "450.00 ريال"),
        ),
    ),
    D("describe-typo", S("how much is bookeeping?", DESCRIBE, ("Bookkeeping",))),
    D("describe-variant-ar", S("كم سعر الزكاه", DESCRIBE, ("Zakat Filing",))),
    D(
        "describe-english-name",
        S("tell me about the financial audit", DESCRIBE, ("Financial Audit",)),
    ),
    D(
        "describe-english-name-in-ar",
        S("كم سعر VAT؟", DESCRIBE, ("VAT Filing",), contains=("450.00 ريال",)),
    ),
    D(
        "compare",
        S(
            "Which is cheaper, VAT filing or zakat filing?",
            COMPARE,
            ("VAT Filing", "Zakat Filing"),
            contains=("The cheapest is VAT Filing",),
        ),
    ),
    D(
        "compare-ar",
        S(
            "أيهما أرخص، الزكاة أم ضريبة القيمة المضافة؟",
            COMPARE,
            ("VAT Filing", "Zakat Filing"),
            contains=("الأرخص هو إقرار ضريبة القيمة المضافة",),
        ),
    ),
    D(
        "cheapest",
        S("What's your cheapest service?", COMPARE, contains=("The cheapest is Payroll",)),
    ),
    D("cheapest-ar", S("ما هي أرخص خدمة؟", COMPARE, contains=("الأرخص هو مسير الرواتب",))),
    # -- ordering only what the customer chose ---------------------------------------------
    D(
        "order-named",
        *order_steps("I want to order VAT filing", "VAT Filing", contains=("Your order #",)),
    ),
    D(
        "order-named-ar",
        *order_steps("أريد أن أطلب إقرار الزكاة", "Zakat Filing", contains=("تم تسجيل طلبك",)),
    ),
    D(
        "order-it-after-one",
        S("tell me about bookkeeping", DESCRIBE, ("Bookkeeping",)),
        *order_steps("ok, order it", "Bookkeeping", contains=("950.00 SAR",)),
    ),
    D(
        "order-it-after-one-ar",
        S("ما هي خدمة مسك الدفاتر؟", DESCRIBE, ("Bookkeeping",)),
        *order_steps("اطلبها لي", "Bookkeeping", contains=("950.00 ريال",)),
    ),
    D(
        "zeppelin",  # issue 10, item 6: the assistant's own listing is not a choice
        S("Tell me about Zeppelin Repair", REDIRECT, contains=("I'm sorry",)),
        S("Great, order it", CLARIFY, contains=("Which service",)),
    ),
    D(
        "zeppelin-ar",
        S("أخبرني عن إصلاح المناطيد", REDIRECT, contains=("عذراً",)),
        S("ممتاز، اطلبه", CLARIFY, contains=("أي خدمة",)),
    ),
    D(
        "order-it-after-list",
        S("What services do you offer?", LIST),
        S("I'll take it", CLARIFY),
    ),
    D(
        "order-it-after-list-ar",
        S("ما هي خدماتكم؟", LIST),
        S("أبغى هذا", CLARIFY),
    ),
    D(
        "order-it-after-two",
        S("compare bookkeeping and payroll", COMPARE, ("Payroll", "Bookkeeping")),
        S("order it", CLARIFY),
    ),
    D(
        "order-it-after-two-ar",
        S("قارن بين مسك الدفاتر والرواتب", COMPARE, ("Payroll", "Bookkeeping")),
        S("اطلبه", CLARIFY),
    ),
    D("order-vague", S("I want to order something", CLARIFY, contains=("Which service",))),
    D("order-vague-ar", S("أبي أطلب", CLARIFY, contains=("أي خدمة تريد أن تطلب",))),
    D(
        "answer-which",
        S("I'd like to place an order", CLARIFY),
        *order_steps("payroll", "Payroll"),
    ),
    D(
        "answer-which-ar",
        S("ودي أطلب خدمة", CLARIFY),
        *order_steps("الرواتب", "Payroll"),
    ),
    D("how-to-order", S("How do I order payroll?", DESCRIBE, ("Payroll",))),
    D("how-to-order-ar", S("كيف أطلب مسير الرواتب؟", DESCRIBE, ("Payroll",))),
    D("price-to-order", S("how much to order VAT filing", DESCRIBE, ("VAT Filing",))),
    D("price-to-order-ar", S("بكم أطلب إقرار الزكاة", DESCRIBE, ("Zakat Filing",))),
    D(
        "question-after-which",
        S("I want to order something", CLARIFY),
        S("how much is payroll?", DESCRIBE, ("Payroll",)),
    ),
    D(
        "question-after-which-ar",
        S("أبي أطلب", CLARIFY),
        S("كم سعر الرواتب؟", DESCRIBE, ("Payroll",)),
    ),
    D(
        "dont-order-it",
        S("tell me about payroll", DESCRIBE, ("Payroll",)),
        S("no, don't order it", DECLINED, contains=("haven't ordered anything",)),
    ),
    D(
        "dont-order-it-ar",
        S("كم سعر الرواتب؟", DESCRIBE, ("Payroll",)),
        S("لا، لا أريده", DECLINED, contains=("لم أطلب لك شيئاً",)),
    ),
    D(
        "maybe-later",
        S("How much is bookkeeping?", DESCRIBE, ("Bookkeeping",)),
        S("maybe I will order it next month", DECLINED),
    ),
    D(
        "maybe-later-ar",
        S("كم سعر مسك الدفاتر؟", DESCRIBE, ("Bookkeeping",)),
        S("ربما أطلبه لاحقاً", DECLINED),
    ),
    D(
        "question-about-it",
        S("tell me about VAT filing", DESCRIBE, ("VAT Filing",)),
        S("what does it include?", DESCRIBE, ("VAT Filing",)),
        S("where can I order it?", DESCRIBE, ("VAT Filing",)),
    ),
    D(
        "question-about-it-ar",
        S("ما هي خدمة إقرار الزكاة؟", DESCRIBE, ("Zakat Filing",)),
        S("ماذا يشمل هذا؟", DESCRIBE, ("Zakat Filing",), contains=("1800.00 ريال",)),
    ),
    D(
        "accept-offer",
        S("How much is zakat filing?", DESCRIBE, ("Zakat Filing",)),
        *order_steps("yes please", "Zakat Filing"),
    ),
    D(
        "accept-offer-ar",
        S("كم سعر إقرار الزكاة؟", DESCRIBE, ("Zakat Filing",)),
        *order_steps("نعم", "Zakat Filing"),
    ),
    D(
        "accept-offer-ok-ar",
        S("كم سعر مسك الدفاتر؟", DESCRIBE, ("Bookkeeping",)),
        *order_steps("ok", "Bookkeeping", contains=("تم تسجيل طلبك",), language="ar"),
    ),
    D(
        "accept-offer-ok",
        S("how much is bookkeeping?", DESCRIBE, ("Bookkeeping",)),
        *order_steps("ok", "Bookkeeping", contains=("Your order #",)),
    ),
    D(
        "thanks-is-not-yes",
        S("How much is the financial audit?", DESCRIBE, ("Financial Audit",)),
        S("ok thanks", THANKS),
    ),
    D(
        "thanks-is-not-yes-ar",
        S("كم سعر التدقيق المالي؟", DESCRIBE, ("Financial Audit",)),
        S("شكراً", THANKS, contains=("العفو",)),
    ),
    # -- status and cancel --------------------------------------------------------------------
    D("cancel-nothing", S("cancel my order", CANCEL, contains=("no pending order",))),
    D("cancel-nothing-ar", S("ألغِ طلبي", CANCEL, contains=("لا يوجد لديك طلب قيد الانتظار",))),
    D(
        "order-then-cancel",
        *order_steps("order payroll", "Payroll"),
        S("cancel my order", CANCEL, cancels=True, contains=("has been cancelled",)),
    ),
    D(
        "order-then-cancel-ar",
        *order_steps("اطلب مسير الرواتب", "Payroll"),
        S("الغ الطلب", CANCEL, cancels=True, contains=("تم إلغاء طلبك",)),
    ),
    D(
        "status",
        *order_steps("book company formation", "Company Formation"),
        S("where is my order?", STATUS, contains=("pending confirmation", "3500.00 SAR")),
    ),
    D(
        "status-ar",
        *order_steps("احجز تأسيس الشركات", "Company Formation"),
        S("وين طلبي؟", STATUS, contains=("قيد الانتظار", "تأسيس الشركات", "3500.00 ريال")),
    ),
    D(
        "placed-earlier-where-is-it",
        S("tell me about payroll", DESCRIBE, ("Payroll",)),
        S("I placed an order yesterday, where is it?", STATUS, contains=("no orders",)),
    ),
    D(
        "placed-earlier-where-is-it-ar",
        S("كم سعر الرواتب؟", DESCRIBE, ("Payroll",)),
        S("طلبت أمس، وين وصل الطلب؟", STATUS, contains=("لا توجد طلبات",)),
    ),
    D("status-none", S("what's the status of my order?", STATUS, contains=("no orders",))),
    D("status-none-ar", S("ما حالة طلبي؟", STATUS, contains=("لا توجد طلبات",))),
    D(
        "cancel-by-number-once",
        *order_steps("I need the audit", "Financial Audit"),
        S("cancel order #{order}", CANCEL, cancels=True),
        S("please cancel order #{order}", CANCEL, contains=("can no longer be cancelled",)),
    ),
    D(
        "cancel-by-number-once-ar",
        *order_steps("أريد التدقيق المالي", "Financial Audit"),
        S("ألغِ الطلب رقم {order_ar}", CANCEL, cancels=True),
        S("ألغِ الطلب رقم {order_ar}", CANCEL, contains=("لا يمكن إلغاؤه",)),
    ),
    D(
        "asking-about-cancelling-cancels-nothing",
        *order_steps("order payroll", "Payroll"),
        S("can I cancel my order later?", HOW_TO, contains=('"cancel my order"',)),
        S("order history please", STATUS, contains=("Payroll", "pending confirmation")),
    ),
    D(
        "asking-about-cancelling-cancels-nothing-ar",
        *order_steps("اطلب مسير الرواتب", "Payroll"),
        S("هل يمكنني إلغاء الطلب لاحقاً؟", HOW_TO, contains=("«ألغِ طلبي»",)),
        S("ما حالة طلبي؟", STATUS, contains=("مسير الرواتب", "قيد الانتظار")),
    ),
    D(
        "status-unknown-number",
        S(
            "where is order #999999?",
            STATUS,
            contains=("can't find order #999999",),
            order_number=999999,
        ),
    ),
    D(
        "status-unknown-number-ar",
        S(
            "أين الطلب رقم ٩٩٩٩٩٩؟",
            STATUS,
            contains=("لم أجد الطلب رقم 999999",),
            order_number=999999,
        ),
    ),
    D(
        "cancel-which-of-two",
        *order_steps("order payroll", "Payroll"),
        *order_steps("also order bookkeeping please", "Bookkeeping"),
        S("cancel my order", CANCEL, contains=("Which one should I cancel",)),
    ),
    D(
        "cancel-which-of-two-ar",
        *order_steps("اطلب الرواتب", "Payroll"),
        *order_steps("واطلب مسك الدفاتر كذلك", "Bookkeeping"),
        S("أريد إلغاء الطلب", CANCEL, contains=("أي طلب تريد إلغاءه",)),
    ),
    # -- small talk and everything else ------------------------------------------------------
    D("greeting", S("Hello!", GREETING)),
    D("greeting-ar", S("السلام عليكم", GREETING, contains=("أهلاً",))),
    D("thanks", S("thank you, bye", THANKS)),
    D("thanks-ar", S("مشكور، مع السلامة", THANKS)),
    D("redirect", S("What's the weather in Riyadh?", REDIRECT, contains=("I'm sorry",))),
    D("redirect-ar", S("كيف الطقس في الرياض؟", REDIRECT, contains=("عذراً", "35.00 ريال"))),
]
