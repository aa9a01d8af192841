"""Invalidations that cannot be lost: a writer that could not reach Redis leaves a record that
every process honours (bypass) and retries, whichever process wrote; migrations retire too."""

from __future__ import annotations

from decimal import Decimal

import pytest
import redis
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from prometheus_client import REGISTRY
from redis.backoff import NoBackoff
from redis.retry import Retry

from cachekit import pending, registry
from cachekit.models import PendingInvalidation
from cachekit.stores import RedisStore
from catalog import cache as catalog_cache
from catalog.models import Service
from tenancy.keys import tenant_for_key
from testsupport.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def prices(company) -> set[str]:
    return {service.price for service in catalog_cache.orderable_services(company.id).services}


@pytest.fixture
def writer_without_redis():
    """Act as another process whose Redis is unreachable (a partition, a blip, a Job)."""
    client = redis.Redis(port=free_port(), socket_timeout=0.2, retry=Retry(NoBackoff(), 0))
    dead = RedisStore(client)
    instances = {}
    for instance in registry.caches():
        other = registry.build(instance.name)
        other.store = lambda: dead
        instances[instance.name] = other

    class Writer:
        def __enter__(self):
            self.previous = registry.replace(instances)

        def __exit__(self, *exc):
            registry.replace(self.previous)

    return Writer()


def test_a_write_that_lost_redis_is_bypassed_by_every_process_after_its_sweep(
    redis_cache, company, writer_without_redis
):
    assert prices(company) == {"100.00", "101.00", "102.00"}  # cached by this (reader) process
    PendingInvalidation.objects.all().delete()  # the fixtures' writes (before Redis was set)
    with writer_without_redis:
        Service.objects.filter(company=company).update(price=Decimal("9.00"))
    assert PendingInvalidation.objects.count() == 1  # the writer's record survived its failure
    assert pending.sweep() == 0  # the reader's sweep: held, bumped, record deleted
    assert prices(company) == {"9.00"}
    assert PendingInvalidation.objects.count() == 0
    assert REGISTRY.get_sample_value("wazen_cache_pending_invalidations", {"cache": "catalog"}) == 0


def test_a_sweep_that_cannot_bump_holds_the_scope_and_reports_it(
    redis_cache, company, writer_without_redis
):
    prices(company)
    PendingInvalidation.objects.all().delete()
    with writer_without_redis:
        Service.objects.filter(company=company).update(price=Decimal("9.00"))
    redis_cache.stop()  # Redis is gone for the readers too: the sweep cannot bump
    assert pending.sweep() == 1
    assert REGISTRY.get_sample_value("wazen_cache_pending_invalidations", {"cache": "catalog"}) == 1
    redis_cache.start()
    registry.cache("catalog").guard.breaker.record_success()
    assert prices(company) == {"9.00"}  # held: from the database, though Redis is back
    assert pending.sweep() == 0
    assert prices(company) == {"9.00"}


def test_while_redis_refuses_the_retry_every_process_bypasses_the_recorded_scope(
    redis_cache, company, make_company, writer_without_redis, settings
):
    other = make_company(services=1)
    prices(company), prices(other)
    with writer_without_redis:
        Service.objects.filter(company=company).update(price=Decimal("9.00"))
    registry.cache("catalog").bypass({str(company.id)})  # what a sweep does when it cannot bump
    for _ in range(3):
        assert prices(company) == {"9.00"}  # from the database, every time
    assert catalog_cache.cache_stats()["fallbacks"] == 3
    assert prices(other) == {"100.00"}  # other companies keep their cache


def test_the_record_is_written_in_the_writers_transaction(redis_cache, company):
    PendingInvalidation.objects.all().delete()  # the fixtures' writes (before Redis was set)
    with transaction.atomic():
        Service.objects.filter(company=company).update(price=Decimal("9.00"))
        assert PendingInvalidation.objects.count() == 1  # before commit
        transaction.set_rollback(True)
    assert PendingInvalidation.objects.count() == 0  # rolled back with the write
    Service.objects.filter(company=company).update(price=Decimal("8.00"))
    assert PendingInvalidation.objects.count() == 0  # committed and bumped: nothing left
    assert prices(company) == {"8.00"}


def test_a_writer_with_a_process_local_store_leaves_the_record_for_the_servers(company, settings):
    settings.CACHE_BACKEND = "locmem"  # a command run without REDIS_URL
    PendingInvalidation.objects.all().delete()
    Service.objects.filter(company=company).update(price=Decimal("9.00"))
    assert set(PendingInvalidation.objects.values_list("cache", "scope")) == {
        ("catalog", str(company.id))
    }


def test_a_data_migration_is_never_served_stale(redis_cache, company, api_key):
    assert prices(company) == {"100.00", "101.00", "102.00"}
    assert tenant_for_key(api_key) is not None
    # What a data migration does: write through historical models (no signals, plain manager).
    historical = MigrationExecutor(connection).loader.project_state().apps
    historical.get_model("catalog", "Service").objects.update(price=Decimal("3.00"))
    historical.get_model("tenancy", "Company").objects.update(is_active=False)
    assert prices(company) != {"3.00"}  # unseen until migrate finishes
    plan = [(MigrationExecutor(connection).loader.graph.leaf_nodes()[0], False)]
    emit_post_migrate_signal(0, False, "default", plan=plan)
    assert prices(company) == {"3.00"}
    assert tenant_for_key(api_key) is None


def test_a_migrate_that_applied_nothing_keeps_the_cache(redis_cache, company, catalog_sql_counter):
    prices(company)
    catalog_sql_counter.count = 0
    emit_post_migrate_signal(0, False, "default", plan=[])
    prices(company)
    assert catalog_sql_counter.count == 0
