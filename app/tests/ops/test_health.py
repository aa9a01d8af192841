"""Probes: liveness never depends on Redis or the database; readiness reports the cache and fails
on it only when configured to; startup waits for migrations; probe Host headers are accepted."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from prometheus_client import REGISTRY

pytestmark = pytest.mark.django_db(transaction=True)


def probe(client, path: str, **headers):
    response = client.get(path, **headers)
    return response.status_code, response.json()


def test_all_probes_pass_when_healthy(redis_cache, client):
    assert probe(client, "/health/live") == (200, {"status": "ok", "checks": {}})
    status, body = probe(client, "/health/ready")
    assert status == 200
    assert body["status"] == "ok"
    assert body["cache"]["state"] == "up"
    assert body["cache"]["stats"]["backend"] == "redis"
    assert set(body["cache"]["stats"]) >= {"hits", "misses", "errors", "fallbacks", "hit_ratio"}
    status, body = probe(client, "/health/startup")
    assert status == 200
    assert all(v == "OK" for v in body["checks"].values())


def test_redis_down_is_reported_but_ready_by_default(redis_cache, client):
    redis_cache.stop()
    assert probe(client, "/health/live")[0] == 200
    status, body = probe(client, "/health/ready")
    assert status == 200
    assert body["status"] == "degraded"
    assert body["cache"]["state"] == "down"
    assert body["cache"]["critical_for_readiness"] is False
    assert "Connection" in body["cache"]["detail"] or "connect" in body["cache"]["detail"]


def test_redis_down_fails_readiness_when_critical(redis_cache, client, settings):
    settings.WAZEN_HEALTH_CACHE_CRITICAL = True
    redis_cache.stop()
    status, body = probe(client, "/health/ready")
    assert status == 503
    assert body["status"] == "unavailable"
    assert "catalog cache unavailable" in body["checks"]["CatalogCache()"]
    assert probe(client, "/health/live")[0] == 200
    redis_cache.start()
    assert probe(client, "/health/ready")[0] == 200  # the probe itself closes the breaker


def test_startup_fails_while_migrations_are_pending(client):
    call_command("migrate", "assistant", "zero", verbosity=0)
    try:
        status, body = probe(client, "/health/startup")
        assert status == 503
        assert "migration(s) not applied" in body["checks"]["Migrations(alias='default')"]
        assert REGISTRY.get_sample_value("wazen_migrations_pending") >= 1
    finally:
        call_command("migrate", verbosity=0)
    assert probe(client, "/health/startup")[0] == 200
    assert REGISTRY.get_sample_value("wazen_migrations_pending") == 0


def test_probe_paths_accept_the_kubelets_pod_ip_host(client):
    assert client.get("/health/live", HTTP_HOST="10.244.1.17:8000").status_code == 200
    assert client.get("/health/ready", HTTP_HOST="10.244.1.17:8000").status_code == 200
    # Everything else still validates the Host header.
    assert client.get("/api/v1/services", HTTP_HOST="10.244.1.17:8000").status_code == 400


def test_html_view_for_browsers(client):
    response = client.get("/health/ready", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"<" in response.content
