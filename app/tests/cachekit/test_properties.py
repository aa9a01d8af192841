"""Stateful property test of the caches' consistency across processes, on real Redis and the
suite's database (SQLite, and PostgreSQL under WAZEN_TEST_DB=postgres).

The machine models two processes over one Redis and one database (tests/cachekit/processes.py):
two independent sets of the app's cache instances, each with its own local layer. Hypothesis
drives random sequences of writes through every write path of every cached entity (Service,
ApiKey, Company: save, delete, cascades, QuerySet.update/delete, bulk_create, bulk_update), each
through one process it picks (that process' instances run the after-commit invalidation),
interleaved with reads through both processes (`GET /api/v1/services`, `POST /api/v1/chat`,
`tenant_for_key`, `orderable_services`). The oracle is the database itself: after every rule,
every read through every process equals a fresh database read.

17 rules (`@rule`), and one invariant that reads everything through both processes:
- 14 writes (8 Service, 4 ApiKey, 2 Company), each through a process Hypothesis picks;
- `chat_reply_uses_the_current_catalog`: a chat reply through a process Hypothesis picks;
- `write_whose_bump_is_lost`: the writer cannot reach Redis for the bump; the durable record
  (cachekit/pending.py) must make every process bypass the scope after its next sweep;
- `write_while_the_other_process_reads` (PostgreSQL only): inside the writer's open transaction,
  the other process reads (and refills) from another thread, hence another database
  connection; after the commit both processes must read the new value. It needs real
  concurrent connections: on SQLite (one shared in-memory database) the reader would lock, so
  its precondition enables it only when `connection.vendor == "postgresql"`.

`make test` runs it derandomized with EXAMPLES examples of STEPS steps;
WAZEN_PROPERTY_EXAMPLES, WAZEN_PROPERTY_STEPS and WAZEN_PROPERTY_RANDOM=1 make it longer and
randomized (`make test-properties`, mk/properties.mk).

`test_the_property_test_catches[<mutant>]` applies one mutant of the caches' code at a time
(processes.MUTANTS) and requires the machine itself to fail with a stale read (`StaleRead`).

`test_every_process_reads_the_database_while_redis_refuses_writes` is the one scenario the
machine leaves out: a real read-only Redis, a lost bump and a lost retire ("*"), every process
sweeping; without `GenerationalCache.bypass` in the sweep it would serve a stale entry.
"""

from __future__ import annotations

import itertools
import os
import time
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import connection, models, transaction
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from assistant.providers import get_provider
from cachekit import pending
from catalog.models import Service
from catalog.selectors import catalog_snapshot_from_db
from tenancy.keys import api_key_issue, tenant_from_db
from tenancy.models import ApiKey, Company
from tests.cachekit.processes import (
    MUTANTS,
    Process,
    StaleRead,
    bumps_lost,
    check_reads,
    expect,
    read_in_thread,
)
from testsupport.servers import free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

EXAMPLES = int(os.environ.get("WAZEN_PROPERTY_EXAMPLES", "20"))
STEPS = int(os.environ.get("WAZEN_PROPERTY_STEPS", "15"))
RANDOM = os.environ.get("WAZEN_PROPERTY_RANDOM") == "1"
_serial = itertools.count()
price = st.decimals(min_value=0, max_value=999, places=2, allow_nan=False, allow_infinity=False)
PROCESS = st.integers(0, 1)  # which process a write or read goes through


class CacheConsistency(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.client = Client()
        self.concurrent = connection.vendor == "postgresql"
        self.processes = [Process("A"), Process("B")]
        self.companies: list[Company] = []
        self.keys: list[tuple[str, str]] = []  # (raw key, key hash)
        with self.processes[0].acting():
            for _ in range(2):
                n = next(_serial)
                company = Company.objects.create(name=f"Co {n}", slug=f"prop-{n}")
                for i in range(3):
                    Service.objects.create(
                        company=company, name=f"S{i}", price=Decimal(10 + i), category="General"
                    )
                api_key, raw = api_key_issue(company=company)
                self.companies.append(company)
                self.keys.append((raw, api_key.key_hash))
        # Hypothesis checks the invariant before the first step: it warms both processes, so
        # later writes must retire what each one holds.

    def teardown(self) -> None:
        for process in self.processes:
            process.close()

    # --- helpers ------------------------------------------------------------------------------

    def _company(self, index: int) -> Company:
        return Company.objects.get(pk=self.companies[index % 2].pk)

    def _service(self, index: int, pick: int) -> Service | None:
        services = list(Service.objects.filter(company=self._company(index)).order_by("pk"))
        return services[pick % len(services)] if services else None

    def check(self, process: Process) -> None:
        check_reads(process, self.client, self.keys, [company.pk for company in self.companies])

    # --- writes: Service, through the process w ------------------------------------------------

    @rule(w=PROCESS, c=st.integers(0, 1), pick=st.integers(0, 9), new_price=price)
    def service_save(self, w, c, pick, new_price):
        with self.processes[w].acting():
            if service := self._service(c, pick):
                service.price = new_price
                service.save()

    @rule(w=PROCESS, c=st.integers(0, 1), new_price=price, orderable=st.booleans())
    def service_queryset_update(self, w, c, new_price, orderable):
        with self.processes[w].acting():
            Service.objects.filter(company=self._company(c)).update(
                price=new_price, is_orderable=orderable
            )

    @rule(w=PROCESS, c=st.integers(0, 1), pick=st.integers(0, 9), active=st.booleans())
    def service_bulk_update(self, w, c, pick, active):
        with self.processes[w].acting():
            if service := self._service(c, pick):
                service.is_active = active
                Service.objects.bulk_update([service], ["is_active"])

    @rule(w=PROCESS, c=st.integers(0, 1), pick=st.integers(0, 9))
    def service_delete(self, w, c, pick):
        with self.processes[w].acting():
            if service := self._service(c, pick):
                service.delete()

    @rule(w=PROCESS, c=st.integers(0, 1))
    def service_queryset_delete(self, w, c):
        with self.processes[w].acting():
            Service.objects.filter(company=self._company(c), is_orderable=False).delete()

    @rule(w=PROCESS, c=st.integers(0, 1), new_price=price, bulk=st.booleans())
    def service_create(self, w, c, new_price, bulk):
        with self.processes[w].acting():
            new = Service(company=self._company(c), name=f"N{next(_serial)}", price=new_price)
            if bulk:
                Service.objects.bulk_create([new])
            else:
                new.save()

    @rule(w=PROCESS, c=st.integers(0, 1), pick=st.integers(0, 9))
    def service_moves_company(self, w, c, pick):
        with self.processes[w].acting():
            if service := self._service(c, pick):
                service.company = self._company(c + 1)
                service.name = f"M{next(_serial)}"
                service.save()

    @rule(w=PROCESS, c=st.integers(0, 1), new_price=price)
    def service_write_in_a_transaction(self, w, c, new_price):
        with self.processes[w].acting(), transaction.atomic():
            Service.objects.filter(company=self._company(c)).update(price=new_price)
            Service.objects.create(company=self._company(c), name=f"T{next(_serial)}", price=1)

    # --- writes: ApiKey -------------------------------------------------------------------------

    @rule(w=PROCESS, k=st.integers(0, 1), how=st.sampled_from(["save", "update", "bulk_update"]))
    def key_revoke(self, w, k, how):
        with self.processes[w].acting():
            queryset = ApiKey.objects.filter(key_hash=self.keys[k][1])
            if how == "update":
                queryset.update(revoked_at=timezone.now())
            elif key := queryset.first():
                key.revoked_at = timezone.now()
                if how == "save":
                    key.save()
                else:
                    ApiKey.objects.bulk_update([key], ["revoked_at"])

    @rule(w=PROCESS, k=st.integers(0, 1))
    def key_unrevoke_in_bulk(self, w, k):
        with self.processes[w].acting():
            ApiKey.objects.filter(key_hash=self.keys[k][1]).update(revoked_at=None)

    @rule(w=PROCESS, k=st.integers(0, 1), bulk=st.booleans())
    def key_delete(self, w, k, bulk):
        with self.processes[w].acting():
            queryset = ApiKey.objects.filter(key_hash=self.keys[k][1])
            if bulk:
                queryset.delete()
            elif key := queryset.first():
                key.delete()

    @rule(w=PROCESS, c=st.integers(0, 1))
    def key_issue(self, w, c):
        with self.processes[w].acting():
            api_key, raw = api_key_issue(company=self._company(c))
        self.keys.append((raw, api_key.key_hash))

    # --- writes: Company ------------------------------------------------------------------------

    @rule(
        w=PROCESS,
        c=st.integers(0, 1),
        active=st.booleans(),
        how=st.sampled_from(["save", "update", "bulk"]),
    )
    def company_activation(self, w, c, active, how):
        with self.processes[w].acting():
            company = self._company(c)
            company.is_active = active
            if how == "save":
                company.save()
            elif how == "update":
                Company.objects.filter(pk=company.pk).update(is_active=active)
            else:
                Company.objects.bulk_update([company], ["is_active"])

    @rule(w=PROCESS, c=st.integers(0, 1))
    def company_rename_in_bulk(self, w, c):
        with self.processes[w].acting():
            Company.objects.filter(pk=self.companies[c].pk).update(name=f"Renamed {next(_serial)}")

    # --- one write, then the other process in its way --------------------------------------------

    def _one_write(self, w, what, c, k, new_price):
        {
            "service_save": lambda: self.service_save(w, c, 0, new_price),
            "service_update": lambda: self.service_queryset_update(w, c, new_price, True),
            "key_revoke": lambda: self.key_revoke(w, k, "save"),
            "key_unrevoke": lambda: self.key_unrevoke_in_bulk(w, k),
            "company_rename": lambda: self.company_rename_in_bulk(w, c),
            "company_activation": lambda: self.company_activation(w, c, c == k, "update"),
        }[what]()

    ONE_WRITE = st.sampled_from(
        [
            "service_save",
            "service_update",
            "key_revoke",
            "key_unrevoke",
            "company_rename",
            "company_activation",
        ]
    )

    @rule(w=PROCESS, what=ONE_WRITE, c=st.integers(0, 1), k=st.integers(0, 1), new_price=price)
    def write_whose_bump_is_lost(self, w, what, c, k, new_price):
        """The writer's bump cannot reach Redis; every process sweeps, then must read fresh
        (the writer still cut off: no retry of its own can have repaired Redis meanwhile)."""
        writer, other = self.processes[w], self.processes[1 - w]
        with bumps_lost(writer):
            self._one_write(w, what, c, k, new_price)
            for process in (other, writer):
                with process.acting():
                    pending.sweep()
                self.check(process)

    @precondition(lambda self: self.concurrent)
    @rule(w=PROCESS, what=ONE_WRITE, c=st.integers(0, 1), k=st.integers(0, 1), new_price=price)
    def write_while_the_other_process_reads(self, w, what, c, k, new_price):
        writer, other = self.processes[w], self.processes[1 - w]
        company_ids = [company.pk for company in self.companies]
        with writer.acting(), transaction.atomic():
            self._one_write(w, what, c, k, new_price)
            read_in_thread(other, self.keys, company_ids)  # refills from committed rows
        for process in (other, writer):
            self.check(process)

    # --- reads ----------------------------------------------------------------------------------

    @invariant()
    def every_read_reflects_every_committed_write(self):
        for process in self.processes:
            self.check(process)

    @rule(p=PROCESS, k=st.integers(0, 9))
    def chat_reply_uses_the_current_catalog(self, p, k):
        raw, key_hash = self.keys[k % len(self.keys)]
        tenant = tenant_from_db(key_hash)
        message = "What services do you offer and what are the prices?"
        with self.processes[p].acting():
            response = self.client.post(
                "/api/v1/chat",
                data={"message": message},
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {raw}",
            )
        if tenant is None:
            expect(response.status_code, 401, f"{self.processes[p]}: chat with a dead key")
            return
        assert response.status_code in (200, 401), response.content
        if response.status_code == 401:
            raise StaleRead(f"{self.processes[p]}: chat refused a live key ({tenant})")
        expected = get_provider().reply(
            company_name=tenant.name,
            snapshot=catalog_snapshot_from_db(company_id=tenant.id),
            history=[],
            message=message,
        )
        if response.json()["reply"] != expected.text:
            raise StaleRead(f"{self.processes[p]}: chat reply from a stale catalog")


RUN_SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# The self-test always runs the default, derandomized machine (first bug found, no shrinking).
MUTANT_SETTINGS = settings(
    RUN_SETTINGS,
    max_examples=20,
    stateful_step_count=15,
    derandomize=True,
    phases=[Phase.generate],
    report_multiple_bugs=False,
)


def test_every_read_after_a_committed_write_reflects_it(redis_cache):
    run_state_machine_as_test(CacheConsistency, settings=RUN_SETTINGS)


# A premature (pre-commit) invalidation is caught only by the concurrent reader, which needs
# real concurrent connections: it runs in the PostgreSQL pass.
PG_ONLY = {"invalidate-before-commit": pytest.mark.postgres}


@pytest.mark.parametrize("mutant", [pytest.param(m, marks=PG_ONLY.get(m, ())) for m in MUTANTS])
def test_the_property_test_catches(mutant, redis_cache, monkeypatch):
    """Each mutant breaks one guarantee; the machine itself must find a stale read."""
    MUTANTS[mutant](monkeypatch)
    try:
        run_state_machine_as_test(CacheConsistency, settings=MUTANT_SETTINGS)
    except StaleRead as caught:
        print(f"mutant {mutant!r} caught: {str(caught).splitlines()[0]}")  # noqa: T201
        return
    pytest.fail(f"mutant {mutant!r} survived: the property test found no stale read")


def test_every_process_reads_the_database_while_redis_refuses_writes(redis_cache, make_company):
    """Redis refusing writes (a demoted primary after a failover, or maxmemory reached) is an
    outage like any other: no read may fail or be stale, in any process, after its next sweep.
    A real read-only Redis: REPLICAOF an address where nothing listens keeps the data, serves
    reads and refuses every write (SET, the bumps, UNLINK) with READONLY."""
    company = make_company(services=2)
    api_key, raw = api_key_issue(company=company)
    client, processes = Client(), [Process("A"), Process("B")]
    api_keys, company_ids = [(raw, api_key.key_hash)], [company.pk]
    for process in processes:
        check_reads(process, client, api_keys, company_ids)  # both hold the catalog and key
    redis_cache.cli("REPLICAOF", "127.0.0.1", str(free_port()))
    try:
        with processes[0].acting():
            Service.objects.filter(company=company).update(price=1)  # its bump is refused
            # A data migration: historical models write without invalidating; the retire that
            # follows `migrate` is refused too, and recorded for every scope ("*").
            models.QuerySet.update(Service.objects.filter(company=company), price=2)
            pending.retire_all()
        for process in reversed(processes):
            with process.acting():
                pending.sweep()
        # A request comes before the re-probe (a write round trip, refused: it would reopen the
        # breaker): its read is the half-open trial, which Redis serves, closing the breaker.
        for process in processes:
            process.close()
        time.sleep(django_settings.WAZEN_CACHE_BREAKER_COOLDOWN + 0.05)
        for process in processes:  # Redis still refuses writes, serves reads: no stale entry
            check_reads(process, client, api_keys, company_ids)
    finally:
        redis_cache.cli("REPLICAOF", "NO", "ONE")
        for process in processes:
            process.close()
    for process in processes:  # writable again: the next sweep retires, reads are cached again
        with process.acting():
            pending.sweep()
        check_reads(process, client, api_keys, company_ids)
    for process in processes:
        process.close()
