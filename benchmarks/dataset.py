"""Benchmark data, written through the project's own models and API-key service.

Companies come in named groups (the main set, one group per catalog size, the scale set); each
company has one API key, issued by `tenancy.keys.api_key_issue` like any real key.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

CATEGORIES = ("Accounting", "Tax", "HR", "Legal", "Assurance")


@dataclass(frozen=True)
class Tenant:
    id: int
    slug: str
    key: str


def seed_group(prefix: str, companies: int, services: int, start: int = 0) -> list[Tenant]:
    """`companies` companies named <prefix>-NNNN with `services` orderable services each."""
    from django.db import transaction

    from catalog.models import Service
    from tenancy.keys import api_key_issue
    from tenancy.models import Company

    tenants: list[Tenant] = []
    with transaction.atomic():
        created = Company.objects.bulk_create(
            Company(name=f"{prefix.title()} {n:04d} Ltd", slug=f"{prefix}-{n:04d}")
            for n in range(start, start + companies)
        )
        batch: list[Service] = []
        for company in created:
            batch.extend(
                Service(
                    company=company,
                    name=f"Service {i}",
                    # ~200 characters, like a real one-paragraph description
                    description=f"Service {i} of {company.name}: " + "scope and terms. " * 10,
                    price=Decimal(100 + i) + Decimal("0.50"),
                    currency="SAR",
                    category=CATEGORIES[i % len(CATEGORIES)],
                )
                for i in range(services)
            )
            if len(batch) >= 5000:
                Service.objects.bulk_create(batch)
                batch = []
        Service.objects.bulk_create(batch)
        for company in created:
            _, raw_key = api_key_issue(company=company, name="bench")
            tenants.append(Tenant(id=company.id, slug=company.slug, key=raw_key))
    return tenants


def close_connections() -> None:
    """The harness must hold no idle connection while the server under test is measured."""
    from django.db import connections

    connections.close_all()
