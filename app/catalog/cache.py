"""The catalog cache: each company's orderable services, one query per miss, none per hit.

Built on `GenerationalCache` (cachekit/component.py), which holds the guarantees; this module
registers the catalog's instance and the rows it reads, and offers the functions the rest of the
app calls.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from cachekit import registry, writes
from cachekit.component import GenerationalCache
from catalog.models import Service
from catalog.selectors import catalog_snapshot_from_db
from catalog.snapshot import CatalogSnapshot, payload_schema_version
from tenancy import keys
from tenancy.keys import Tenant
from tenancy.models import Company

CACHE_NAME = "catalog"


def build_catalog_cache() -> GenerationalCache[CatalogSnapshot]:
    return GenerationalCache(
        name=CACHE_NAME,
        schema_version=payload_schema_version(),
        load=lambda company_id: catalog_snapshot_from_db(company_id=company_id),
        encode=CatalogSnapshot.to_payload,
        decode=CatalogSnapshot.from_payload,
        ttl=lambda snapshot: settings.CACHE_TIMEOUT,
    )


def snapshots() -> GenerationalCache[CatalogSnapshot]:
    return registry.cache(CACHE_NAME)


def _service_rows(model, pks: list[Any]) -> set[int]:
    return set(model._base_manager.filter(pk__in=pks).values_list("company_id", flat=True))


def _service_objects(objs) -> set[int]:
    return {obj.company_id for obj in objs}


def _company_rows(model, pks: list[Any]) -> set[int]:
    return set(pks)


def _company_objects(objs) -> set[int]:
    return {obj.pk for obj in objs}


def register_cache() -> None:
    """At ready(): the catalog cache, and the rows a company's catalog is read from."""
    registry.register(CACHE_NAME, build_catalog_cache)
    moved = frozenset({"company"})
    writes.track(CACHE_NAME, Service, registry.Dependents(_service_rows, _service_objects, moved))
    writes.track(CACHE_NAME, Company, registry.Dependents(_company_rows, _company_objects))


def orderable_services(company_id: int) -> CatalogSnapshot:
    """The company's orderable, active services: from Redis when it can, else the database."""
    return snapshots().get(company_id)


def tenant_and_catalog(raw_key: str) -> tuple[Tenant | None, CatalogSnapshot | None]:
    """The key's company and that company's catalog: one Redis round trip when both are cached.

    (None, None) for an unknown, revoked or malformed key.
    """
    if not keys.is_well_formed(raw_key):
        return None, None
    return keys.resolutions().get_then(
        keys.hash_key(raw_key), snapshots(), lambda tenant: tenant.id if tenant else None
    )


def invalidate(company_id: int) -> bool:
    """Retire the company's cached catalog now (False: Redis unreachable, retried later)."""
    return snapshots().invalidate(company_id)


def warm(company_ids: list[int]) -> int:
    """Load the given companies' snapshots into the cache; returns how many were read."""
    for company_id in company_ids:
        snapshots().get(company_id)
    return len(company_ids)


def cache_stats() -> dict[str, Any]:
    """The catalog cache's counters in this process, with its TTL."""
    return {**snapshots().stats(), "timeout_seconds": settings.CACHE_TIMEOUT}
