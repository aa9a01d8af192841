"""A database outage: JSON 503 with Retry-After for what needs the database, the cached catalog
keeps serving, one log line per interval instead of a traceback per request, a counter."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from django.db import OperationalError, connection
from prometheus_client import REGISTRY

from cachekit.guard import RateLimitedLog
from ops import database
from testsupport.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def _unavailable() -> float:
    return REGISTRY.get_sample_value("wazen_database_unavailable_total") or 0


def _chat(client, key):
    return client.post(
        "/api/v1/chat", json.dumps({"message": "hi"}), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )  # fmt: skip


@pytest.fixture
def unreachable_postgres() -> Iterator[None]:
    """The real thing: the connection points at a port where no PostgreSQL listens."""
    original = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(free_port())
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = original


@pytest.fixture
def failing_queries() -> Iterator[None]:
    """Every statement fails as a dropped connection does (both SQLite and PostgreSQL runs)."""

    def fail(execute, sql, params, many, context):
        raise OperationalError("server closed the connection unexpectedly")

    with connection.execute_wrapper(fail):
        yield


@pytest.fixture
def fresh_log(monkeypatch) -> None:
    monkeypatch.setattr(database, "_log", RateLimitedLog(logging.getLogger("ops.database")))


@pytest.mark.parametrize(
    "outage", [pytest.param("unreachable_postgres", marks=pytest.mark.postgres), "failing_queries"]
)
def test_chat_answers_json_503_and_logs_once_while_the_database_is_down(
    request, client, api_key, caplog, fresh_log, outage
):
    assert client.get("/api/v1/services", HTTP_AUTHORIZATION=f"Bearer {api_key}").status_code == 200
    before = _unavailable()
    request.getfixturevalue(outage)
    with caplog.at_level(logging.WARNING):
        responses = [_chat(client, api_key) for _ in range(20)]
        services = client.get("/api/v1/services", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    for response in responses:
        assert response.status_code == 503
        assert response["Retry-After"] == str(database.RETRY_AFTER_SECONDS)
        assert response.json()["error"]["code"] == "database_unavailable"
    assert services.status_code == 200  # the cached catalog and key need no database
    assert _unavailable() == before + 20
    outage_logs = [r for r in caplog.records if r.name == "ops.database"]
    assert len(outage_logs) == 1
    assert not [r for r in caplog.records if r.name == "django.request"]  # no tracebacks


@pytest.mark.postgres
def test_readiness_fails_while_postgres_is_unreachable(client, unreachable_postgres):
    assert client.get("/health/ready").status_code == 503


def test_a_non_api_page_gets_a_plain_503(rf, fresh_log):
    error = OperationalError("connection refused")
    response = database.DatabaseOutageMiddleware(lambda r: None).process_exception(
        rf.get("/admin/"), error
    )
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/plain")
    assert response["Retry-After"] == str(database.RETRY_AFTER_SECONDS)


def test_a_programming_error_is_still_a_500(client, api_key, fresh_log):
    from django.db import ProgrammingError

    def broken(execute, sql, params, many, context):
        raise ProgrammingError("column does not exist")

    client.raise_request_exception = False
    with connection.execute_wrapper(broken):
        response = _chat(client, api_key)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
