"""The reply pipeline: one catalog snapshot per reply, bounded queries, orders persisted, and
replies that survive both a Redis outage and a failing provider."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from assistant import services
from assistant.models import Message, Order
from assistant.providers import ProviderError, ProviderReply
from assistant.providers.catalog import CatalogProvider
from catalog import cache as catalog_cache
from catalog.models import Service

pytestmark = pytest.mark.django_db(transaction=True)


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_each_reply_reads_the_catalog_once(redis_cache, tenant, monkeypatch):
    reads = []
    real = catalog_cache.orderable_services
    monkeypatch.setattr(
        services.catalog_cache, "orderable_services", lambda cid: reads.append(cid) or real(cid)
    )
    first = services.reply_create(tenant=tenant, message="what services?", conversation_id=None)
    services.reply_create(
        tenant=tenant, message="tell me about service 2", conversation_id=first.conversation_id
    )
    assert reads == [tenant.id, tenant.id]


def test_a_cached_reply_costs_two_queries(redis_cache, tenant):
    services.reply_create(tenant=tenant, message="hello", conversation_id=None)  # warm cache
    before = sample("wazen_reply_db_queries_count")
    result = services.reply_create(tenant=tenant, message="what services?", conversation_id=None)
    # INSERT conversation + INSERT both messages; the catalog costs nothing on a hit.
    assert result.db_queries == 2
    assert sample("wazen_reply_db_queries_count") == before + 1


def test_order_is_persisted_with_the_quoted_price(redis_cache, tenant):
    proposed = services.reply_create(
        tenant=tenant, message="I'd like service 2", conversation_id=None
    )
    assert not Order.objects.exists()
    result = services.reply_create(
        tenant=tenant, message="yes", conversation_id=proposed.conversation_id
    )
    order = Order.objects.get()
    assert result.order is not None
    assert result.order.id == order.id
    assert (order.company_id, order.service.name, str(order.price)) == (
        tenant.id,
        "Service 2",
        "102.00",
    )
    assert f"#{order.id}" in result.reply


def test_an_unorderable_service_is_refused_even_if_the_snapshot_is_older(
    redis_cache, tenant, monkeypatch
):
    service = Service.objects.get(company_id=tenant.id, name="Service 1")
    snapshot = catalog_cache.orderable_services(tenant.id)
    Service.objects.filter(pk=service.pk).update(is_orderable=False)
    monkeypatch.setattr(services.catalog_cache, "orderable_services", lambda cid: snapshot)
    result = services.reply_create(tenant=tenant, message="order service 1", conversation_id=None)
    assert result.order is None
    assert "cannot be ordered" in result.reply
    assert Order.objects.count() == 0


def test_replies_stay_correct_while_redis_is_down(redis_cache, tenant):
    healthy = services.reply_create(
        tenant=tenant, message="how much is service 0", conversation_id=None
    )
    redis_cache.stop()
    fallbacks = sample("wazen_cache_fallbacks_total", cache="catalog")
    down = [
        services.reply_create(tenant=tenant, message="how much is service 0", conversation_id=None)
        for _ in range(5)
    ]
    assert {r.reply for r in down} == {healthy.reply}
    assert catalog_cache.cache_stats()["fallbacks"] == 5
    assert sample("wazen_cache_fallbacks_total", cache="catalog") == fallbacks + 5


class FailingProvider(CatalogProvider):
    name = "failing"

    def reply(self, **kwargs) -> ProviderReply:
        raise ProviderError("timeout", "upstream took too long")


def test_provider_failure_gets_an_apology_and_is_counted(redis_cache, tenant, monkeypatch):
    monkeypatch.setattr(services, "get_provider", FailingProvider)
    errors = sample("wazen_llm_errors_total", provider="failing", reason="timeout")
    result = services.reply_create(tenant=tenant, message="hello", conversation_id=None)
    assert result.reply == services.APOLOGY
    assert sample("wazen_llm_errors_total", provider="failing", reason="timeout") == errors + 1
    assert (
        sample("wazen_reply_duration_seconds_count", provider="failing", outcome="provider_error")
        >= 1
    )
    assert Message.objects.filter(content=services.APOLOGY).count() == 1


def test_a_reply_cut_off_after_a_proposal_leaves_nothing_to_confirm(tenant):
    """The proposal lives for one turn: a turn the client abandoned mid-stream ends it too, so a
    later "yes" cannot confirm a question the customer may never have seen answered."""
    proposed = services.reply_create(tenant=tenant, message="order service 1", conversation_id=None)
    assert proposed.proposal is not None
    turn = services.reply_start(
        tenant=tenant,
        message="tell me about service 2 and service 0",
        conversation_id=proposed.conversation_id,
    )
    stream = services.reply_stream(turn, stream=True)
    next(stream)
    stream.close()  # the client went away
    after = services.reply_create(
        tenant=tenant, message="yes", conversation_id=proposed.conversation_id
    )
    assert after.order is None
    assert not Order.objects.exists()


def test_a_price_change_between_proposal_and_yes_orders_nothing_and_proposes_again(tenant):
    proposed = services.reply_create(
        tenant=tenant, message="order service 1 for 2 users", conversation_id=None
    )
    assert (proposed.proposal.quantity, proposed.proposal.total) == (2, "202.00")
    Service.objects.filter(company_id=tenant.id, name="Service 1").update(price=150)
    again = services.reply_create(
        tenant=tenant, message="yes", conversation_id=proposed.conversation_id
    )
    assert again.order is None
    assert "has changed" in again.reply
    assert (again.proposal.unit_price, again.proposal.total) == ("150.00", "300.00")
    placed = services.reply_create(
        tenant=tenant, message="yes", conversation_id=proposed.conversation_id
    )
    order = Order.objects.get()
    assert (placed.order.id, order.quantity, str(order.price)) == (order.id, 2, "300.00")
