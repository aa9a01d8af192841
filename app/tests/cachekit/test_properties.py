"""Stateful property test of the caches' consistency, through the HTTP API, on real Redis and the
suite's database (SQLite, and PostgreSQL under WAZEN_TEST_DB=postgres).

Hypothesis drives random sequences of writes through every write path of every cached entity
(Service, ApiKey, Company: save, delete, cascades, QuerySet.update/delete, bulk_create,
bulk_update) interleaved with reads through `GET /api/v1/services`, `POST /api/v1/chat` and
authentication. The oracle is the database itself: after every committed write, every read that
starts later must equal what a fresh database read gives (prices, orderable flags, names, a key
revoked, a company deactivated or renamed).

`test_the_property_test_can_fail` disables one invalidation path and requires the machine to find
the stale read, so a green run means something.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from assistant.providers import get_provider
from cachekit import writes as invalidation
from catalog.models import Service
from catalog.selectors import catalog_snapshot_from_db
from tenancy.keys import api_key_issue, tenant_from_db
from tenancy.models import ApiKey, Company

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

EXAMPLES = 20
STEPS = 15
_serial = itertools.count()
price = st.decimals(min_value=0, max_value=999, places=2, allow_nan=False, allow_infinity=False)


class CacheConsistency(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.client = Client()
        self.companies: list[Company] = []
        self.keys: list[tuple[str, str]] = []  # (raw key, key hash)
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
        for raw, _ in self.keys:  # warm every cache: later writes must retire what is cached
            self._services(raw)

    # --- helpers ------------------------------------------------------------------------------

    def _services(self, raw_key: str):
        return self.client.get("/api/v1/services", HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    def _company(self, index: int) -> Company:
        return Company.objects.get(pk=self.companies[index % 2].pk)

    def _service(self, index: int, pick: int) -> Service | None:
        services = list(Service.objects.filter(company=self._company(index)).order_by("pk"))
        return services[pick % len(services)] if services else None

    # --- writes: Service ------------------------------------------------------------------------

    @rule(c=st.integers(0, 1), pick=st.integers(0, 9), new_price=price)
    def service_save(self, c, pick, new_price):
        service = self._service(c, pick)
        if service:
            service.price = new_price
            service.save()

    @rule(c=st.integers(0, 1), new_price=price, orderable=st.booleans())
    def service_queryset_update(self, c, new_price, orderable):
        Service.objects.filter(company=self._company(c)).update(
            price=new_price, is_orderable=orderable
        )

    @rule(c=st.integers(0, 1), pick=st.integers(0, 9), active=st.booleans())
    def service_bulk_update(self, c, pick, active):
        service = self._service(c, pick)
        if service:
            service.is_active = active
            Service.objects.bulk_update([service], ["is_active"])

    @rule(c=st.integers(0, 1), pick=st.integers(0, 9))
    def service_delete(self, c, pick):
        service = self._service(c, pick)
        if service:
            service.delete()

    @rule(c=st.integers(0, 1))
    def service_queryset_delete(self, c):
        Service.objects.filter(company=self._company(c), is_orderable=False).delete()

    @rule(c=st.integers(0, 1), new_price=price, bulk=st.booleans())
    def service_create(self, c, new_price, bulk):
        new = Service(company=self._company(c), name=f"N{next(_serial)}", price=new_price)
        if bulk:
            Service.objects.bulk_create([new])
        else:
            new.save()

    @rule(c=st.integers(0, 1), pick=st.integers(0, 9))
    def service_moves_company(self, c, pick):
        service = self._service(c, pick)
        if service:
            service.company = self._company(c + 1)
            service.name = f"M{next(_serial)}"
            service.save()

    @rule(c=st.integers(0, 1), new_price=price)
    def service_write_in_a_transaction(self, c, new_price):
        with transaction.atomic():
            Service.objects.filter(company=self._company(c)).update(price=new_price)
            Service.objects.create(company=self._company(c), name=f"T{next(_serial)}", price=1)

    # --- writes: ApiKey -------------------------------------------------------------------------

    @rule(k=st.integers(0, 1), how=st.sampled_from(["save", "update", "bulk_update"]))
    def key_revoke(self, k, how):
        queryset = ApiKey.objects.filter(key_hash=self.keys[k][1])
        if how == "update":
            queryset.update(revoked_at=timezone.now())
            return
        key = queryset.first()
        if key is None:
            return
        key.revoked_at = timezone.now()
        if how == "save":
            key.save()
        else:
            ApiKey.objects.bulk_update([key], ["revoked_at"])

    @rule(k=st.integers(0, 1))
    def key_unrevoke_in_bulk(self, k):
        ApiKey.objects.filter(key_hash=self.keys[k][1]).update(revoked_at=None)

    @rule(k=st.integers(0, 1), bulk=st.booleans())
    def key_delete(self, k, bulk):
        queryset = ApiKey.objects.filter(key_hash=self.keys[k][1])
        if bulk:
            queryset.delete()
        elif key := queryset.first():
            key.delete()

    @rule(c=st.integers(0, 1))
    def key_issue(self, c):
        api_key, raw = api_key_issue(company=self._company(c))
        self.keys.append((raw, api_key.key_hash))

    # --- writes: Company ------------------------------------------------------------------------

    @rule(
        c=st.integers(0, 1), active=st.booleans(), how=st.sampled_from(["save", "update", "bulk"])
    )
    def company_activation(self, c, active, how):
        company = self._company(c)
        company.is_active = active
        if how == "save":
            company.save()
        elif how == "update":
            Company.objects.filter(pk=company.pk).update(is_active=active)
        else:
            Company.objects.bulk_update([company], ["is_active"])

    @rule(c=st.integers(0, 1))
    def company_rename_in_bulk(self, c):
        Company.objects.filter(pk=self.companies[c].pk).update(name=f"Renamed {next(_serial)}")

    # --- reads ----------------------------------------------------------------------------------

    @invariant()
    def every_read_reflects_every_committed_write(self):
        for raw, key_hash in self.keys:
            tenant = tenant_from_db(key_hash)
            response = self._services(raw)
            if tenant is None:
                assert response.status_code == 401, (raw[:10], response.content)
                continue
            assert response.status_code == 200, response.content
            body = response.json()
            snapshot = catalog_snapshot_from_db(company_id=tenant.id)
            expected = [service.listing(body["language"]) for service in snapshot.services]
            assert body["company"] == {"slug": tenant.slug, "name": tenant.name}
            assert body["services"] == expected

    @rule(k=st.integers(0, 9))
    def chat_reply_uses_the_current_catalog(self, k):
        raw, key_hash = self.keys[k % len(self.keys)]
        tenant = tenant_from_db(key_hash)
        message = "What services do you offer and what are the prices?"
        response = self.client.post(
            "/api/v1/chat",
            data={"message": message},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw}",
        )
        if tenant is None:
            assert response.status_code == 401
            return
        assert response.status_code == 200, response.content
        expected = get_provider().reply(
            company_name=tenant.name,
            snapshot=catalog_snapshot_from_db(company_id=tenant.id),
            history=[],
            message=message,
        )
        assert response.json()["reply"] == expected.text


RUN_SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_every_read_after_a_committed_write_reflects_it(redis_cache):
    run_state_machine_as_test(CacheConsistency, settings=RUN_SETTINGS)


def test_the_property_test_can_fail(redis_cache, monkeypatch):
    """Without invalidation on QuerySet.update, the machine must find a stale read."""
    monkeypatch.setattr(
        invalidation.InvalidatingQuerySet,
        "update",
        lambda self, **kwargs: super(invalidation.InvalidatingQuerySet, self).update(**kwargs),
    )
    first_bug = settings(RUN_SETTINGS, phases=[Phase.generate], report_multiple_bugs=False)
    with pytest.raises(AssertionError):
        run_state_machine_as_test(CacheConsistency, settings=first_bug)
