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
from catalog.api_keys import tenant_for_key
from catalog.models import Company

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
    assert run("catalog_cache", "invalidate", a.slug).strip() == "invalidate: 1 companies"
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
