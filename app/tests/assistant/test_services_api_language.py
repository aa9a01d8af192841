"""GET /api/v1/services in the reader's language: `lang` wins, then Accept-Language; both
languages' texts are always carried; an unsupported `lang` is a JSON 400."""

from __future__ import annotations

import json

import pytest

from catalog.models import Service

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def arabic_catalog(company):
    Service.objects.filter(company=company, name="Service 1").update(
        name_ar="الخدمة الأولى", description_ar="وصف الخدمة الأولى"
    )
    return company


def get(client, api_key, query="", **headers):
    return client.get(f"/api/v1/services{query}", HTTP_AUTHORIZATION=f"Bearer {api_key}", **headers)


@pytest.mark.parametrize(
    ("query", "accept", "language"),
    [
        ("", None, "en"),
        ("?lang=ar", None, "ar"),
        ("?lang=AR", None, "ar"),
        ("?lang=en", "ar", "en"),  # the parameter wins
        ("", "ar-SA,ar;q=0.9,en;q=0.8", "ar"),
        ("", "en-US,en;q=0.9,ar;q=0.8", "en"),
        ("", "fr-FR, ar;q=0.5", "ar"),  # the best supported entry
        ("", "ar;q=0.2, en;q=0.7", "en"),
        ("", "de", "en"),
        ("", "ar;q=bogus", "en"),
    ],
)
def test_language_is_picked_by_lang_then_accept_language(
    client, api_key, arabic_catalog, query, accept, language
):
    headers = {"HTTP_ACCEPT_LANGUAGE": accept} if accept else {}
    response = get(client, api_key, query, **headers)
    assert response.status_code == 200
    assert response["Content-Language"] == language
    assert "Accept-Language" in response["Vary"]
    body = response.json()
    assert body["language"] == language
    first, second = body["services"][:2]
    assert second["name"] == ("الخدمة الأولى" if language == "ar" else "Service 1")
    assert second["description"] == ("وصف الخدمة الأولى" if language == "ar" else "Description 1")
    # A service without Arabic texts shows its English ones to Arabic readers.
    assert first["name"] == "Service 0"
    assert second["names"] == {"en": "Service 1", "ar": "الخدمة الأولى"}
    assert second["descriptions"] == {"en": "Description 1", "ar": "وصف الخدمة الأولى"}
    assert first["names"] == {"en": "Service 0", "ar": ""}


@pytest.mark.parametrize("lang", ["fr", "", "xx-ar"])
def test_an_unsupported_lang_is_a_json_400(client, api_key, lang):
    response = get(client, api_key, f"?lang={lang}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "unsupported_language"


def test_both_languages_come_from_one_cached_snapshot(redis_cache, client, api_key, arabic_catalog):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    get(client, api_key)  # fills the key and catalog caches
    with CaptureQueriesContext(connection) as queries:
        assert get(client, api_key, "?lang=ar").json()["services"][1]["name"] == "الخدمة الأولى"
        assert get(client, api_key, "?lang=en").json()["services"][1]["name"] == "Service 1"
    assert len(queries) == 0


def test_chat_replies_say_their_language(client, api_key):
    def chat(message: str, conversation_id: str | None = None) -> dict:
        body = {"message": message}
        if conversation_id:
            body["conversation_id"] = conversation_id
        response = client.post(
            "/api/v1/chat", json.dumps(body), content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {api_key}",
        )  # fmt: skip
        assert response.status_code == 200
        return response.json()

    arabic = chat("ما هي الخدمات المتوفرة؟")
    assert arabic["language"] == "ar"
    assert "101.00 ريال" in arabic["reply"]
    assert chat("١٢", arabic["conversation_id"])["language"] == "ar"  # digits keep the language
    assert chat("What do you offer?", arabic["conversation_id"])["language"] == "en"
