"""Issue 18: quotas charge only what is served; failed authentication is limited per client
address before it costs anything; a flood of bogus keys leaves (almost) nothing in Redis and
cannot evict the catalog or reset a limit, even in a small Redis.

Every test here fails on main: the quota was charged before the body was read, nothing limited
failed authentications (each logged a WARNING and left a 24 h Redis key), and the counters were
plain keys with a TTL that `allkeys-lru` (then the chart's policy) could evict.
"""

from __future__ import annotations

import json
import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY

from cachekit.stores import redis_client
from catalog import cache as catalog_cache
from testsupport.servers import RedisServer

pytestmark = pytest.mark.django_db(transaction=True)


def _auth_failures(outcome: str) -> float:
    return REGISTRY.get_sample_value("wazen_auth_failures_total", {"outcome": outcome}) or 0


def chat(client, key: str, body: object, **extra):
    payload = body if isinstance(body, str) else json.dumps(body)
    return client.post(
        "/api/v1/chat", payload, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}", **extra,
    )  # fmt: skip


def complete(client, key: str, body: dict, **extra):
    return client.post(
        "/v1/chat/completions", json.dumps(body), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}", **extra,
    )  # fmt: skip


# -- quotas charge only what is served ---------------------------------------------------------


def test_a_400_and_a_404_spend_no_reply_quota(redis_cache, client, api_key, settings):
    """The issue's repro: quota 2, a 400 then a 404; the first valid request must be served."""
    settings.WAZEN_QUOTA_KEY_REPLIES_PER_DAY = 2
    assert chat(client, api_key, {"message": ""}).status_code == 400
    missing = {"message": "hi", "conversation_id": "8c4ab7a0-0000-4000-8000-000000000000"}
    assert chat(client, api_key, missing).status_code == 404
    assert chat(client, api_key, "{not json").status_code == 400
    assert chat(client, api_key, {"message": "hi"}).status_code == 200
    assert chat(client, api_key, {"message": "hi"}).status_code == 200
    refused = chat(client, api_key, {"message": "hi"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "quota_exceeded"


def test_openai_refusals_spend_no_reply_quota_and_a_stream_is_charged(
    redis_cache, client, api_key, settings
):
    settings.WAZEN_QUOTA_KEY_REPLIES_PER_DAY = 1
    hello = [{"role": "user", "content": "hi"}]
    assert complete(client, api_key, {"model": "nope", "messages": hello}).status_code == 404
    assert complete(client, api_key, {"model": "acme", "messages": []}).status_code == 400
    bad_id = {"model": "acme", "messages": hello, "metadata": {"conversation_id": "x"}}
    assert complete(client, api_key, bad_id).status_code == 400
    streamed = complete(client, api_key, {"model": "acme", "messages": hello, "stream": True})
    assert streamed.status_code == 200
    b"".join(streamed.streaming_content)
    refused = complete(client, api_key, {"model": "acme", "messages": hello})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "quota_exceeded"


# -- before authentication ---------------------------------------------------------------------


def test_failed_authentication_is_limited_per_address(redis_cache, client, api_key, settings):
    settings.WAZEN_AUTH_FAILURES_PER_MINUTE_PER_IP = 3
    rejected, throttled = _auth_failures("rejected"), _auth_failures("throttled")
    bogus = [chat(client, f"wz_bogus-{n}", {"message": "hi"}) for n in range(3)]
    assert [r.status_code for r in bogus] == [401] * 3
    over = chat(client, "wz_bogus-4", {"message": "hi"})
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "auth_rate_limited"
    assert 1 <= int(over["Retry-After"]) <= 60
    openai_shape = complete(client, "wz_bogus-5", {"model": "acme", "messages": []})
    assert openai_shape.status_code == 429
    assert openai_shape.json()["error"]["type"]  # OpenAI's error shape under /v1/
    assert _auth_failures("rejected") == rejected + 3
    assert _auth_failures("throttled") == throttled + 2
    with CaptureQueriesContext(connection) as queries:  # the address now costs nothing
        assert chat(client, "wz_bogus-6", {"message": "hi"}).status_code == 429
        assert client.get("/api/v1/services").status_code == 429  # no key at all
    assert len(queries.captured_queries) == 0
    other = chat(client, "wz_bogus-7", {"message": "hi"}, REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 401  # another address is not affected


def test_a_known_key_still_works_from_a_blocked_address(redis_cache, client, api_key, settings):
    """Clients behind the same NAT as a flood keep working with a key this process knows."""
    settings.WAZEN_AUTH_FAILURES_PER_MINUTE_PER_IP = 1
    assert chat(client, api_key, {"message": "hi"}).status_code == 200
    assert chat(client, "wz_bogus", {"message": "hi"}).status_code == 401
    assert chat(client, "wz_bogus", {"message": "hi"}).status_code == 429
    assert chat(client, api_key, {"message": "hi"}).status_code == 200


def test_failed_authentication_is_logged_once_per_interval(redis_cache, client, settings, caplog):
    settings.WAZEN_CACHE_ERROR_LOG_INTERVAL = 60
    with caplog.at_level(logging.INFO):
        for n in range(20):
            assert chat(client, f"wz_bogus-{n}", {"message": "hi"}).status_code == 401
    assert [r for r in caplog.records if r.name == "django.request"] == []
    assert len([r for r in caplog.records if r.name == "wazen.auth"]) == 1


@pytest.fixture
def small_redis(tmp_path, settings):
    """A Redis of 4 MB with the chart's eviction policy."""
    server = RedisServer(
        tmp_path / "redis", extra_args=("--maxmemory", "4mb", "--maxmemory-policy", "volatile-lru")
    ).start()
    settings.CACHE_BACKEND = "redis"
    settings.REDIS_URL = server.url
    yield server
    server.stop()


def test_a_flood_of_bogus_keys_leaves_a_bounded_number_of_redis_keys(
    small_redis, client, company, api_key, settings
):
    settings.WAZEN_AUTH_FAILURES_PER_MINUTE_PER_IP = 5
    settings.WAZEN_RATE_LIMIT_KEY_PER_MINUTE = 1000
    for _ in range(3):
        assert (
            client.get("/api/v1/services", HTTP_AUTHORIZATION=f"Bearer {api_key}").status_code
            == 200
        )
    catalog_key = catalog_cache.snapshots().entry_key(company.id)
    before = set(small_redis.cli("--scan").split())
    assert catalog_key in before
    for n in range(1500):  # 100 addresses, 15 bogus keys each
        address = f"10.1.{n % 100 // 10}.{n % 10}"
        response = chat(client, f"wz_bogus-{n}", {"message": "hi"}, REMOTE_ADDR=address)
        assert response.status_code in (401, 429)
    after = set(small_redis.cli("--scan").split())
    # Only the failure counters' hash and its window pointer are new, whatever the flood.
    assert after - before <= {
        "wazen:ratelimit:auth_failures_per_ip:window",
        *(k for k in after if k.startswith("wazen:ratelimit:auth_failures_per_ip:")),
    }
    assert len(after - before) <= 3
    assert catalog_key in after
    assert int(small_redis.cli("INFO", "stats").split("evicted_keys:")[1].split()[0]) == 0
    window = small_redis.cli("GET", "wazen:ratelimit:key_per_minute:window")
    assert small_redis.cli("HLEN", f"wazen:ratelimit:key_per_minute:{window}") == "1"


def test_memory_pressure_evicts_cache_entries_never_the_limit_counters(
    small_redis, client, api_key, settings
):
    settings.WAZEN_RATE_LIMIT_KEY_PER_MINUTE = 1000
    settings.WAZEN_QUOTA_KEY_REPLIES_PER_DAY = 1000
    for _ in range(3):
        assert chat(client, api_key, {"message": "hi"}).status_code == 200
    counters = {
        k: small_redis.cli("HGETALL", k)
        for k in small_redis.cli("--scan", "--pattern", "wazen:ratelimit:*:[0-9]*").split()
    }
    assert len(counters) == 2
    for n in range(3000):  # 6 MB of cache entries into a 4 MB Redis
        redis_client().set(f"wazen:1:filler:{n}", "x" * 2000, ex=300)
    assert int(small_redis.cli("INFO", "stats").split("evicted_keys:")[1].split()[0]) > 0
    for key, value in counters.items():
        assert small_redis.cli("HGETALL", key) == value
    assert chat(client, api_key, {"message": "hi"}).status_code == 200  # still counting
