"""Small reimplementations of the alternatives the project is measured against.

The unit of work is the project's: one company's orderable, active services as JSON. These views
take the company id from the URL and skip API-key authentication (the project must do it; the
seed's code did not), so the project carries that extra work in every comparison.
"""

from __future__ import annotations

import threading

from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, JsonResponse

from catalog.models import Service

FIELDS = ("id", "name", "description", "price", "currency", "category", "name_ar", "description_ar")
_static: dict[int, bytes] = {}
_static_lock = threading.Lock()


def services_from_db(company_id: int, using: str = "default") -> list[dict]:
    """The seed's catalog query: one SELECT, shaped as the project lists services in English
    (prices as exact decimal text, both languages' texts beside them)."""
    rows = Service.objects.using(using).filter(
        company_id=company_id, is_active=True, is_orderable=True
    )
    rows = rows.values(*FIELDS).order_by("category", "name")
    return [
        {
            "id": row["id"],
            "name": row["name"],
            "description": row["description"],
            "price": str(row["price"]),
            "currency": row["currency"],
            "category": row["category"],
            "names": {"en": row["name"], "ar": row["name_ar"]},
            "descriptions": {"en": row["description"], "ar": row["description_ar"]},
        }
        for row in rows
    ]


def bare(request: HttpRequest, company_id: int) -> HttpResponse:
    """The floor: pre-encoded bytes from process memory (built once per process and company)."""
    body = _static.get(company_id)
    if body is None:
        encoded = JsonResponse({"services": services_from_db(company_id)}).content
        with _static_lock:
            body = _static.setdefault(company_id, encoded)
    return HttpResponse(body, content_type="application/json")


def bare_redis(request: HttpRequest, company_id: int) -> HttpResponse:
    """The floor plus one Redis round trip of a few bytes: what any design pays that checks a
    shared store on every request (as the project's generation check does), and no more."""
    caches["seedfix"].client.get_client().get(f"bench:generation:{company_id}")
    return bare(request, company_id)


def before(request: HttpRequest, company_id: int) -> JsonResponse:
    """The seed's "before": the catalog queried five times per request (once per reply step)."""
    services: list[dict] = []
    for _ in range(5):
        services = services_from_db(company_id)
    return JsonResponse({"services": services})


def seedfix(request: HttpRequest, company_id: int) -> JsonResponse:
    """The seed's fix: cache.get, and on a miss query then cache.set, with django-redis + JSON."""
    cache = caches["seedfix"]
    key = f"services:{company_id}"
    services = cache.get(key)
    if services is None:
        services = services_from_db(company_id)
        cache.set(key, services)
    return JsonResponse({"services": services})


def cachalot(request: HttpRequest, company_id: int) -> JsonResponse:
    """django-cachalot: the same ORM query, answered from its Redis cache when it can."""
    return JsonResponse({"services": services_from_db(company_id, using="cachalot")})
