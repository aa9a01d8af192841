"""API keys: hashed at rest, resolved without a query on a hit, revocation effective at commit."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tenancy.keys import api_key_issue, api_key_revoke, hash_key, tenant_for_key
from tenancy.models import ApiKey
from tests.conftest import in_thread

pytestmark = pytest.mark.django_db(transaction=True)


def test_only_the_hash_is_stored(company):
    api_key, raw = api_key_issue(company=company, name="ci")
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert raw.startswith("wz_")
    assert len(raw) > 40
    assert stored.key_hash == hash_key(raw) != raw
    assert raw not in {stored.prefix, stored.name, stored.key_hash}


def test_resolution_is_cached(redis_cache, company, api_key):
    with CaptureQueriesContext(connection) as first:
        tenant = tenant_for_key(api_key)
    with CaptureQueriesContext(connection) as second:
        assert tenant_for_key(api_key) == tenant
    assert (tenant.id, tenant.slug) == (company.id, "acme")
    assert (len(first.captured_queries), len(second.captured_queries)) == (1, 0)


def test_revocation_takes_effect_at_commit(redis_cache, company, api_key):
    assert tenant_for_key(api_key) is not None
    key = ApiKey.objects.get(company=company)
    seen_by_others = {}
    with transaction.atomic():
        api_key_revoke(api_key=key)
        assert tenant_for_key(api_key) is None  # the transaction sees its own write
        reader = in_thread(lambda: seen_by_others.setdefault("tenant", tenant_for_key(api_key)))
        reader.join(10)
        assert seen_by_others["tenant"] is not None  # others: not committed yet
    assert tenant_for_key(api_key) is None


def test_unknown_keys_leave_nothing_in_redis(redis_cache, company, api_key):
    """Issue 18: each bogus key used to leave `wazen:1:api_keys:gen:*` for 24 h. Unknown keys
    are not cached now (their query is bounded by api/preauth.py's limit per address)."""
    assert tenant_for_key(api_key) is not None  # a real key is cached as before
    before = set(redis_cache.cli("--scan", "--pattern", "wazen:1:api_keys:*").split())
    for n in range(20):
        assert tenant_for_key(f"wz_not-a-real-key-{n}") is None
    with CaptureQueriesContext(connection) as queries:
        assert tenant_for_key("wz_not-a-real-key-0") is None
    assert len(queries.captured_queries) == 1
    assert set(redis_cache.cli("--scan", "--pattern", "wazen:1:api_keys:*").split()) == before
    assert tenant_for_key("not-even-our-format") is None


def test_deactivating_the_company_disables_its_keys(redis_cache, company, api_key):
    assert tenant_for_key(api_key) is not None
    company.is_active = False
    company.save()
    assert tenant_for_key(api_key) is None


def test_resolution_works_while_redis_is_down(redis_cache, company, api_key):
    redis_cache.stop()
    tenant = tenant_for_key(api_key)
    assert tenant is not None
    assert tenant.id == company.id
