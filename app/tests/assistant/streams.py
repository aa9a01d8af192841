"""What the provider-streaming tests share: a small bilingual snapshot, and reading a stream
while checking the Provider.stream() contract on the way."""

from __future__ import annotations

from assistant.providers import ProviderReply, Turn
from catalog.snapshot import CatalogSnapshot, ServiceEntry

SNAPSHOT = CatalogSnapshot(
    company_id=1,
    services=(
        ServiceEntry(1, "Bookkeeping", "Monthly books.", "950.00", "SAR", "Accounting",
                     name_ar="مسك الدفاتر", description_ar="دفاتر شهرية."),
        ServiceEntry(2, "VAT Filing", "Quarterly VAT.", "450.00", "SAR", "Tax",
                     name_ar="الإقرار الضريبي", description_ar="إقرار ربع سنوي."),
        ServiceEntry(3, "Payroll", "Monthly payroll.", "35.00", "SAR", "HR",
                     name_ar="الرواتب", description_ar="رواتب شهرية."),
    ),
)  # fmt: skip


def drain(stream) -> tuple[list[str], ProviderReply]:
    """The deltas and the final reply; checks the contract's shape on the way."""
    items = list(stream)
    *deltas, last = items
    assert all(isinstance(d, str) and d for d in deltas), items
    assert isinstance(last, ProviderReply)
    assert last.text == "".join(deltas)
    return deltas, last


def ask(provider, message: str, history: list[Turn] | None = None):
    return provider.stream(
        company_name="Acme", snapshot=SNAPSHOT, history=history or [], message=message
    )
