"""Database reads for the catalog. `catalog_snapshot_from_db` is the one catalog query."""

from __future__ import annotations

from catalog.models import Service
from catalog.snapshot import CatalogSnapshot, ServiceEntry

_FIELDS = ("id", "name", "description", "price", "currency", "category")


def catalog_snapshot_from_db(*, company_id: int) -> CatalogSnapshot:
    rows = Service.objects.filter(
        company_id=company_id, is_active=True, is_orderable=True
    ).values_list(*_FIELDS)
    services = tuple(
        ServiceEntry(
            id=pk, name=name, description=desc, price=str(price), currency=cur, category=cat
        )
        for pk, name, desc, price, cur, cat in rows
    )
    return CatalogSnapshot(company_id=company_id, services=services)
