"""/metrics under gunicorn with two workers: multiprocess aggregation gives exact totals."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.ops.live_server import GunicornApp, metric_sum

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
