"""Management commands: seed_demo, issue_api_key, catalog_cache stats/warm/invalidate."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import cache as catalog_cache
from tenancy.keys import tenant_for_key
from tenancy.models import Company

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_seed_demo_prints_a_working_key_and_is_idempotent():
    first = run("seed_demo").strip().removeprefix("WAZEN_DEMO_API_KEY=")
    second = run("seed_demo").strip().removeprefix("WAZEN_DEMO_API_KEY=")
    demo = Company.objects.get(slug="demo")
    assert demo.services.count() == 6
    assert tenant_for_key(first).id == tenant_for_key(second).id == demo.id


def test_seed_demo_is_bilingual():
    run("seed_demo")
    demo = Company.objects.get(slug="demo")
    rows = list(demo.services.values_list("name", "name_ar", "description_ar"))
    assert all(name_ar and description_ar for _, name_ar, description_ar in rows), rows
    assert ("Payroll", "مسير الرواتب") in {(name, name_ar) for name, name_ar, _ in rows}


def test_issue_api_key(company):
    key = run("issue_api_key", "acme").strip()
    assert tenant_for_key(key).slug == "acme"
    with pytest.raises(CommandError, match="No company"):
        run("issue_api_key", "nope")


def test_catalog_cache_warm_stats_invalidate(redis_cache, make_company):
    a, b = make_company(services=1), make_company(services=1)
    assert run("catalog_cache", "warm").strip() == "warm: 2 companies"
    with CaptureQueriesContext(connection) as queries:
        catalog_cache.orderable_services(a.id)
        catalog_cache.orderable_services(b.id)
    assert len(queries.captured_queries) == 0
    stats = json.loads(run("catalog_cache", "stats"))
    assert stats["catalog"]["backend"] == "redis"
    assert stats["ping_ms"] is not None
    assert stats["catalog"]["hits"] == 2
    assert set(stats) == {"ping_ms", "catalog", "api_keys"}
    assert run("catalog_cache", "invalidate", a.slug).strip() == (
        "invalidate: 1 companies (0 api_keys entries, 1 catalog entries)"
    )
    with CaptureQueriesContext(connection) as queries:
        catalog_cache.orderable_services(a.id)
    assert len(queries.captured_queries) == 1
    run("catalog_cache", "invalidate", a.slug, "--cache", "catalog")
    with CaptureQueriesContext(connection) as queries:
        catalog_cache.orderable_services(a.id)
    assert len(queries.captured_queries) == 1  # only the catalog was retired
    with pytest.raises(CommandError, match="Unknown companies: ghost"):
        run("catalog_cache", "warm", "ghost")


def test_catalog_cache_invalidate_fails_loudly_when_redis_is_down(redis_cache, company):
    redis_cache.stop()
    with pytest.raises(CommandError, match="Redis unavailable"):
        run("catalog_cache", "invalidate", "acme")
    stats = json.loads(run("catalog_cache", "stats"))
    assert stats["ping_ms"] is None


def test_the_repair_after_raw_sql_covers_inactive_companies(redis_cache, company, api_key):
    assert tenant_for_key(api_key).id == company.id  # cached
    with connection.cursor() as cursor:
        cursor.execute("UPDATE catalog_company SET is_active = %s", [False])
    assert tenant_for_key(api_key) is not None  # raw SQL: the cache cannot know
    out = run("catalog_cache", "invalidate").strip()
    assert out.startswith("invalidate: 1 companies"), out
    assert tenant_for_key(api_key) is None


def test_invalidate_all_retires_every_entry_of_every_cache(redis_cache, make_company, api_key):
    companies = [make_company(services=1) for _ in range(3)]
    for company in companies:
        catalog_cache.orderable_services(company.id)
    assert tenant_for_key(api_key) is not None
    with connection.cursor() as cursor:
        cursor.execute("UPDATE catalog_service SET price = %s", ["7.00"])
        cursor.execute("UPDATE catalog_apikey SET revoked_at = created_at")
    assert run("catalog_cache", "invalidate", "--all").strip() == (
        "invalidate --all: every cache entry retired"
    )
    assert redis_cache.cli("--scan", "--pattern", "wazen:1:catalog:*").split() == []
    for company in companies:
        assert {s.price for s in catalog_cache.orderable_services(company.id).services} == {"7.00"}
    assert tenant_for_key(api_key) is None
    with pytest.raises(CommandError, match="--all goes with `invalidate` alone"):
        run("catalog_cache", "invalidate", companies[0].slug, "--all")
