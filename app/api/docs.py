"""The API's document and its human-readable page, both generated from the views' declarations
(api/openapi.py): there is no hand-written description left to drift."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.generic import TemplateView

from api.openapi import REF, openapi_document
from api.views import JsonApiView


class OpenApiDocument(JsonApiView):
    requires_auth = False

    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(openapi_document(), json_dumps_params={"ensure_ascii": False})


def _schema_name(content: dict[str, Any]) -> str:
    ref = content.get("schema", {}).get("$ref", "")
    return ref.removeprefix(REF.format(model=""))


class ApiDocsPage(TemplateView):
    """/api/docs: every operation with its body, responses and the schemas they name."""

    template_name = "api/docs.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        document = openapi_document()
        operations = []
        for path, methods in document["paths"].items():
            for method, operation in methods.items():
                body = operation.get("requestBody", {}).get("content", {})
                operations.append(
                    {
                        "anchor": f"{method}-{path.strip('/').replace('/', '-')}",
                        "method": method.upper(),
                        "path": path,
                        "summary": operation["summary"],
                        "description": operation.get("description", ""),
                        "authenticated": operation.get("security") != [],
                        "request": _schema_name(body.get("application/json", {})),
                        "parameters": operation.get("parameters", []),
                        "responses": [
                            {
                                "status": status,
                                "description": response["description"],
                                "types": [
                                    (media, _schema_name(content))
                                    for media, content in response.get("content", {}).items()
                                ],
                            }
                            for status, response in operation["responses"].items()
                        ],
                    }
                )
        schemas = [
            (name, json.dumps(schema, indent=2, ensure_ascii=False))
            for name, schema in sorted(document["components"]["schemas"].items())
        ]
        return {
            **super().get_context_data(**kwargs),
            "info": document["info"],
            "operations": operations,
            "schemas": schemas,
        }
