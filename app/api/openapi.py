"""The OpenAPI 3.1 document, generated from the views: each JsonApiView declares its operations
(request model, response model, streamed event model, the errors it adds), and this module walks
the URL configuration and turns them into paths, with the models' JSON Schemas as components.

The common errors are added here from what the view does, so no endpoint can forget one: every
operation can answer 405 and 503, an authenticated one 401 and 429, one with a body 400, 413, 415.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api.errors import is_openai_path
from api.schemas import Error, OpenAIError
from api.types import Request

REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Operation:
    summary: str
    description: str = ""
    request: type[BaseModel] | None = None  # the JSON body
    response: type[BaseModel] | None = None  # 200 application/json
    events: type[BaseModel] | None = None  # 200 text/event-stream: `data: <events>` frames
    response_headers: dict[str, str] = field(default_factory=dict)  # name → description
    parameters: tuple[dict[str, Any], ...] = ()
    errors: dict[int, str] = field(default_factory=dict)  # status → when


def _common_errors(operation: Operation, authenticated: bool) -> dict[int, str]:
    errors = {405: "Method not allowed (see the Allow header)."}
    if operation.request is not None:
        errors[400] = "The body is not a JSON object of the declared fields (see error.code)."
        errors[413] = "The body, or a text in it, is over its documented limit."
        errors[415] = "The body is not application/json."
    if authenticated:
        errors[401] = "Missing, malformed, unknown or revoked API key."
        errors[429] = (
            "Rate limit (per API key or company, per minute), daily reply quota reached, or "
            "too many failed authentications from this address (`auth_rate_limited`); retry "
            "after the Retry-After header's seconds."
        )
    errors[503] = "The database is unreachable; retry after the Retry-After header's seconds."
    return errors


def _openapi_path(route: str) -> str:
    """Django's `v1/models/<str:model>` → OpenAPI's `/v1/models/{model}`."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def documented_views() -> Iterator[tuple[str, type]]:
    """(OpenAPI path, view class) for every URL served by a view that declares operations."""

    def walk(patterns: list, prefix: str) -> Iterator[tuple[str, type]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "view_class", None)
                if getattr(view, "operations", None):
                    yield _openapi_path(prefix + str(pattern.pattern)), view

    yield from walk(get_resolver().url_patterns, "")


def _json(schema_name: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=schema_name)}}}


def _operation(path: str, operation: Operation, authenticated: bool) -> dict[str, Any]:
    error_schema = "OpenAIError" if is_openai_path(path) else "Error"
    ok: dict[str, Any] = {"description": "OK"}
    content: dict[str, Any] = {}
    if operation.response is not None:
        content.update(_json(operation.response.__name__))
    if operation.events is not None:
        content["text/event-stream"] = {
            "description": "Server-Sent Events: `data: <JSON>` frames of this schema, "
            "then `data: [DONE]`.",
            "schema": {"$ref": REF.format(model=operation.events.__name__)},
        }
    if content:
        ok["content"] = content
    if operation.response_headers:
        ok["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in operation.response_headers.items()
        }
    errors = {**_common_errors(operation, authenticated), **operation.errors}
    document: dict[str, Any] = {
        "summary": operation.summary,
        "responses": {
            "200": ok,
            **{
                str(status): {"description": text, "content": _json(error_schema)}
                for status, text in sorted(errors.items())
            },
        },
    }
    if operation.description:
        document["description"] = operation.description
    if operation.parameters:
        document["parameters"] = list(operation.parameters)
    if operation.request is not None:
        document["requestBody"] = {
            "required": True,
            "content": _json(operation.request.__name__),
        }
    if not authenticated:
        document["security"] = []
    return document


def _models(views: list[tuple[str, type]]) -> set[type[BaseModel]]:
    models: set[type[BaseModel]] = {Error, OpenAIError}
    for _, view in views:
        for operation in view.operations.values():
            models |= {m for m in (operation.request, operation.response, operation.events) if m}
    return models


def openapi_document() -> dict[str, Any]:
    views = sorted(documented_views(), key=lambda item: item[0])
    models = sorted(_models(views), key=lambda model: model.__name__)
    _, definitions = models_json_schema(
        [
            (model, "validation" if issubclass(model, Request) else "serialization")
            for model in models
        ],
        ref_template=REF,
    )
    paths: dict[str, Any] = {}
    for path, view in views:
        paths[path] = {
            method: _operation(path, operation, view.requires_auth)
            for method, operation in view.operations.items()
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Wazen AI assistant API",
            "version": "1",
            "description": "Chat with a company's assistant and read its orderable services: "
            "the project's own JSON API under /api/v1/, and an OpenAI-compatible API under /v1/ "
            "(the official OpenAI SDKs work with only the base URL and the key changed).",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A company API key (wz_…), issued in the admin.",
                }
            },
            "schemas": definitions.get("$defs", {}),
        },
    }
