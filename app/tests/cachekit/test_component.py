"""GenerationalCache under production dynamics, against a real redis-server: rolling upgrades
(foreign entries), bulk writes of every cached entity, breaker edges, transactions, refills, and
each instance keeping its own name. Each test here failed on the module-global cache it replaced.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from cachekit.component import GenerationalCache
from cachekit.guard import CacheUnavailable, CircuitBreaker, RedisGuard
from cachekit.stores import default_store
from catalog import cache as catalog_cache
from catalog import selectors
from catalog.models import Service
from tenancy import keys
from tenancy.keys import api_key_issue, hash_key, tenant_for_key
from tenancy.models import ApiKey, Company
from tests.conftest import in_thread

pytestmark = pytest.mark.django_db(transaction=True)


def prices(company_id: int) -> set[str]:
    return {s.price for s in catalog_cache.orderable_services(company_id).services}


# --- 1. rolling upgrades: entries of another build are misses, never errors ---------------------


def test_an_entry_with_a_field_this_build_does_not_know_is_a_counted_miss(redis_cache, company):
    snapshots = catalog_cache.snapshots()
    expected = catalog_cache.orderable_services(company.id)
    key = snapshots.entry_key(company.id)
    entry = json.loads(redis_cache.cli("GET", key))
    for service in entry["d"]["services"]:
        service["added_in_a_later_build"] = True
    redis_cache.cli("SET", key, json.dumps(entry))
    fresh = catalog_cache.build_catalog_cache()  # another process: no local entry

    assert fresh.get(company.id) == expected  # no TypeError
    assert fresh.stats()["undecodable"] == 1
    assert fresh.get(company.id) == expected
    assert fresh.stats()["hits"] == 1  # the miss refilled the entry in this build's shape


def test_api_key_entries_of_another_shape_are_misses(redis_cache, company, api_key):
    resolutions = keys.resolutions()
    tenant = tenant_for_key(api_key)
    key = resolutions.entry_key(hash_key(api_key))
    entry = json.loads(redis_cache.cli("GET", key))
    del entry["d"]["slug"]  # a build that dropped a field
    redis_cache.cli("SET", key, json.dumps(entry))
    redis_cache.cli("SET", resolutions.entry_key("garbage"), "\x80not json")
    fresh = keys.build_api_key_cache()

    assert fresh.get(hash_key(api_key)) == tenant
    assert fresh.get("garbage") is None  # unknown hash: from the database, no exception
    assert fresh.stats()["undecodable"] == 1


def test_builds_with_different_schemas_use_different_entries_but_share_generations(
    redis_cache, company
):
    current = catalog_cache.snapshots()
    other = GenerationalCache(
        name="catalog",
        schema_version="999.other",
        load=current.load,
        encode=current.encode,
        decode=current.decode,
        ttl=current.ttl,
    )
    assert other.entry_key(company.id) != current.entry_key(company.id)
    assert other.generation_key(company.id) == current.generation_key(company.id)
    current.get(company.id), other.get(company.id)
    Service.objects.filter(company=company).update(price=Decimal(8))  # through either build
    assert {s.price for s in current.get(company.id).services} == {"8.00"}
    assert {s.price for s in other.get(company.id).services} == {"8.00"}


# --- 2. bulk writes of every cached entity invalidate --------------------------------------------

KEY_WRITES = {
    "ApiKey queryset.update (revoke)": lambda c: ApiKey.objects.filter(company=c).update(
        revoked_at=timezone.now()
    ),
    "ApiKey queryset.delete": lambda c: ApiKey.objects.filter(company=c).delete(),
    "ApiKey bulk_update": lambda c: ApiKey.objects.bulk_update(
        [_revoked(k) for k in ApiKey.objects.filter(company=c)], ["revoked_at"]
    ),
    "ApiKey moved to an inactive company": lambda c: ApiKey.objects.filter(company=c).update(
        company=Company.objects.create(name="Gone", slug="gone", is_active=False)
    ),
    "Company queryset.update (deactivate)": lambda c: Company.objects.filter(pk=c.pk).update(
        is_active=False
    ),
    "Company bulk_update": lambda c: Company.objects.bulk_update([_deactivated(c)], ["is_active"]),
    "Company save": lambda c: _deactivated(c).save(),
    "Company queryset.delete (cascade)": lambda c: Company.objects.filter(pk=c.pk).delete(),
}


def _revoked(key: ApiKey) -> ApiKey:
    key.revoked_at = timezone.now()
    return key


def _deactivated(company: Company) -> Company:
    company.is_active = False
    return company


@pytest.mark.parametrize("write", KEY_WRITES, ids=list(KEY_WRITES))
def test_every_write_path_of_keys_and_companies_revokes_at_commit(
    redis_cache, company, api_key, write
):
    assert tenant_for_key(api_key) is not None  # cached
    with transaction.atomic():
        KEY_WRITES[write](company)
    assert tenant_for_key(api_key) is None


def test_renaming_a_company_in_bulk_reaches_cached_key_resolutions(redis_cache, company, api_key):
    assert tenant_for_key(api_key).name == company.name
    Company.objects.filter(pk=company.pk).update(name="Renamed Co")
    assert tenant_for_key(api_key).name == "Renamed Co"


def test_issuing_a_key_retires_a_cached_unknown_answer(redis_cache, company, monkeypatch):
    raw = "wz_" + "k" * 43
    assert tenant_for_key(raw) is None  # cached negatively
    monkeypatch.setattr(keys.secrets, "token_urlsafe", lambda n: "k" * 43)
    api_key_issue(company=company)
    assert tenant_for_key(raw).id == company.id


def test_bulk_created_services_and_keys_invalidate(redis_cache, company):
    catalog_cache.orderable_services(company.id)
    Service.objects.bulk_create([Service(company=company, name="Bulk", price=Decimal(1))])
    assert "Bulk" in {s.name for s in catalog_cache.orderable_services(company.id).services}
    raw = "wz_" + "b" * 43
    assert tenant_for_key(raw) is None
    ApiKey.objects.bulk_create([ApiKey(company=company, prefix=raw[:10], key_hash=hash_key(raw))])
    assert tenant_for_key(raw).id == company.id


# --- 3. the breaker's trial is released on any exception -----------------------------------------


def test_a_trial_that_raises_a_programming_error_does_not_stick_the_breaker(settings):
    guard = RedisGuard("trial-test")
    guard.breaker.record_failure()
    time.sleep(settings.WAZEN_CACHE_BREAKER_COOLDOWN + 0.05)

    def broken() -> None:
        raise TypeError("a bug in the trial call")

    with pytest.raises(TypeError):
        guard.run("get", broken)
    assert guard.breaker.allow() is True  # the next caller may try again
    guard.breaker.record_success()
    assert guard.breaker.state == "closed"


def test_a_wrongtype_trial_leaves_the_cache_usable(redis_cache, company, settings):
    snapshots = catalog_cache.snapshots()
    snapshots.guard.breaker.record_failure()
    time.sleep(settings.WAZEN_CACHE_BREAKER_COOLDOWN + 0.05)
    gen_key = snapshots.generation_key(company.id)
    redis_cache.cli("DEL", gen_key)
    redis_cache.cli("RPUSH", gen_key, "x")
    with pytest.raises(Exception, match="WRONGTYPE"):
        catalog_cache.orderable_services(company.id)
    redis_cache.cli("DEL", gen_key)
    catalog_cache.orderable_services(company.id)
    assert catalog_cache.orderable_services(company.id) is not None
    stats = catalog_cache.cache_stats()
    assert stats["breaker"] == "closed"
    assert stats["hits"] == 1


def test_breaker_states(settings):
    breaker = CircuitBreaker("states")
    breaker.record_failure()
    assert (breaker.state, breaker.allow()) == ("open", False)
    time.sleep(settings.WAZEN_CACHE_BREAKER_COOLDOWN + 0.05)
    assert breaker.state == "half-open"
    assert (breaker.allow(), breaker.allow()) == (True, False)
    breaker.release_trial()
    assert breaker.allow() is True


# --- 4. transactions: the bypass comes before any cache access ----------------------------------


def test_a_transaction_reads_its_own_writes_and_caches_nothing(redis_cache, company):
    catalog_cache.orderable_services(company.id)  # cached
    before = catalog_cache.cache_stats()
    with transaction.atomic():
        Service.objects.filter(company=company).update(price=Decimal(2))
        assert prices(company.id) == {"2.00"}
        assert catalog_cache.cache_stats()["hits"] == before["hits"]  # not even looked up
        transaction.set_rollback(True)
    assert prices(company.id) == {"100.00", "101.00", "102.00"}


def test_a_reader_inside_a_transaction_never_leads_others(redis_cache, company):
    """A thread inside a transaction must not become the single-flight leader for others: what
    it reads may include its own uncommitted rows (see the test above)."""
    loading, release = threading.Event(), threading.Event()
    real_load = catalog_cache.snapshots().load

    def slow_load(company_id):
        if threading.current_thread().name == "in-transaction":
            loading.set()
            assert release.wait(10)
        return real_load(company_id)

    catalog_cache.snapshots().load = slow_load
    seen = {}

    def writer() -> None:
        with transaction.atomic():
            seen["writer"] = catalog_cache.orderable_services(company.id)

    thread = in_thread(writer, name="in-transaction")
    assert loading.wait(10)
    seen["other"] = catalog_cache.orderable_services(company.id)  # must not wait for the writer
    release.set()
    thread.join(10)
    assert seen["writer"] == seen["other"]
    assert catalog_cache.cache_stats()["misses"] == 1  # only the other reader looked it up


# --- 5. refills: re-read after winning the lock; cold key lookups collapsed ----------------------


class _FillerFinishesFirst:
    """A store whose fill lock is won just after another process stored the entry."""

    def __init__(self, other: GenerationalCache, scope) -> None:
        self.real, self.other, self.scope = default_store(), other, scope

    def __getattr__(self, name):
        return getattr(self.real, name)

    def add(self, key, value, ttl):
        self.other.get(self.scope)  # the previous filler stores and releases its lock
        return self.real.add(key, value, ttl)


def test_the_lock_winner_rereads_before_querying(redis_cache, company, catalog_sql_counter):
    other = catalog_cache.build_catalog_cache()
    late = GenerationalCache(
        name="catalog",
        schema_version=other.schema_version,
        load=other.load,
        encode=other.encode,
        decode=other.decode,
        ttl=other.ttl,
        store=lambda: _FillerFinishesFirst(other, company.id),
    )
    assert late.get(company.id) == selectors.catalog_snapshot_from_db(company_id=company.id)
    assert catalog_sql_counter.count == 2  # the other filler's query and the check above
    assert late.stats()["misses"] == 1


@pytest.mark.slow
def test_cold_api_key_lookups_are_collapsed(redis_cache, company, api_key):
    from tests.conftest import SqlCounter

    counter = SqlCounter('FROM "catalog_apikey"')
    from django.db import connections
    from django.db.backends.signals import connection_created

    def install(sender, connection, **kwargs) -> None:
        connection.execute_wrappers.append(counter)

    connection_created.connect(install)
    try:
        barrier, results = threading.Barrier(32), []

        def resolve() -> None:
            barrier.wait()
            results.append(tenant_for_key(api_key))

        for worker in [in_thread(resolve) for _ in range(32)]:
            worker.join(30)
    finally:
        connection_created.disconnect(install)
        for conn in connections.all(initialized_only=True):
            if counter in conn.execute_wrappers:
                conn.execute_wrappers.remove(counter)
    assert len(results) == 32
    assert {t.id for t in results} == {company.id}
    assert counter.count == 1


# --- 6. each instance has its own name: logs, metrics, breaker -----------------------------------


def test_api_key_errors_are_filed_under_api_keys(redis_cache, company, api_key, caplog):
    catalog_cache.orderable_services(company.id)
    redis_cache.stop()
    with caplog.at_level(logging.WARNING, logger="wazen.cache"):
        assert tenant_for_key(api_key).id == company.id
    resolved, catalog = keys.resolutions().stats(), catalog_cache.cache_stats()
    assert (resolved["errors"], resolved["fallbacks"], resolved["breaker"]) == (1, 1, "open")
    assert (catalog["errors"], catalog["breaker"]) == (0, "closed")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1
    assert "Redis unavailable for 'api_keys'" in messages[0]
    assert caplog.records[0].name == "wazen.cache.api_keys"


def test_a_failed_invalidation_is_retried_and_bypasses_meanwhile(redis_cache, company):
    catalog_cache.orderable_services(company.id)
    redis_cache.stop()
    Service.objects.filter(company=company).update(price=Decimal(5))
    assert catalog_cache.cache_stats()["pending_invalidations"] == 1
    redis_cache.start()
    catalog_cache.snapshots().guard.breaker.record_success()
    assert prices(company.id) == {"5.00"}
    assert catalog_cache.cache_stats()["pending_invalidations"] == 0


def test_cache_unavailable_is_the_only_outage_signal(redis_cache):
    guard = RedisGuard("signal")
    redis_cache.stop()
    with pytest.raises(CacheUnavailable):
        guard.run("get", lambda: default_store().get("anything"))


# --- the hit path: key resolution and catalog in one round trip ---------------------------------


def test_key_and_catalog_hit_in_one_round_trip(redis_cache, company, api_key):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = catalog_cache.tenant_and_catalog(api_key)  # misses: fills both
    redis_cache.cli("CONFIG", "RESETSTAT")
    with CaptureQueriesContext(connection) as queries:
        again = catalog_cache.tenant_and_catalog(api_key)
    stats = redis_cache.cli("INFO", "commandstats")
    assert again == first
    assert again[0].id == company.id
    assert again[1] == selectors.catalog_snapshot_from_db(company_id=company.id)
    assert len(queries.captured_queries) == 0
    calls = {line.split(":")[0]: line for line in stats.splitlines() if line.startswith("cmdstat_")}
    assert set(calls) - {"cmdstat_config|resetstat"} == {"cmdstat_mget"}
    assert "calls=1," in calls["cmdstat_mget"]


def test_the_one_round_trip_path_still_sees_every_write(redis_cache, company, api_key):
    catalog_cache.tenant_and_catalog(api_key)
    Service.objects.filter(company=company).update(price=Decimal(3))
    assert {s.price for s in catalog_cache.tenant_and_catalog(api_key)[1].services} == {"3.00"}
    ApiKey.objects.filter(company=company).update(revoked_at=timezone.now())
    assert catalog_cache.tenant_and_catalog(api_key) == (None, None)
    assert catalog_cache.tenant_and_catalog("not-a-key") == (None, None)


def test_an_open_breaker_notices_recovery_without_traffic(redis_cache, company, settings):
    from prometheus_client import REGISTRY

    snapshots = catalog_cache.snapshots()
    redis_cache.stop()
    catalog_cache.orderable_services(company.id)  # opens the breaker
    assert snapshots.guard.breaker.state == "open"
    time.sleep(settings.WAZEN_CACHE_BREAKER_COOLDOWN * 2)
    assert snapshots.guard.breaker.state != "closed"  # re-probed, still down
    redis_cache.start()
    deadline = time.monotonic() + 5
    while snapshots.guard.breaker.state != "closed" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert snapshots.guard.breaker.state == "closed"  # no request was made meanwhile
    gauge = REGISTRY.get_sample_value("wazen_cache_available", {"cache": "catalog"})
    assert gauge == 1
