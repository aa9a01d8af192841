"""/metrics under gunicorn with two workers: multiprocess aggregation gives exact totals."""

from __future__ import annotations

import json
import urllib.request

import pytest

from testsupport.live_server import GunicornApp, metric_sum

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live_app(tmp_path_factory, redis_server):
    if redis_server.process is None:
        redis_server.start()
    app = GunicornApp(tmp_path_factory.mktemp("gunicorn"), redis_url=redis_server.url).start()
    yield app
    app.stop()


def get(url: str, key: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def test_counters_add_up_across_two_workers(live_app):
    key = live_app.seed_demo_key()
    requests = 60
    before = live_app.metrics()
    for _ in range(requests):
        assert get(live_app.url("/api/v1/services"), key) == 200
    after = live_app.metrics()

    name = "django_http_requests_total_by_view_transport_method_total"
    served = metric_sum(after, name, view="api-services") - metric_sum(
        before, name, view="api-services"
    )
    assert served == requests
    catalog = "wazen_cache_requests_total"
    lookups = metric_sum(after, catalog, cache="catalog") - metric_sum(
        before, catalog, cache="catalog"
    )
    assert lookups == requests
    assert metric_sum(after, catalog, cache="catalog", result="hit") >= requests - 2
    key_lookups = metric_sum(after, catalog, cache="api_keys") - metric_sum(
        before, catalog, cache="api_keys"
    )
    assert key_lookups == requests

    log = (live_app.directory / "gunicorn.log").read_text().splitlines()
    access = [json.loads(line) for line in log if '"gunicorn.access"' in line]
    pids = {entry["pid"] for entry in access if entry["path"] == "/api/v1/services"}
    assert len(pids) == 2, "both workers should have served requests"


def test_assistant_metrics_are_exported(live_app):
    text = live_app.metrics()
    for name in [
        "wazen_cache_requests_total",
        "wazen_cache_available",
        "django_http_requests_latency_seconds_by_view_method_bucket",
    ]:
        assert name in text


@pytest.mark.slow
def test_64_cold_requests_over_two_workers_cost_one_catalog_load(live_app, redis_server):
    """20 trials: retire the company's catalog and key resolution, then 64 concurrent requests.

    Counted by the app itself (`wazen_cache_loads_total`, summed over both workers).
    """
    import hashlib
    import secrets
    from concurrent.futures import ThreadPoolExecutor

    key = live_app.seed_demo_key()
    assert get(live_app.url("/api/v1/services"), key) == 200
    generations = redis_server.cli("KEYS", "wazen:1:catalog:gen:*").split()
    key_generation = f"wazen:1:api_keys:gen:{hashlib.sha256(key.encode()).hexdigest()}"
    loads = "wazen_cache_loads_total"
    results = []
    for _ in range(20):
        for gen_key in [*generations, key_generation]:
            redis_server.cli("SET", gen_key, str(secrets.randbits(62)))
        before = live_app.metrics()
        with ThreadPoolExecutor(64) as pool:
            statuses = list(
                pool.map(lambda _: get(live_app.url("/api/v1/services"), key), range(64))
            )
        after = live_app.metrics()
        catalog = metric_sum(after, loads, cache="catalog") - metric_sum(
            before, loads, cache="catalog"
        )
        keys = metric_sum(after, loads, cache="api_keys") - metric_sum(
            before, loads, cache="api_keys"
        )
        results.append((statuses.count(200), catalog, keys))
    assert results == [(64, 1.0, results[i][2]) for i in range(20)]
    assert all(keys <= 2 for _, _, keys in results)  # at most one per process
