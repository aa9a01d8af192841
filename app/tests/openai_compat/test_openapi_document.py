"""The OpenAPI document covers both APIs, and real responses of the running app (gunicorn)
match what it promises: success bodies, and the error bodies of each API's shape."""

from __future__ import annotations

import httpx
import pytest

from tests.openai_compat.conftest import Document

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def document(live_app) -> Document:
    app, _ = live_app
    return Document(httpx.get(app.url("/api/v1/openapi.json")).json())


def test_the_document_covers_both_apis_and_is_openapi_3_1(document):
    assert document.document["openapi"] == "3.1.0"
    assert set(document.document["paths"]) == {
        "/api/v1/chat", "/api/v1/services",
        "/v1/chat/completions", "/v1/models", "/v1/models/{model}",
    }  # fmt: skip
    completions = document.document["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert set(completions["200"]["content"]) == {"application/json", "text/event-stream"}
    assert {"400", "401", "404", "413", "415", "429", "503"} <= set(completions)


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("post", "/api/v1/chat", {"message": "How much is payroll?"}, 200),
        ("post", "/api/v1/chat", {"message": "order payroll"}, 200),  # a proposal
        ("get", "/api/v1/services", None, 200),
        ("post", "/api/v1/chat", {"message": ""}, 400),
        ("post", "/api/v1/chat", {"message": "hi", "conversation_id":
                                  "8c4ab7a0-0000-4000-8000-000000000000"}, 404),
        ("post", "/v1/chat/completions", {"model": "demo", "messages": [
            {"role": "user", "content": "How much is payroll?"}]}, 200),
        ("post", "/v1/chat/completions", {"model": "demo", "messages": [
            {"role": "user", "content": "order VAT filing"}]}, 200),  # a proposal
        ("get", "/v1/models", None, 200),
        ("get", "/v1/models/demo", None, 200),
        ("get", "/v1/models/other", None, 404),
        ("post", "/v1/chat/completions", {"model": "demo", "messages": []}, 400),
        ("post", "/v1/chat/completions", {"model": "demo"}, 400),
    ],
)  # fmt: skip
def test_real_responses_match_the_document(live_app, document, method, path, body, status):
    app, key = live_app
    response = httpx.request(
        method, app.url(path), json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == status, response.text
    template = "/v1/models/{model}" if path.startswith("/v1/models/") else path
    data = document.check(template, method, status, response.content)
    if "order" in str(body):  # proposed, not ordered: the customer has not confirmed yet
        assert (data.get("proposal") or data["metadata"]["proposal"])["quantity"] == 1
        assert "order" not in data
        assert "order" not in data.get("metadata", {})


@pytest.mark.parametrize(
    ("path", "headers", "status", "schema"),
    [
        ("/api/v1/services", {}, 401, "Error"),
        ("/v1/models", {}, 401, "OpenAIError"),
        ("/v1/models", {"Authorization": "Bearer wz_nope"}, 401, "OpenAIError"),
        ("/v1/nothing", {}, 404, "OpenAIError"),
        ("/api/v1/nothing", {}, 404, "Error"),
    ],
)
def test_each_api_answers_errors_in_its_own_shape(live_app, document, path, headers, status,
                                                   schema):  # fmt: skip
    app, _ = live_app
    response = httpx.get(app.url(path), headers=headers)
    assert response.status_code == status
    document.validate(schema, response.json())


def test_a_wrong_method_on_the_openai_api_is_an_openai_405(live_app, document):
    app, _ = live_app
    response = httpx.put(app.url("/v1/chat/completions"))
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST, OPTIONS"
    document.validate("OpenAIError", response.json())


def test_the_docs_page_lists_every_operation_and_schema(live_app, document):
    app, _ = live_app
    page = httpx.get(app.url("/api/docs"))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for path, methods in document.document["paths"].items():
        for method in methods:
            assert f"{method.upper()}</span><code>{path}</code>" in page.text
    for name in document.document["components"]["schemas"]:
        assert f'id="schema-{name}"' in page.text
