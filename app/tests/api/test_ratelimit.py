"""Rate limits and quotas in a real Redis: per API key and per company, per minute and per day,
atomic across concurrent callers (pods), 429 + Retry-After + JSON, counted, fail-open while Redis
is down."""

from __future__ import annotations

import datetime
import json
import logging
import threading

import pytest
from prometheus_client import REGISTRY

from api import ratelimit
from api.errors import ApiError
from cachekit.guard import RedisGuard
from tenancy.keys import api_key_issue, hash_key

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_guard(monkeypatch):
    fresh = RedisGuard("ratelimit", meanwhile="requests pass unchecked (fail open)")
    monkeypatch.setattr(ratelimit, "guard", fresh)


def _limited(company: str, limit: str) -> float:
    labels = {"company": company, "limit": limit}
    return REGISTRY.get_sample_value("wazen_rate_limited_requests_total", labels) or 0


def _fail_open() -> float:
    return REGISTRY.get_sample_value("wazen_rate_limit_fail_open_total") or 0


def services(client, key):
    return client.get("/api/v1/services", HTTP_AUTHORIZATION=f"Bearer {key}")


def chat(client, key):
    return client.post(
        "/api/v1/chat", json.dumps({"message": "hi"}), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )  # fmt: skip


def test_per_key_limit_answers_429_with_retry_after_and_counts(
    redis_cache, client, company, api_key, settings
):
    settings.WAZEN_RATE_LIMIT_KEY_PER_MINUTE = 3
    before = _limited("acme", "key_per_minute")
    assert [services(client, api_key).status_code for _ in range(3)] == [200] * 3
    refused = services(client, api_key)
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/json"
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 61
    assert _limited("acme", "key_per_minute") == before + 1
    other_key = api_key_issue(company=company, name="second")[1]
    assert services(client, other_key).status_code == 200  # the limit is per key


def test_per_company_limit_covers_all_its_keys_and_no_other_company(
    redis_cache, client, company, api_key, make_company, settings
):
    settings.WAZEN_RATE_LIMIT_COMPANY_PER_MINUTE = 4
    second = api_key_issue(company=company, name="second")[1]
    statuses = [services(client, key).status_code for key in (api_key, second) * 2]
    assert statuses == [200] * 4
    assert services(client, second).status_code == 429
    assert services(client, api_key).status_code == 429
    other = api_key_issue(company=make_company(slug="other"))[1]
    assert services(client, other).status_code == 200


def test_daily_reply_quota_applies_to_chat_only_and_resets_at_utc_midnight(
    redis_cache, client, api_key, settings
):
    settings.WAZEN_QUOTA_COMPANY_REPLIES_PER_DAY = 2
    assert [chat(client, api_key).status_code for _ in range(2)] == [200, 200]
    refused = chat(client, api_key)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "quota_exceeded"
    now = datetime.datetime.now(datetime.UTC)
    midnight = (now + datetime.timedelta(days=1)).replace(hour=0, minute=0, second=0)
    assert abs(int(refused["Retry-After"]) - (midnight - now).total_seconds()) <= 3
    assert services(client, api_key).status_code == 200  # reading the catalog costs no reply


def _used(redis_cache, limit: str, identity: str) -> int:
    window = redis_cache.cli("GET", f"wazen:ratelimit:{limit}:window")
    return int(redis_cache.cli("HGET", f"wazen:ratelimit:{limit}:{window}", identity) or 0)


def test_a_request_refused_per_minute_spends_no_reply(redis_cache, client, api_key, settings):
    settings.WAZEN_RATE_LIMIT_KEY_PER_MINUTE = 1
    settings.WAZEN_QUOTA_KEY_REPLIES_PER_DAY = 5
    assert chat(client, api_key).status_code == 200
    assert chat(client, api_key).status_code == 429
    identity = hash_key(api_key)[:32]
    assert _used(redis_cache, "key_per_minute", identity) == 1
    assert _used(redis_cache, "key_replies_per_day", identity) == 1


def test_concurrent_callers_never_overshoot(redis_cache, settings, tenant):
    """Twenty threads (as many pods would) race for ten slots: exactly ten get one."""
    settings.WAZEN_RATE_LIMIT_COMPANY_PER_MINUTE = 10
    outcomes: list[bool] = []
    barrier = threading.Barrier(20)

    def call(n: int) -> None:
        barrier.wait()
        try:
            ratelimit.enforce(tenant=tenant, key_hash=f"{n:032x}", charges_reply=False)
            outcomes.append(True)
        except ApiError:
            outcomes.append(False)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(True) == 10


def test_redis_down_fails_open_counted_and_logged_once(
    redis_cache, client, api_key, settings, caplog
):
    settings.WAZEN_RATE_LIMIT_KEY_PER_MINUTE = 1
    assert services(client, api_key).status_code == 200  # also caches the key resolution
    redis_cache.stop()
    before = _fail_open()
    with caplog.at_level(logging.WARNING, logger="wazen.cache.ratelimit"):
        statuses = [services(client, api_key).status_code for _ in range(5)]
    assert statuses == [200] * 5  # unchecked, not refused
    assert _fail_open() == before + 5
    assert len([r for r in caplog.records if r.name == "wazen.cache.ratelimit"]) == 1


def test_no_limit_configured_means_no_redis_call(redis_cache, client, api_key):
    for _ in range(5):
        assert services(client, api_key).status_code == 200
    assert redis_cache.cli("--scan", "--pattern", "wazen:ratelimit:*") == ""


def test_limits_are_ignored_without_redis(client, api_key, settings):
    settings.WAZEN_RATE_LIMIT_KEY_PER_MINUTE = 1
    assert [services(client, api_key).status_code for _ in range(3)] == [200] * 3


def test_tenant_identity_in_keys_is_not_the_raw_key(redis_cache, client, api_key, settings):
    settings.WAZEN_RATE_LIMIT_KEY_PER_MINUTE = 5
    services(client, api_key)
    keys = redis_cache.cli("--scan", "--pattern", "wazen:ratelimit:*")
    assert keys
    assert api_key not in keys
