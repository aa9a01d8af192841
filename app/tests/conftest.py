"""Fixtures that start real services: PostgreSQL when WAZEN_TEST_DB=postgres (the Makefile runs
the app suite once on SQLite, once on PostgreSQL); the session's redis-server (`redis_server`)
comes from testsupport.fixtures.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from decimal import Decimal

import dj_database_url
import pytest
from django.db.backends.signals import connection_created

from api import preauth, ratelimit
from assistant import providers
from cachekit import registry
from catalog.models import Service
from tenancy.keys import Tenant, api_key_issue
from tenancy.models import Company
from testsupport.chat_completions import ChatCompletionsServer
from testsupport.servers import PostgresServer, RedisServer


def pytest_collection_modifyitems(config, items) -> None:
    """`make test` runs the app suite twice, on SQLite then on PostgreSQL: a test marked
    `postgres` runs in the second pass only, one marked `once` in the first only. They are
    deselected in the other pass, not skipped: nothing they need is missing."""
    on_postgres = os.environ.get("WAZEN_TEST_DB") == "postgres"
    wrong_pass = "once" if on_postgres else "postgres"
    deselected = [item for item in items if item.get_closest_marker(wrong_pass)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker(wrong_pass)]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> Iterator[None]:
    if os.environ.get("WAZEN_TEST_DB") != "postgres":
        yield
        return
    from django.conf import settings
    from django.db import connections

    server = PostgresServer().start()
    database = settings.DATABASES["default"]  # updated in place: Django filled in defaults
    database.update(dj_database_url.parse(server.url, conn_max_age=0))
    database["ENGINE"] = "config.db_backends.postgresql"
    database["OPTIONS"] = {"connect_timeout": 5}
    database["TEST"]["NAME"] = None  # the SQLite in-memory test name must not carry over
    connections["default"].close()
    del connections["default"]  # the next access builds a PostgreSQL connection
    yield
    server.stop()


@pytest.fixture
def redis_cache(redis_server: RedisServer, settings) -> Iterator[RedisServer]:
    """Point the caches at the session's real redis-server, empty and healthy."""
    if redis_server.process is None:
        redis_server.start()
    settings.CACHE_BACKEND = "redis"
    settings.REDIS_URL = redis_server.url
    redis_server.cli("FLUSHALL")
    yield redis_server
    if redis_server.process is None:  # a test stopped it: bring it back for the next one
        redis_server.start()


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Every test starts like a fresh process: the registry's instances rebuilt (counters,
    breakers, local entries, flights, pending invalidations), an empty in-process store, and a
    fresh pre-auth state. At the end, the instances' pending re-probes are cancelled: fired
    during a later test, one would talk to that test's Redis."""
    registry.reset()
    preauth.reset()
    ratelimit.reset()
    yield
    registry.reset()
    ratelimit.reset()


@pytest.fixture
def make_company(db):
    counter = iter(range(1, 10_000))

    def make(*, services: int = 3, slug: str | None = None) -> Company:
        n = next(counter)
        company = Company.objects.create(name=f"Company {slug or n}", slug=slug or f"co-{n}")
        Service.objects.bulk_create(
            Service(
                company=company,
                name=f"Service {i}",
                description=f"Description {i}",
                price=Decimal("100.00") + i,
                category="General",
            )
            for i in range(services)
        )
        return company

    return make


@pytest.fixture
def company(make_company) -> Company:
    return make_company(services=3, slug="acme")


@pytest.fixture
def tenant(company: Company) -> Tenant:
    return Tenant(id=company.id, slug=company.slug, name=company.name)


@pytest.fixture
def api_key(company: Company) -> str:
    return api_key_issue(company=company)[1]


class SqlCounter:
    """Counts SQL statements on every connection, every thread (CaptureQueriesContext sees one)."""

    def __init__(self, needle: str) -> None:
        self.needle = needle
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, execute, sql, params, many, context):
        if self.needle in sql:
            with self._lock:
                self.count += 1
        return execute(sql, params, many, context)


@pytest.fixture
def catalog_sql_counter() -> Iterator[SqlCounter]:
    """Counts catalog reads (SELECTs on catalog_service) on connections opened from now on."""
    from django.db import connections

    counter = SqlCounter('FROM "catalog_service"')

    def install(sender, connection, **kwargs) -> None:
        connection.execute_wrappers.append(counter)

    connection_created.connect(install)
    for conn in connections.all(initialized_only=True):
        conn.execute_wrappers.append(counter)
    yield counter
    connection_created.disconnect(install)
    for conn in connections.all(initialized_only=True):
        if counter in conn.execute_wrappers:
            conn.execute_wrappers.remove(counter)


def in_thread(target, *, name: str | None = None) -> threading.Thread:
    """Start a thread that closes its own database connections when done (PostgreSQL would
    otherwise keep the test database busy at teardown)."""
    from django.db import connections

    def run() -> None:
        try:
            target()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


@pytest.fixture
def llm(settings) -> Iterator[ChatCompletionsServer]:
    """The openai provider, pointed at a local chat-completions server the test scripts."""
    with ChatCompletionsServer() as server:
        settings.LLM_PROVIDER = "openai"
        settings.OPENAI_BASE_URL = server.base_url
        settings.OPENAI_API_KEY = "sk-test"
        settings.OPENAI_MODEL = "test-model"
        settings.OPENAI_TIMEOUT = 5
        settings.OPENAI_MAX_RETRIES = 0
        providers._provider.cache_clear()
        yield server
        providers._provider.cache_clear()
