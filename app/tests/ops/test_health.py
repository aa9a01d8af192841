"""Probes: liveness never depends on Redis or the database; readiness reports the cache and fails
on it only when configured to; startup waits for migrations; probe Host headers are accepted.

The probe paths are public (the Ingress routes every path to the HTTP port the kubelet probes):
their answers name the checks and say ok or failed, never an error text, an address or a count.
The failure itself is in the log (WARNING, with the exception) and on the metrics port
(wazen_cache_available, wazen_database_unavailable_total, wazen_migrations_pending)."""

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
    assert body == {"status": "ok", "checks": {"Database": "ok", "CatalogCache": "ok"}}
    status, body = probe(client, "/health/startup")
    assert status == 200
    assert body == {"status": "ok", "checks": {"Database": "ok", "Migrations": "ok"}}


def test_redis_down_is_reported_but_ready_by_default(redis_cache, client):
    redis_cache.stop()
    assert probe(client, "/health/live")[0] == 200
    status, body = probe(client, "/health/ready")
    assert status == 200
    assert body == {"status": "degraded", "checks": {"Database": "ok", "CatalogCache": "failed"}}


def test_redis_down_fails_readiness_when_critical(redis_cache, client, settings):
    settings.WAZEN_HEALTH_CACHE_CRITICAL = True
    redis_cache.stop()
    status, body = probe(client, "/health/ready")
    assert status == 503  # "not ready": what probes and load balancers expect, not a bug (500)
    assert body == {"status": "unavailable", "checks": {"Database": "ok", "CatalogCache": "failed"}}
    assert probe(client, "/health/live")[0] == 200
    redis_cache.start()
    assert probe(client, "/health/ready")[0] == 200  # the probe itself closes the breaker


def test_startup_fails_while_migrations_are_pending(client):
    call_command("migrate", "assistant", "zero", verbosity=0)
    try:
        status, body = probe(client, "/health/startup")
        assert status == 503
        assert body == {
            "status": "unavailable",
            "checks": {"Database": "ok", "Migrations": "failed"},
        }
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


# Internals a failing check knows: the Redis error text, its address, the cache's counters.
INTERNALS = (
    "Error 111",
    "Unavailable",
    "connect",
    "Connection",
    "6379",
    "127.0.0.1",
    "localhost",
    "hits",
)


@pytest.mark.parametrize("critical", [False, True], ids=["cache-not-critical", "cache-critical"])
@pytest.mark.parametrize(
    "accept", ["application/json", "text/plain", "text/html", "*/*"], ids=lambda a: a
)
def test_public_readiness_answer_carries_no_internals(
    redis_cache, client, settings, caplog, critical, accept
):
    """Every format of /health/ready with Redis down: check names and ok/failed only; the error
    text goes to the log (the cache's own warning; with a critical cache, the probe's too)."""
    settings.WAZEN_HEALTH_CACHE_CRITICAL = critical
    redis_cache.stop()
    response = client.get("/health/ready", HTTP_ACCEPT=accept)
    assert response.status_code == (503 if critical else 200)
    text = response.content.decode()
    assert "CatalogCache" in text
    leaked = [word for word in INTERNALS if word in text]
    assert not leaked, f"{leaked} in the public answer:\n{text[:2000]}"
    assert "Connection refused" in caplog.text  # the details are logged
