"""The catalog cache against a real redis-server: queries per hit/miss, storage format, TTL,
invalidation on every write path, the commit race, stampede protection."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from catalog import cache as catalog_cache
from catalog import selectors
from catalog.models import Service
from catalog.snapshot import payload_schema_version
from tests.conftest import in_thread

# Real transactions: invalidation runs in on_commit callbacks, which need a real commit.
pytestmark = pytest.mark.django_db(transaction=True)


def names(snapshot) -> list[str]:
    return sorted(s.name for s in snapshot.services)


def test_miss_costs_one_query_and_hit_costs_none(redis_cache, company):
    with CaptureQueriesContext(connection) as miss:
        first = catalog_cache.orderable_services(company.id)
    with CaptureQueriesContext(connection) as hit:
        second = catalog_cache.orderable_services(company.id)
    assert len(miss.captured_queries) == 1
    assert len(hit.captured_queries) == 0
    assert first == second
    assert names(first) == ["Service 0", "Service 1", "Service 2"]
    stats = catalog_cache.cache_stats()
    assert (stats["hits"], stats["misses"], stats["fallbacks"]) == (1, 1, 0)
    assert stats["hit_ratio"] == 0.5


def entry_key(company_id: int) -> str:
    return catalog_cache.snapshots().entry_key(company_id)


def test_snapshot_is_plain_json_with_the_configured_ttl(redis_cache, company, settings):
    catalog_cache.orderable_services(company.id)
    raw_key = entry_key(company.id)
    assert raw_key.startswith(f"wazen:1:catalog:v{payload_schema_version()}:")
    stored = redis_cache.cli("GET", raw_key)
    entry = json.loads(stored)  # JSON, not a pickle
    assert entry["g"] == int(redis_cache.cli("GET", f"wazen:1:catalog:gen:{company.id}"))
    assert next(s["name"] for s in entry["d"]["services"]) == "Service 0"
    assert entry["d"]["services"][0]["price"] == "100.00"
    ttl = int(redis_cache.cli("TTL", raw_key))
    assert settings.CACHE_TIMEOUT - 5 <= ttl <= settings.CACHE_TIMEOUT == 300


def test_only_active_orderable_services_of_that_company(redis_cache, make_company):
    a, b = make_company(services=2), make_company(services=1)
    Service.objects.filter(company=a, name="Service 1").update(is_orderable=False)
    Service.objects.create(company=a, name="Retired", price=1, is_active=False)
    assert names(catalog_cache.orderable_services(a.id)) == ["Service 0"]
    assert names(catalog_cache.orderable_services(b.id)) == ["Service 0"]
    assert catalog_cache.orderable_services(b.id).company_id == b.id


WRITES = {
    "save": lambda c: _renamed(Service.objects.get(company=c, name="Service 0")).save(),
    "create": lambda c: Service.objects.create(company=c, name="New", price=Decimal(5)),
    "delete": lambda c: Service.objects.get(company=c, name="Service 0").delete(),
    "queryset.update": lambda c: Service.objects.filter(company=c, name="Service 0").update(
        name="Renamed"
    ),
    "queryset.delete": lambda c: Service.objects.filter(company=c, name="Service 0").delete(),
    "bulk_create": lambda c: Service.objects.bulk_create(
        [Service(company=c, name="Bulk", price=Decimal(1))]
    ),
    "bulk_update": lambda c: Service.objects.bulk_update(
        [_renamed(Service.objects.get(company=c, name="Service 0"))], ["name"]
    ),
    "company cascade delete": lambda c: c.delete(),
}


def _renamed(service: Service) -> Service:
    service.name = "Renamed"
    return service


@pytest.mark.parametrize("write", WRITES, ids=list(WRITES))
def test_every_write_path_invalidates(redis_cache, company, write):
    before = catalog_cache.orderable_services(company.id)
    WRITES[write](company)
    with CaptureQueriesContext(connection) as reread:
        after = catalog_cache.orderable_services(company.id)
    assert after != before
    assert after == selectors.catalog_snapshot_from_db(company_id=company.id)
    assert len(reread.captured_queries) == 1  # a miss: the stale entry is unreachable
    assert catalog_cache.cache_stats()["invalidations"] >= 1


def test_moving_a_service_invalidates_both_companies(redis_cache, make_company):
    a, b = make_company(services=2), make_company(services=0)
    catalog_cache.orderable_services(a.id), catalog_cache.orderable_services(b.id)
    service = Service.objects.get(company=a, name="Service 0")
    service.company = b
    service.save()
    assert names(catalog_cache.orderable_services(a.id)) == ["Service 1"]
    assert names(catalog_cache.orderable_services(b.id)) == ["Service 0"]


def test_invalidation_waits_for_commit_and_skips_rollback(redis_cache, company):
    catalog_cache.orderable_services(company.id)
    start = catalog_cache.cache_stats()["invalidations"]
    others = {}
    with transaction.atomic():
        Service.objects.filter(company=company).update(price=Decimal(1))
        # Not committed: other readers must still get (and may still cache) the committed data.
        assert catalog_cache.cache_stats()["invalidations"] == start
        reader = in_thread(
            lambda: others.setdefault("s", catalog_cache.orderable_services(company.id))
        )
        reader.join(10)
        assert {s.price for s in others["s"].services} != {"1.00"}
    assert catalog_cache.cache_stats()["invalidations"] == start + 1
    assert {s.price for s in catalog_cache.orderable_services(company.id).services} == {"1.00"}

    with pytest.raises(RuntimeError), transaction.atomic():
        Service.objects.filter(company=company).update(price=Decimal(2))
        raise RuntimeError("roll back")
    assert catalog_cache.cache_stats()["invalidations"] == start + 1
    assert {s.price for s in catalog_cache.orderable_services(company.id).services} == {"1.00"}


def test_a_late_filler_cannot_resurrect_stale_data(redis_cache, company, monkeypatch):
    """Reader loads rows, writer commits and invalidates, then the reader stores its old rows.

    The stored snapshot carries the old generation, so the next read misses and reloads.
    """
    loaded, committed = threading.Event(), threading.Event()
    real_read = selectors.catalog_snapshot_from_db

    def slow_read(*, company_id):
        snapshot = real_read(company_id=company_id)
        if threading.current_thread().name == "late-filler":
            loaded.set()
            assert committed.wait(10)
        return snapshot

    monkeypatch.setattr(catalog_cache, "catalog_snapshot_from_db", slow_read)
    results = {}
    reader = in_thread(
        lambda: results.setdefault("stale", catalog_cache.orderable_services(company.id)),
        name="late-filler",
    )
    assert loaded.wait(10)
    Service.objects.filter(company=company).update(price=Decimal("7.00"))  # commits, invalidates
    committed.set()
    reader.join(10)

    assert {s.price for s in results["stale"].services} != {"7.00"}  # it raced, as intended
    stored = json.loads(redis_cache.cli("GET", entry_key(company.id)))
    assert {s["price"] for s in stored["d"]["services"]} != {"7.00"}  # stale one stored
    fresh = catalog_cache.orderable_services(company.id)
    assert {s.price for s in fresh.services} == {"7.00"}


@pytest.mark.slow
def test_stampede_of_32_threads_costs_one_query(redis_cache, company, catalog_sql_counter):
    threads, barrier, results = 32, threading.Barrier(32), []

    def read() -> None:
        barrier.wait()
        results.append(catalog_cache.orderable_services(company.id))

    workers = [in_thread(read) for _ in range(threads)]
    for worker in workers:
        worker.join(30)
    assert len(results) == threads
    assert len(set(results)) == 1
    assert catalog_sql_counter.count == 1
    stats = catalog_cache.cache_stats()
    assert stats["misses"] + stats["hits"] == threads
    assert stats["fallbacks"] == 0


def test_another_process_filling_is_waited_for_not_duplicated(
    redis_cache, company, catalog_sql_counter
):
    """The fill lock (shared in Redis) makes other processes wait for the filler's snapshot."""
    cold = catalog_cache.snapshots()
    generation = cold.store().get_or_start_generation(cold.generation_key(company.id))
    lock_key = f"wazen:1:catalog:fill:{company.id}:{generation}"
    redis_cache.cli("SET", lock_key, "1", "EX", "10")  # "another process" is filling
    result = {}
    reader = in_thread(lambda: result.setdefault("s", catalog_cache.orderable_services(company.id)))
    snapshot = selectors.catalog_snapshot_from_db(company_id=company.id)  # the other filler
    entry = json.dumps({"g": generation, "e": time.time() + 60, "d": snapshot.to_payload()})
    redis_cache.cli("SET", entry_key(company.id), entry)
    reader.join(10)
    assert result["s"] == snapshot
    assert catalog_sql_counter.count == 1  # only the simulated filler's read


def test_evicted_generation_cannot_match_an_old_snapshot(redis_cache, company):
    catalog_cache.orderable_services(company.id)
    redis_cache.cli("DEL", f"wazen:1:catalog:gen:{company.id}")  # evicted under memory pressure
    Service.objects.filter(company=company).update(price=Decimal(3))  # bump recreates it
    redis_cache.cli("DEL", f"wazen:1:catalog:gen:{company.id}")
    assert {s.price for s in catalog_cache.orderable_services(company.id).services} == {"3.00"}


def test_warm_fills_every_company(redis_cache, make_company):
    companies = [make_company(services=1) for _ in range(3)]
    assert catalog_cache.warm([c.id for c in companies]) == 3
    with CaptureQueriesContext(connection) as queries:
        for c in companies:
            catalog_cache.orderable_services(c.id)
    assert len(queries.captured_queries) == 0


def test_locmem_backend_works_for_local_runs(company):
    """`make run` without Redis uses locmem with the same semantics in one process."""
    with CaptureQueriesContext(connection) as queries:
        catalog_cache.orderable_services(company.id)
        catalog_cache.orderable_services(company.id)
    assert len(queries.captured_queries) == 1
    Service.objects.filter(company=company).update(price=Decimal(9))
    assert {s.price for s in catalog_cache.orderable_services(company.id).services} == {"9.00"}


def test_reads_inside_a_transaction_are_never_cached(redis_cache, company):
    with pytest.raises(RuntimeError), transaction.atomic():
        Service.objects.filter(company=company).update(price=Decimal(4))
        inside = catalog_cache.orderable_services(company.id)
        assert {s.price for s in inside.services} == {"4.00"}  # its own uncommitted write
        raise RuntimeError("roll back")
    after = catalog_cache.orderable_services(company.id)
    assert {s.price for s in after.services} == {"100.00", "101.00", "102.00"}
