"""Helpers of the property test (test_properties.py): several processes over one Redis and one
database, the oracle's reads, and the mutants its self-test must catch.

A `Process` is one set of the app's cache instances (`registry.build`), each with its own local
layer, guard and pending set: another process' copy of the caches. `acting()` makes the registry
serve them, so a write's after-commit invalidation and every read go through that process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.test import Client
from redis.exceptions import ConnectionError as RedisConnectionError

from cachekit import pending, registry, writes
from cachekit.component import GenerationalCache
from cachekit.models import PendingInvalidation
from catalog import cache as catalog_cache
from catalog.selectors import catalog_snapshot_from_db
from tenancy import keys
from tenancy.keys import tenant_from_db


class StaleRead(AssertionError):
    """A read disagreed with the database it should reflect: the property is violated."""


class Process:
    """One process' copy of every cache of the app, over the shared Redis and database."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.instances = {n: registry.build(n) for n in (catalog_cache.CACHE_NAME, keys.CACHE_NAME)}

    def __repr__(self) -> str:
        return f"process {self.name}"

    @contextmanager
    def acting(self) -> Iterator[Process]:
        """The registry serves this process' instances (writes' invalidations, reads, sweeps)."""
        previous = registry.replace(self.instances)
        try:
            yield self
        finally:
            registry.replace(previous)

    def close(self) -> None:
        for instance in self.instances.values():
            instance.guard.cancel_reprobe()


class _BumpsFail:
    """A store whose generation bumps cannot reach Redis (everything else reaches it)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def bump_generations(self, keys: list[str]) -> None:
        raise RedisConnectionError("the property test cut this process off from Redis")


@contextmanager
def bumps_lost(process: Process) -> Iterator[None]:
    """While inside, every bump of this process fails like a partition from Redis."""
    saved = {name: instance.store for name, instance in process.instances.items()}
    for name, instance in process.instances.items():
        instance.store = lambda store=saved[name]: _BumpsFail(store())
    try:
        yield
    finally:
        for name, instance in process.instances.items():
            instance.store = saved[name]
            # Redis is reachable again and the process notices (closing its breaker), so the
            # writes of later steps bump as usual: each step's outcome does not hang on timing.
            instance.ping()


def expect(actual: Any, expected: Any, what: str) -> None:
    if actual != expected:
        raise StaleRead(f"stale read: {what}\n  served:   {actual!r}\n  database: {expected!r}")


def check_reads(
    process: Process, client: Client, api_keys: list[tuple[str, str]], company_ids: list[int]
) -> None:
    """Read every key and catalog through the process (HTTP API and direct) against the DB."""
    with process.acting():
        for raw, key_hash in api_keys:
            tenant = tenant_from_db(key_hash)
            expect(keys.tenant_for_key(raw), tenant, f"{process}: tenant_for_key({raw[:10]}…)")
            response = client.get("/api/v1/services", HTTP_AUTHORIZATION=f"Bearer {raw}")
            assert response.status_code in (200, 401), response.content  # not a stale read
            what = f"{process}: GET /api/v1/services with {raw[:10]}…"
            expect(response.status_code, 401 if tenant is None else 200, f"{what} (status)")
            if tenant is None:
                continue
            body = response.json()
            snapshot = catalog_snapshot_from_db(company_id=tenant.id)
            expect(body["company"], {"slug": tenant.slug, "name": tenant.name}, what)
            listing = [service.listing(body["language"]) for service in snapshot.services]
            expect(body["services"], listing, what)
        for company_id in company_ids:
            expect(
                catalog_cache.orderable_services(company_id),
                catalog_snapshot_from_db(company_id=company_id),
                f"{process}: orderable_services({company_id})",
            )


def read_in_thread(
    process: Process, api_keys: list[tuple[str, str]], company_ids: list[int]
) -> None:
    """Read through the process on another thread, so on another database connection (one that
    cannot see the caller's open transaction); each read must equal that connection's view."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for raw, key_hash in api_keys:
                expect(keys.tenant_for_key(raw), tenant_from_db(key_hash), f"{process}: key")
            for company_id in company_ids:
                expect(
                    catalog_cache.orderable_services(company_id),
                    catalog_snapshot_from_db(company_id=company_id),
                    f"{process}: concurrent orderable_services({company_id})",
                )
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()  # this thread's connections (PostgreSQL: test DB not busy)

    with process.acting():
        thread = threading.Thread(target=run, name=f"reader-{process.name}")
        thread.start()
        thread.join(30)
    assert not thread.is_alive(), "the concurrent reader hung (a lock?)"
    if errors:
        raise errors[0]


# --- mutants: each breaks one guarantee; the property test must find a stale read -------------


def trust_local_copy(monkeypatch) -> None:
    """The local layer answers on its own, without comparing Redis' generation."""
    original = GenerationalCache._read

    def read(self, scope):
        local = self._local.get(scope)
        return (local.generation, local.value, "hit") if local else original(self, scope)

    monkeypatch.setattr(GenerationalCache, "_read", read)


def skip_bulk_bump(monkeypatch) -> None:
    """QuerySet.update and bulk_update write without scheduling an invalidation."""
    queryset = writes.InvalidatingQuerySet
    monkeypatch.setattr(queryset, "update", lambda self, **kw: models.QuerySet.update(self, **kw))
    monkeypatch.setattr(
        queryset,
        "bulk_update",
        lambda self, objs, fields, *a, **kw: models.QuerySet.bulk_update(
            self, objs, fields, *a, **kw
        ),
    )


def invalidate_before_commit(monkeypatch) -> None:
    """after_commit bumps at once, inside the writer's transaction, not after its commit."""

    def after_commit(scopes, using: str = DEFAULT_DB_ALIAS) -> None:
        for name, named in scopes.items():
            if named := {scope for scope in named if scope is not None}:
                registry.cache(name).invalidate(*named)

    monkeypatch.setattr(writes, "after_commit", after_commit)


def sweep_ignores_records(monkeypatch) -> None:
    """The sweep counts the durable records but neither holds nor retries their scopes."""
    monkeypatch.setattr(
        pending, "sweep", lambda using="default": PendingInvalidation.objects.count()
    )


def drop_durable_record(monkeypatch) -> None:
    """A write's invalidation is not recorded in the database (only bumped after commit)."""
    monkeypatch.setattr(pending, "record", lambda scopes, using: {})


MUTANTS: dict[str, Callable[[Any], None]] = {
    "trust-local-copy": trust_local_copy,
    "skip-bulk-bump": skip_bulk_bump,
    "invalidate-before-commit": invalidate_before_commit,
    "sweep-ignores-records": sweep_ignores_records,
    "drop-durable-record": drop_durable_record,
}
