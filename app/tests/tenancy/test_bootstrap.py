"""`manage.py bootstrap`: the chart's first-use Job (company, API key, admin), idempotent and
never printing a secret."""

from __future__ import annotations

import io
import secrets

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from tenancy.keys import tenant_for_key
from tenancy.models import ApiKey, Company

pytestmark = pytest.mark.django_db(transaction=True)

ARGS = ("bootstrap", "--company-slug", "acme", "--company-name", "Acme Ltd",
        "--admin-username", "root", "--admin-email", "ops@acme.example")  # fmt: skip


def run(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


@pytest.fixture
def secret_env(monkeypatch) -> tuple[str, str]:
    key = "wz_" + secrets.token_urlsafe(32)
    password = secrets.token_urlsafe(16)
    monkeypatch.setenv("WAZEN_BOOTSTRAP_API_KEY", key)
    monkeypatch.setenv("WAZEN_BOOTSTRAP_ADMIN_PASSWORD", password)
    return key, password


def test_bootstrap_creates_company_key_and_admin_once(secret_env) -> None:
    key, password = secret_env
    first = run(*ARGS)
    second = run(*ARGS)
    assert Company.objects.get(slug="acme").name == "Acme Ltd"
    assert tenant_for_key(key).slug == "acme"
    assert ApiKey.objects.filter(company__slug="acme").count() == 1
    admin = get_user_model().objects.get(username="root")
    assert admin.is_superuser
    assert admin.is_staff
    assert admin.check_password(password)
    for output in (first, second):
        assert key not in output
        assert key[3:13] not in output
        assert password not in output
    assert "created" in first
    assert "registered" in first
    assert "created" not in second
    assert "registered" not in second


def test_bootstrap_never_resets_a_changed_admin_password(secret_env) -> None:
    run(*ARGS)
    admin = get_user_model().objects.get(username="root")
    admin.set_password("changed-in-the-admin-later")
    admin.save()
    run(*ARGS)
    admin.refresh_from_db()
    assert admin.check_password("changed-in-the-admin-later")


def test_bootstrap_refuses_malformed_secrets(monkeypatch) -> None:
    monkeypatch.setenv("WAZEN_BOOTSTRAP_API_KEY", "not-a-key")
    with pytest.raises(CommandError, match="wz_"):
        run("bootstrap", "--company-slug", "acme")
    monkeypatch.setenv("WAZEN_BOOTSTRAP_API_KEY", "")
    monkeypatch.setenv("WAZEN_BOOTSTRAP_ADMIN_PASSWORD", "short")
    with pytest.raises(CommandError, match="admin password"):
        run("bootstrap", "--company-slug", "acme", "--admin-username", "root")
    assert not get_user_model().objects.filter(username="root").exists()
