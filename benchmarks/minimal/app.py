"""The minimal project's views and URLs; `benchmarks.minimal.app:application` is its WSGI app.

- `/seedfix/<company>`: the seed's fix as its users write it: `cache.get`, and on a miss one
  query and `cache.set` (django-redis, JSON), the list returned with JsonResponse;
- `/bare/<company>`: the bare floor: bytes built once per process and company.
Both return the same document as the project's English listing of the company's services.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.minimal.settings")

from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

_QUERY = (
    "SELECT id, name, description, price::text, currency, category, name_ar, description_ar "
    "FROM catalog_service WHERE company_id = %s AND is_active AND is_orderable "
    "ORDER BY category, name"
)
_static: dict[int, bytes] = {}


def services_from_db(company_id: int) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(_QUERY, [company_id])
        rows = cursor.fetchall()
    return [
        {
            "id": id_,
            "name": name,
            "description": description,
            "price": price,
            "currency": currency,
            "category": category,
            "names": {"en": name, "ar": name_ar},
            "descriptions": {"en": description, "ar": description_ar},
        }
        for id_, name, description, price, currency, category, name_ar, description_ar in rows
    ]


def seedfix(request: HttpRequest, company_id: int) -> JsonResponse:
    key = f"services:{company_id}"
    services = cache.get(key)
    if services is None:
        services = services_from_db(company_id)
        cache.set(key, services)
    return JsonResponse({"services": services})


def bare(request: HttpRequest, company_id: int) -> HttpResponse:
    body = _static.get(company_id)
    if body is None:
        body = _static.setdefault(
            company_id, JsonResponse({"services": services_from_db(company_id)}).content
        )
    return HttpResponse(body, content_type="application/json")


urlpatterns = [
    path("seedfix/<int:company_id>", seedfix),
    path("bare/<int:company_id>", bare),
]
application = get_wsgi_application()
