"""Database reads for the catalog. `catalog_snapshot_from_db` is the one catalog query."""

from __future__ import annotations

from catalog.models import Service
from catalog.snapshot import CatalogSnapshot, ServiceEntry

_FIELDS = (
    "id", "name", "description", "price", "currency", "category", "name_ar", "description_ar",
)  # fmt: skip


def catalog_snapshot_from_db(*, company_id: int) -> CatalogSnapshot:
    rows = Service.objects.filter(
        company_id=company_id, is_active=True, is_orderable=True
    ).values_list(*_FIELDS)
    services = tuple(
        ServiceEntry(
            id=pk,
            name=name,
            description=desc,
            price=str(price),
            currency=cur,
            category=cat,
            name_ar=name_ar,
            description_ar=desc_ar,
        )
        for pk, name, desc, price, cur, cat, name_ar, desc_ar in rows
    )
    return CatalogSnapshot(company_id=company_id, services=services)
