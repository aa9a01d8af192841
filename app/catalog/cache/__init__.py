"""The catalog cache: each company's orderable services, one query per miss, none per hit.

Built on `GenerationalCache` (catalog/cache/component.py), which holds the guarantees; this module
is the catalog's instance of it and the functions the rest of the app calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings

from catalog.cache.component import GenerationalCache
from catalog.resilience import CacheUnavailable
from catalog.selectors import catalog_snapshot_from_db
from catalog.snapshot import CatalogSnapshot, payload_schema_version

if TYPE_CHECKING:
    from catalog.api_keys import Tenant

__all__ = [
    "CacheUnavailable",
    "all_caches",
    "build_catalog_cache",
    "cache_stats",
    "invalidate",
    "orderable_services",
    "ping",
    "tenant_and_catalog",
    "warm",
]


def build_catalog_cache() -> GenerationalCache[CatalogSnapshot]:
    return GenerationalCache(
        name="catalog",
        schema_version=payload_schema_version(),
        load=lambda company_id: catalog_snapshot_from_db(company_id=company_id),
        encode=CatalogSnapshot.to_payload,
        decode=CatalogSnapshot.from_payload,
        ttl=lambda snapshot: settings.CACHE_TIMEOUT,
    )


catalog_snapshots = build_catalog_cache()


def orderable_services(company_id: int) -> CatalogSnapshot:
    """The company's orderable, active services: from Redis when it can, else the database."""
    return catalog_snapshots.get(company_id)


def tenant_and_catalog(raw_key: str) -> tuple[Tenant | None, CatalogSnapshot | None]:
    """The key's company and that company's catalog: one Redis round trip when both are cached.

    (None, None) for an unknown, revoked or malformed key.
    """
    from catalog import api_keys

    if not api_keys.is_well_formed(raw_key):
        return None, None
    return api_keys.api_key_resolutions.get_then(
        api_keys.hash_key(raw_key), catalog_snapshots, lambda tenant: tenant.id if tenant else None
    )


def invalidate(company_id: int) -> bool:
    """Retire the company's cached catalog now (False: Redis unreachable, retried later)."""
    return catalog_snapshots.invalidate(company_id)


def warm(company_ids: list[int]) -> int:
    """Load the given companies' snapshots into the cache; returns how many were read."""
    for company_id in company_ids:
        catalog_snapshots.get(company_id)
    return len(company_ids)


def cache_stats() -> dict[str, Any]:
    """The catalog cache's counters in this process, with its TTL."""
    return {**catalog_snapshots.stats(), "timeout_seconds": settings.CACHE_TIMEOUT}


def ping() -> float:
    """Round-trip Redis for every cache instance (closing their breakers on success)."""
    return max(instance.ping() for instance in all_caches())


def all_caches() -> list[GenerationalCache]:
    """Every cache instance of the app, for probes, stats and the management command."""
    from catalog import api_keys

    return [catalog_snapshots, api_keys.api_key_resolutions]
