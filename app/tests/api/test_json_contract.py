"""The JSON error contract of every /api/ response the app produces, and the OpenAPI document
matching the validation exactly (both are derived from one declaration)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from api.body import MAX_JSON_DEPTH, json_depth
from assistant.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def chat(client, key, payload: bytes | str, **extra):
    return client.post(
        "/api/v1/chat", payload, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}", **extra,
    )  # fmt: skip


def error_code(response) -> str:
    assert response["Content-Type"] == "application/json"
    return response.json()["error"]["code"]


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ("[" * 1000 + "]" * 1000, 400, "too_deeply_nested"),  # before: RecursionError, 500
        ('{"message": "hi", "x": ' + "[" * 1000 + "]" * 1000 + "}", 400, "too_deeply_nested"),
        ('{"message": "\\ud800"}', 400, "invalid_unicode"),  # before: UnicodeEncodeError, 500
        ('{"message": "hi \\udfff there"}', 400, "invalid_unicode"),
        ('{"\\ud800": "hi"}', 400, "invalid_unicode"),
        ('{"message": "hi", "n": ' + "1" * 5000 + "}", 400, "malformed_json"),
        ('{"message": NaN}', 400, "invalid_message"),
    ],
)
def test_hostile_json_gets_a_json_400(client, api_key, payload, status, code):
    response = chat(client, api_key, payload)
    assert response.status_code == status
    assert error_code(response) == code
    assert Message.objects.count() == 0


def test_a_valid_surrogate_pair_and_brackets_inside_strings_are_fine(client, api_key):
    message = "\U0001f600 " + "[" * (MAX_JSON_DEPTH * 4)
    response = chat(client, api_key, json.dumps({"message": message}))  # ensure_ascii: a pair
    assert response.status_code == 200
    assert Message.objects.filter(content=message).exists()


def test_json_depth_ignores_strings_and_counts_nesting():
    assert json_depth(b'{"a": [1, {"b": "[[[{{{"}]}') == 3
    assert json_depth(b'{"a": "\\"[["}') == 1
    assert json_depth(b"1") == 0


def _chat_request_schema(client) -> dict:
    document = client.get("/api/v1/openapi.json").json()
    return document["components"]["schemas"]["ChatRequest"]


MESSAGES = [
    "hi",
    "\r",
    "\u0000",
    "hi\u0000",
    " ",
    "",
    "\v" + "x" * 3999,
    "\v" + "x" * 4000,  # before: accepted (checked after strip) though the schema says 4000
    "x" * 4000,
    "x" * 4001,
    "\U0001f600" * 4000,  # code points, not UTF-16 units or bytes
    "  padded  ",
]


@pytest.mark.parametrize("message", MESSAGES, ids=range(len(MESSAGES)))
def test_the_server_accepts_exactly_what_the_openapi_schema_accepts(client, api_key, message):
    schema = _chat_request_schema(client)
    body = {"message": message}
    schema_accepts = jsonschema.Draft202012Validator(schema).is_valid(body)
    response = chat(client, api_key, json.dumps(body))
    assert (response.status_code == 200) == schema_accepts, response.content[:200]
    if not schema_accepts:
        assert response.status_code in (400, 413)
        assert error_code(response)


def test_the_schema_limit_is_the_setting(client, api_key, settings):
    settings.WAZEN_MAX_MESSAGE_CHARS = 10
    assert _chat_request_schema(client)["properties"]["message"]["maxLength"] == 10
    assert chat(client, api_key, json.dumps({"message": "x" * 11})).status_code == 413


def test_a_disallowed_host_on_an_api_path_gets_json(client, api_key):
    response = client.get(
        "/api/v1/services", HTTP_HOST="evil.example", HTTP_AUTHORIZATION=f"Bearer {api_key}"
    )
    assert response.status_code == 400
    assert error_code(response) == "disallowed_host"


def test_a_disallowed_host_elsewhere_keeps_djangos_page(client):
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/api/v1/chat", "POST, OPTIONS"),
        ("/api/v1/services", "GET, HEAD, OPTIONS"),
        ("/api/v1/openapi.json", "GET, HEAD, OPTIONS"),
    ],
)
def test_options_answers_allow_without_a_body_or_a_key(client, path, allow):
    response = client.options(path)
    assert response.status_code == 204
    assert response["Allow"] == allow
    assert response.content == b""


def test_every_documented_status_of_chat_is_json(client, api_key):
    assert error_code(client.get("/api/v1/nothing")) == "not_found"
    assert error_code(client.put("/api/v1/chat")) == "method_not_allowed"
    assert error_code(chat(client, api_key, "x" * 60_000)) == "body_too_large"
    wrong_type = client.post(
        "/api/v1/chat", "m=1", content_type="text/plain", HTTP_AUTHORIZATION=f"Bearer {api_key}"
    )
    assert error_code(wrong_type) == "unsupported_media_type"
