"""The PostgreSQL backend checks a reused connection's health only after it sat idle."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
]


@pytest.fixture(autouse=True)
def health_checks_on():
    """The suite's connections are not persistent; these tests need production's setting."""
    connection.close()
    saved = {k: connection.settings_dict[k] for k in ("CONN_HEALTH_CHECKS", "CONN_MAX_AGE")}
    connection.settings_dict.update(CONN_HEALTH_CHECKS=True, CONN_MAX_AGE=60)
    connection.ensure_connection()
    yield
    connection.close()
    connection.settings_dict.update(saved)


def new_request() -> None:
    connection.close_if_unusable_or_obsolete()  # what Django runs at request start and end


def test_health_check_runs_only_after_idle(settings, monkeypatch):
    checks = []
    real = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or real())
    settings.DATABASE_HEALTH_CHECK_AFTER_IDLE = 0.2
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert connection.health_check_enabled

    new_request()
    with connection.cursor() as cursor:  # used a moment ago: no extra statement
        cursor.execute("SELECT 2")
    assert checks == []

    time.sleep(0.25)
    new_request()
    with connection.cursor() as cursor:  # idle: checked first
        cursor.execute("SELECT 3")
    assert checks == [1]


def test_a_connection_killed_while_idle_is_replaced(settings):
    settings.DATABASE_HEALTH_CHECK_AFTER_IDLE = 0.1
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with psycopg.connect(**connection.get_connection_params()) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    time.sleep(0.15)
    new_request()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
