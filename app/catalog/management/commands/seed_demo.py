from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction

from catalog.models import Company, Service
from tenancy.keys import api_key_issue

# (name, category, price, description, Arabic name, Arabic description)
DEMO_SERVICES = [
    (
        "Bookkeeping",
        "Accounting",
        "950.00",
        "Monthly bookkeeping: ledger, bank reconciliation "
        "and a management report by the 10th of each month.",
        "مسك الدفاتر",
        "مسك الدفاتر شهرياً: دفتر الأستاذ، ومطابقة الحسابات البنكية، وتقرير إداري بحلول "
        "العاشر من كل شهر.",
    ),
    (
        "VAT Filing",
        "Tax",
        "450.00",
        "Quarterly VAT return prepared, reviewed and filed with "
        "ZATCA, including reconciliation of input and output VAT.",
        "إقرار ضريبة القيمة المضافة",
        "إعداد إقرار ضريبة القيمة المضافة الربع سنوي ومراجعته وتقديمه إلى هيئة الزكاة والضريبة "
        "والجمارك، مع مطابقة ضريبة المدخلات والمخرجات.",
    ),
    (
        "Payroll",
        "HR",
        "35.00",
        "Monthly payroll per employee: payslips, GOSI contributions and WPS salary file.",
        "مسير الرواتب",
        "مسير الرواتب الشهري لكل موظف: قسائم الرواتب، واشتراكات التأمينات الاجتماعية، وملف "
        "حماية الأجور.",
    ),
    (
        "Zakat Filing",
        "Tax",
        "1800.00",
        "Annual zakat declaration with supporting schedules.",
        "إقرار الزكاة",
        "إقرار الزكاة السنوي مع الجداول المؤيدة.",
    ),
    (
        "Company Formation",
        "Legal",
        "3500.00",
        "Commercial registration, articles of association and chamber of commerce membership.",
        "تأسيس الشركات",
        "السجل التجاري، وعقد التأسيس، والاشتراك في الغرفة التجارية.",
    ),
    (
        "Financial Audit",
        "Assurance",
        "12000.00",
        "Annual audit of the financial statements by a licensed auditor.",
        "التدقيق المالي",
        "تدقيق سنوي للقوائم المالية من مراجع حسابات مرخص.",
    ),
]


class Command(BaseCommand):
    help = "Create (or refresh) the demo company with its services and print a new API key."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--slug", default="demo")

    @transaction.atomic
    def handle(self, *args, slug: str, **options) -> None:
        company, _ = Company.objects.update_or_create(
            slug=slug, defaults={"name": "Wazen Demo Accounting", "is_active": True}
        )
        for name, category, price, description, name_ar, description_ar in DEMO_SERVICES:
            Service.objects.update_or_create(
                company=company,
                name=name,
                defaults={
                    "category": category,
                    "price": Decimal(price),
                    "currency": "SAR",
                    "description": description,
                    "name_ar": name_ar,
                    "description_ar": description_ar,
                    "is_orderable": True,
                    "is_active": True,
                },
            )
        _, raw_key = api_key_issue(company=company, name="demo")
        self.stdout.write(f"WAZEN_DEMO_API_KEY={raw_key}")
