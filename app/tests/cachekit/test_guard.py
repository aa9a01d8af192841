"""Redis failures never fail a request: stopped, hung, or out of connections, the catalog comes
from the database, the failure is counted and logged once, and the breaker keeps the outage from
costing a timeout per request. Programming errors still surface."""

from __future__ import annotations

import logging
import time

import pytest
from redis._parsers.base import BaseParser as ResponseParser
from redis.exceptions import ResponseError

from cachekit.guard import is_outage
from cachekit.stores import redis_client
from catalog import cache as catalog_cache
from catalog import selectors
from catalog.models import Service

pytestmark = pytest.mark.django_db(transaction=True)


def test_redis_stopped_mid_test_falls_back_then_recovers(redis_cache, company, caplog, settings):
    expected = selectors.catalog_snapshot_from_db(company_id=company.id)
    assert catalog_cache.orderable_services(company.id) == expected  # miss, cached

    redis_cache.stop()
    with caplog.at_level(logging.WARNING, logger="wazen.cache.catalog"):
        during = [catalog_cache.orderable_services(company.id) for _ in range(20)]
    assert during == [expected] * 20
    stats = catalog_cache.cache_stats()
    assert stats["fallbacks"] == 20
    assert stats["errors"] == 1  # the breaker stopped further attempts
    assert stats["breaker"] == "open"
    assert len([r for r in caplog.records if "unavailable" in r.message]) == 1

    redis_cache.start()
    time.sleep(settings.WAZEN_CACHE_BREAKER_COOLDOWN + 0.1)
    assert catalog_cache.orderable_services(company.id) == expected  # trial call: a miss
    assert catalog_cache.orderable_services(company.id) == expected  # a hit again
    stats = catalog_cache.cache_stats()
    assert stats["breaker"] == "closed"
    assert stats["hits"] >= 1


def test_writes_during_an_outage_are_not_served_stale_after_recovery(
    redis_cache, company, settings
):
    catalog_cache.orderable_services(company.id)  # cached: prices 100..102
    redis_cache.cli("CLIENT", "PAUSE", "1500", "ALL")  # Redis hangs: invalidation will time out
    Service.objects.filter(company=company).update(price=7)
    assert catalog_cache.cache_stats()["pending_invalidations"] == 1
    time.sleep(1.6)  # Redis answers again, still holding the old snapshot and generation
    time.sleep(settings.WAZEN_CACHE_BREAKER_COOLDOWN)
    prices = {s.price for s in catalog_cache.orderable_services(company.id).services}
    assert prices == {"7.00"}
    assert catalog_cache.cache_stats()["pending_invalidations"] == 0
    assert {s.price for s in catalog_cache.orderable_services(company.id).services} == {"7.00"}


def test_a_hung_redis_costs_one_short_timeout_then_nothing(redis_cache, company):
    catalog_cache.orderable_services(company.id)
    redis_cache.cli("CLIENT", "PAUSE", "2000", "ALL")  # Redis stops answering for 2 s
    started = time.perf_counter()
    catalog_cache.orderable_services(company.id)
    first = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(10):
        catalog_cache.orderable_services(company.id)
    next_ten = time.perf_counter() - started
    assert 0.2 <= first < 1.0  # one socket timeout (0.25 s), not Redis' 2 s pause
    assert next_ten < 0.2  # breaker open: ten requests without touching Redis
    assert catalog_cache.cache_stats()["fallbacks"] == 11


def test_exhausted_connection_pool_falls_back(redis_cache, company, settings):
    # Database 1: one pool per URL, so this gets a new pool of one.
    settings.WAZEN_CACHE_MAX_CONNECTIONS = 1
    settings.REDIS_URL = redis_cache.url.replace("/0", "/1")
    pool = redis_client().connection_pool
    held = pool.get_connection()
    try:
        snapshot = catalog_cache.orderable_services(company.id)
    finally:
        pool.release(held)
    assert snapshot == selectors.catalog_snapshot_from_db(company_id=company.id)
    assert catalog_cache.cache_stats()["fallbacks"] == 1


def test_programming_errors_surface(redis_cache, company):
    # A value of the wrong Redis type is a bug (or a key collision), not an outage.
    redis_cache.cli("DEL", f"wazen:1:catalog:gen:{company.id}")
    redis_cache.cli("RPUSH", f"wazen:1:catalog:gen:{company.id}", "x")
    with pytest.raises(ResponseError, match="WRONGTYPE") as raised:
        catalog_cache.orderable_services(company.id)
    assert not is_outage(raised.value)
    assert catalog_cache.cache_stats()["errors"] == 0  # not counted as an outage either


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("READONLY", "You can't write against a read only replica."),
        ("OOM", "command not allowed when used memory > 'maxmemory'."),
        ("MASTERDOWN", "Link with MASTER is down and replica-serve-stale-data is set to 'no'."),
    ],
)
def test_refusals_redis_py_strips_of_their_code_are_outages(code, message):
    # redis-py 8 parses "READONLY You can't write …" into ReadOnlyError("You can't write …",
    # status_code="READONLY"): the code is no longer in the message.
    error = ResponseParser.parse_error(f"{code} {message}")
    assert str(error) == message
    assert is_outage(error)
    assert not is_outage(ResponseParser.parse_error("WRONGTYPE Operation against a key"))


def test_a_redis_restart_does_not_open_the_breaker(redis_cache, company):
    """Pooled connections that the restart closed are replaced before their next use, not
    counted as an outage that would send reads to the database (no retries are configured)."""
    catalog_cache.orderable_services(company.id)
    redis_cache.stop()
    redis_cache.start()
    for _ in range(3):
        catalog_cache.orderable_services(company.id)
    stats = catalog_cache.cache_stats()
    assert (stats["errors"], stats["fallbacks"], stats["breaker"]) == (0, 0, "closed")
