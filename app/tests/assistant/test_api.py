"""The JSON API: every bad input gets a clear JSON error, tenants never see each other's data,
and a cached GET /api/v1/services request costs no query at all."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assistant.models import Conversation, Message, Order
from catalog.models import Service
from tenancy.keys import api_key_issue

pytestmark = pytest.mark.django_db(transaction=True)


def auth(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def chat(client, key, body, **extra):
    payload = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(
        "/api/v1/chat", payload, content_type=extra.pop("content_type", "application/json"),
        **auth(key), **extra,
    )  # fmt: skip


def error_code(response) -> str:
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"]["message"]
    return body["error"]["code"]


def test_chat_round_trip_keeps_the_conversation(client, api_key):
    first = chat(client, api_key, {"message": "How much is service 1?"})
    assert first.status_code == 200
    body = first.json()
    assert "101.00 SAR" in body["reply"]
    proposed = chat(
        client, api_key, {"message": "order it", "conversation_id": body["conversation_id"]}
    )
    assert proposed.status_code == 200
    assert "order" not in proposed.json()  # nothing ordered before the customer confirms
    assert proposed.json()["proposal"] == {
        "service_id": Service.objects.get(name="Service 1", company__slug="acme").id,
        "service_name": "Service 1",
        "quantity": 1,
        "unit_price": "101.00",
        "total": "101.00",
        "currency": "SAR",
    }
    assert not Order.objects.exists()
    second = chat(client, api_key, {"message": "yes", "conversation_id": body["conversation_id"]})
    assert second.status_code == 200
    order = second.json()["order"]
    assert order["service_name"] == "Service 1"
    assert order["price"] == "101.00"
    assert (order["quantity"], order["unit_price"]) == (1, "101.00")
    assert second.json()["conversation_id"] == body["conversation_id"]
    assert Message.objects.filter(conversation_id=body["conversation_id"]).count() == 6
    assert Order.objects.get(pk=order["id"]).conversation_id == uuid.UUID(body["conversation_id"])


def test_services_lists_the_cached_catalog(client, api_key):
    response = client.get("/api/v1/services", **auth(api_key))
    assert response.status_code == 200
    body = response.json()
    assert body["company"] == {"slug": "acme", "name": "Company acme"}
    assert [s["name"] for s in body["services"]] == ["Service 0", "Service 1", "Service 2"]


def test_services_request_costs_one_query_on_a_miss_and_none_on_a_hit(redis_cache, client, api_key):
    client.get("/api/v1/services", **auth(api_key))  # resolves and caches the key
    Service.objects.filter(name="Service 0").update(price=1)  # catalog invalidated
    with CaptureQueriesContext(connection) as miss:
        assert client.get("/api/v1/services", **auth(api_key)).status_code == 200
    with CaptureQueriesContext(connection) as hit:
        assert client.get("/api/v1/services", **auth(api_key)).status_code == 200
    assert len(miss.captured_queries) == 1
    assert len(hit.captured_queries) == 0


def test_a_services_hit_is_one_redis_round_trip(redis_cache, client, api_key):
    client.get("/api/v1/services", **auth(api_key))  # fills the key resolution and the catalog
    redis_cache.cli("CONFIG", "RESETSTAT")
    for _ in range(10):
        assert client.get("/api/v1/services", **auth(api_key)).status_code == 200
    stats = redis_cache.cli("INFO", "commandstats").splitlines()
    calls = {
        line.split(":")[0].removeprefix("cmdstat_"): int(line.split("calls=")[1].split(",")[0])
        for line in stats
        if line.startswith("cmdstat_") and "config" not in line
    }
    assert calls == {"mget": 10}  # both generations in one MGET, nothing else


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "malformed_json"),
        (b"", 400, "empty_body"),
        (b"[1, 2]", 400, "invalid_body"),
        ({}, 400, "missing_message"),
        ({"message": ""}, 400, "empty_message"),
        ({"message": "   "}, 400, "empty_message"),
        ({"message": 42}, 400, "invalid_message"),
        ({"message": "hi\u0000"}, 400, "invalid_message"),
        ({"message": "hi", "conversationId": "x"}, 400, "unknown_fields"),
        ({"message": "hi", "conversation_id": "nope"}, 400, "invalid_conversation_id"),
        ({"message": "hi", "conversation_id": 7}, 400, "invalid_conversation_id"),
        ({"message": "x" * 4001}, 413, "message_too_long"),
        ({"message": "hi", "conversation_id": str(uuid.uuid4())}, 404, "conversation_not_found"),
        (b"\xff\xfe", 400, "malformed_json"),
    ],
)
def test_bad_chat_input_gets_a_clear_json_error(client, api_key, body, status, code):
    response = chat(client, api_key, body)
    assert response.status_code == status
    assert error_code(response) == code
    assert Message.objects.count() == 0  # nothing half-written


def test_oversized_body_is_413_before_it_is_read(client, api_key):
    response = chat(client, api_key, json.dumps({"message": "x" * 60_000}))
    assert response.status_code == 413
    assert error_code(response) == "body_too_large"


def test_non_json_content_type_is_415(client, api_key):
    response = chat(client, api_key, "message=hi", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert error_code(response) == "unsupported_media_type"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_api_key"),
        ({"HTTP_AUTHORIZATION": "Basic abc"}, "invalid_authorization"),
        ({"HTTP_AUTHORIZATION": "Bearer "}, "invalid_authorization"),
        ({"HTTP_AUTHORIZATION": "Bearer wz_unknown"}, "invalid_api_key"),
    ],
)
@pytest.mark.parametrize("endpoint", ["/api/v1/chat", "/api/v1/services"])
def test_missing_or_unknown_key_is_401(client, endpoint, headers, code):
    method = client.post if endpoint.endswith("chat") else client.get
    response = method(endpoint, **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert error_code(response) == code


@pytest.mark.parametrize(
    ("method", "endpoint"),
    [("get", "/api/v1/chat"), ("put", "/api/v1/chat"), ("delete", "/api/v1/services"),
     ("post", "/api/v1/services"), ("post", "/api/v1/openapi.json")],
)  # fmt: skip
def test_wrong_method_is_405_with_allow(client, api_key, method, endpoint):
    response = getattr(client, method)(endpoint, **auth(api_key))
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"
    assert response["Allow"]


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_tenants_are_isolated_on_every_endpoint(client, make_company):
    a, b = make_company(services=2, slug="alpha"), make_company(services=1, slug="beta")
    Service.objects.filter(company=b).update(name="Beta secret")
    key_a, key_b = api_key_issue(company=a)[1], api_key_issue(company=b)[1]

    services_a = client.get("/api/v1/services", **auth(key_a)).json()["services"]
    assert {s["name"] for s in services_a} == {"Service 0", "Service 1"}
    conversation_a = chat(client, key_a, {"message": "hello"}).json()["conversation_id"]

    # B cannot continue A's conversation, nor learn whether it exists.
    response = chat(client, key_b, {"message": "hi", "conversation_id": conversation_a})
    assert response.status_code == 404
    assert error_code(response) == "conversation_not_found"
    # B's assistant knows only B's catalog and cannot order A's services by name.
    reply = chat(client, key_b, {"message": "order service 0"}).json()
    assert "order" not in reply
    assert "Service 0" not in reply["reply"]
    assert "Beta secret" in reply["reply"]
    assert Order.objects.count() == 0
    assert Conversation.objects.get(pk=conversation_a).company_id == a.id


def test_openapi_schema_describes_the_api(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/api/v1/chat", "/api/v1/services",
        "/v1/chat/completions", "/v1/models", "/v1/models/{model}",
    }  # fmt: skip
    responses = schema["paths"]["/api/v1/chat"]["post"]["responses"]
    assert {"200", "400", "401", "404", "405", "413"} <= set(responses)


def test_chat_page_is_served_with_its_script(client):
    page = client.get("/")
    assert page.status_code == 200
    assert b"Wazen AI assistant" in page.content
    script = client.get("/static/assistant/chat.js")
    assert script.status_code == 200
    assert b"/v1/chat/completions" in b"".join(script.streaming_content)
    script.close()
    reader = client.get("/static/assistant/sse.js")
    assert reader.status_code == 200
    assert b"getReader" in b"".join(reader.streaming_content)
    reader.close()
