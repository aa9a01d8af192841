"""Issuing, revoking and resolving API keys.

Resolution is cached per key hash (positive and negative answers), so an authenticated request
costs no database query on a hit. Issuing or revoking a key, or (de)activating its company,
drops the cached answer after commit: a revoked key stops working when the revocation commits.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from catalog.models import ApiKey, Company
from catalog.resilience import CacheUnavailable, redis_guard

KEY_PREFIX = "wz_"
_NEGATIVE_TTL = 60


@dataclass(frozen=True, slots=True)
class Tenant:
    """The company an API key belongs to: everything a request needs, without a query."""

    id: int
    slug: str
    name: str


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _cache_key(key_hash: str) -> str:
    return f"apikey:{key_hash}"


def api_key_issue(*, company: Company, name: str = "default") -> tuple[ApiKey, str]:
    """Create a key; the raw value is returned once and never stored."""
    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    key_hash = hash_key(raw_key)
    api_key = ApiKey.objects.create(
        company=company, name=name, prefix=raw_key[:10], key_hash=key_hash
    )
    forget_cached_keys([key_hash])  # a cached "unknown key" answer must not outlive the issue
    return api_key, raw_key


def api_key_revoke(*, api_key: ApiKey) -> None:
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at"])


def forget_cached_keys(key_hashes: list[str]) -> None:
    """Drop cached resolutions after commit (immediately outside a transaction)."""

    def drop() -> None:
        # If Redis is down, entries expire after WAZEN_API_KEY_CACHE_TIMEOUT at the latest.
        with contextlib.suppress(CacheUnavailable):
            redis_guard.run(
                "invalidate", lambda: cache.delete_many([_cache_key(h) for h in key_hashes])
            )

    if key_hashes:
        transaction.on_commit(drop, robust=True)


def tenant_for_key(raw_key: str) -> Tenant | None:
    """The active company owning an active key, or None. No query when the answer is cached."""
    if not raw_key.startswith(KEY_PREFIX) or len(raw_key) > 200:
        return None
    key_hash = hash_key(raw_key)
    try:
        cached = redis_guard.run("get", lambda: cache.get(_cache_key(key_hash)))
    except CacheUnavailable:
        return _tenant_from_db(key_hash)
    if cached is not None:
        return Tenant(**cached) if cached else None
    tenant = _tenant_from_db(key_hash)
    entry, ttl = (
        (asdict(tenant), settings.WAZEN_API_KEY_CACHE_TIMEOUT) if tenant else ({}, _NEGATIVE_TTL)
    )
    with contextlib.suppress(CacheUnavailable):
        redis_guard.run("set", lambda: cache.set(_cache_key(key_hash), entry, timeout=ttl))
    return tenant


def _tenant_from_db(key_hash: str) -> Tenant | None:
    row = (
        ApiKey.objects.filter(key_hash=key_hash, revoked_at__isnull=True, company__is_active=True)
        .values_list("company_id", "company__slug", "company__name")
        .first()
    )
    return Tenant(id=row[0], slug=row[1], name=row[2]) if row else None
