"""Editing a service in the admin invalidates that company's cached catalog."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpRequest
from django.urls import reverse

from catalog import cache as catalog_cache
from catalog.models import Service
from tenancy.keys import tenant_for_key
from tenancy.models import Company

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff_client(client):
    User.objects.create_superuser("admin", "admin@example.com", "pw-for-tests-only")
    client.login(username="admin", password="pw-for-tests-only")
    return client


def test_admin_edit_invalidates(redis_cache, company, staff_client):
    assert {s.price for s in catalog_cache.orderable_services(company.id).services} != {"5.00"}
    service = Service.objects.get(company=company, name="Service 0")
    response = staff_client.post(
        f"/admin/catalog/service/{service.pk}/change/",
        {
            "company": company.pk,
            "name": "Service 0",
            "description": "changed",
            "price": "5.00",
            "currency": "SAR",
            "category": "General",
            "is_orderable": "on",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content[:500]
    entry = catalog_cache.orderable_services(company.id).get(service.pk)
    assert (entry.price, entry.description) == ("5.00", "changed")


def test_admin_bulk_action_invalidates(redis_cache, company, staff_client):
    assert len(catalog_cache.orderable_services(company.id).services) == 3
    ids = list(Service.objects.filter(company=company).values_list("pk", flat=True)[:2])
    response = staff_client.post(
        "/admin/catalog/service/",
        {"action": "make_unorderable", "_selected_action": ids},
    )
    assert response.status_code == 302
    assert len(catalog_cache.orderable_services(company.id).services) == 1


def test_admin_issue_key_action_shows_the_key_once_and_never_in_a_cookie(company, staff_client):
    changelist = reverse(f"admin:{Company._meta.app_label}_company_changelist")
    response = staff_client.post(
        changelist, {"action": "issue_api_key", "_selected_action": [company.pk]}
    )
    cookies = {name: morsel.value for name, morsel in response.cookies.items()}
    page = response if response.status_code == 200 else staff_client.get(response["Location"])
    raw_keys = set(re.findall(r"wz_[A-Za-z0-9_-]{20,}", _text(page)))
    assert len(raw_keys) == 1
    raw_key = raw_keys.pop()
    assert tenant_for_key(raw_key).id == company.id
    # Not in a cookie: Django's messages travel in one (signed and compressed, so decode it).
    messages = CookieStorage(HttpRequest())._decode(cookies.get("messages", "")) or []
    assert not [str(m) for m in messages if raw_key in str(m)]
    assert not [name for name, value in cookies.items() if raw_key in value]
    assert raw_key not in str(dict(staff_client.session.items()))
    assert "no-store" in page.headers.get("Cache-Control", "")
    assert "wz_" not in _text(staff_client.get(changelist))  # shown once


def _text(response) -> str:
    return response.content.decode()


def test_admin_edits_the_arabic_texts_right_to_left(redis_cache, company, staff_client):
    service = Service.objects.get(company=company, name="Service 0")
    page = staff_client.get(f"/admin/catalog/service/{service.pk}/change/").content.decode()
    assert 'name="name_ar"' in page
    assert page.count('dir="rtl"') == 2  # name_ar and description_ar
    catalog_cache.orderable_services(company.id)  # cached before the edit
    response = staff_client.post(
        f"/admin/catalog/service/{service.pk}/change/",
        {
            "company": company.pk,
            "name": "Service 0",
            "description": "English",
            "name_ar": "الخدمة صفر",
            "description_ar": "وصف عربي",
            "price": "100.00",
            "currency": "SAR",
            "category": "General",
            "is_orderable": "on",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content[:500]
    entry = catalog_cache.orderable_services(company.id).get(service.pk)
    assert (entry.name_ar, entry.description_ar) == ("الخدمة صفر", "وصف عربي")
    assert (entry.name_in("ar"), entry.name_in("en")) == ("الخدمة صفر", "Service 0")
