"""Issuing, revoking and resolving API keys.

Resolution is cached per key hash in its own `GenerationalCache` instance (`api_keys`), so an
authenticated request costs no database query on a hit. Unknown (or revoked) keys are not cached
at all: anyone can invent them, and each one cached would be a Redis key an attacker creates at
will (issue 18: 2,000 an hour in a soak). Their database query is bounded instead by the limit on
failed authentications per client address (api/preauth.py). Every
write that can change an answer — a key issued, revoked (one by one or in bulk), deleted, or its
company renamed, deactivated or deleted, through any write path — retires the cached answer after
commit (cachekit/writes.py): a revoked key stops working when the revocation commits.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from cachekit import registry, writes
from cachekit.component import GenerationalCache
from cachekit.schema import schema_version
from tenancy.models import ApiKey, Company

KEY_PREFIX = "wz_"
MAX_KEY_LENGTH = 200
# Bump when Tenant's payload changes meaning; a field change renames the entries by itself.
TENANT_REVISION = 1


@dataclass(frozen=True, slots=True)
class Tenant:
    """The company an API key belongs to: everything a request needs, without a query."""

    id: int
    slug: str
    name: str
    # The key itself: conversations belong to the key that started them. None only for callers
    # inside the app (tests, commands) that act for the company without a key.
    api_key_id: int | None = None


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_issue(*, company: Company, name: str = "default") -> tuple[ApiKey, str]:
    """Create a key; the raw value is returned once and never stored."""
    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        company=company, name=name, prefix=raw_key[:10], key_hash=hash_key(raw_key)
    )
    return api_key, raw_key


def api_key_revoke(*, api_key: ApiKey) -> None:
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at"])


def is_well_formed(raw_key: str) -> bool:
    return raw_key.startswith(KEY_PREFIX) and len(raw_key) <= MAX_KEY_LENGTH


def tenant_for_key(raw_key: str) -> Tenant | None:
    """The active company owning an active key, or None. No query when the answer is cached."""
    return resolutions().get(hash_key(raw_key)) if is_well_formed(raw_key) else None


def tenant_from_db(key_hash: str) -> Tenant | None:
    row = (
        ApiKey.objects.filter(key_hash=key_hash, revoked_at__isnull=True, company__is_active=True)
        .values_list("company_id", "company__slug", "company__name", "id")
        .first()
    )
    return Tenant(id=row[0], slug=row[1], name=row[2], api_key_id=row[3]) if row else None


def _encode(tenant: Tenant | None) -> dict[str, Any] | None:
    return asdict(tenant) if tenant else None


def _decode(payload: dict[str, Any] | None) -> Tenant | None:
    return Tenant(**payload) if payload is not None else None


def _ttl(tenant: Tenant | None) -> float:
    # 0: an unknown key leaves nothing in Redis (see the module docstring).
    return settings.WAZEN_API_KEY_CACHE_TIMEOUT if tenant else 0


def build_api_key_cache() -> GenerationalCache[Tenant | None]:
    return GenerationalCache(
        name=CACHE_NAME,
        schema_version=schema_version(TENANT_REVISION, Tenant),
        load=tenant_from_db,
        encode=_encode,
        decode=_decode,
        ttl=_ttl,
    )


CACHE_NAME = "api_keys"


def resolutions() -> GenerationalCache[Tenant | None]:
    return registry.cache(CACHE_NAME)


def _key_rows(model, pks: list[Any]) -> set[str]:
    return set(model._base_manager.filter(pk__in=pks).values_list("key_hash", flat=True))


def _key_objects(objs) -> set[str]:
    return {obj.key_hash for obj in objs}


def _company_rows(model, pks: list[Any]) -> set[str]:
    # A company renamed, deactivated or deleted changes what each of its keys resolves to.
    keys = ApiKey._base_manager.filter(company_id__in=pks)
    return set(keys.values_list("key_hash", flat=True))


def _company_objects(objs) -> set[str]:
    return _company_rows(Company, [obj.pk for obj in objs])


def register_cache() -> None:
    """At ready(): the resolutions cache, and the rows each resolution is read from."""
    registry.register(CACHE_NAME, build_api_key_cache)
    moved = frozenset({"company"})
    writes.track(CACHE_NAME, ApiKey, registry.Dependents(_key_rows, _key_objects, moved))
    writes.track(CACHE_NAME, Company, registry.Dependents(_company_rows, _company_objects))
