"""The assistant's JSON API: thin views that validate, call one service, shape the output.

The plumbing (errors, base view, body reader, handlers) is the `api` package; every error is JSON
`{"error": {"code", "message"}}` with the right status, none is a 500.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers

from api.auth import accept, bearer_key
from api.body import read_json_object
from api.errors import ApiError
from api.views import JsonApiView
from assistant.contract import CHAT_REQUEST
from assistant.language import LANGUAGES, negotiate_language
from assistant.openapi import openapi_schema
from assistant.services import ConversationNotFound, reply_create
from catalog import cache as catalog_cache
from catalog.api_keys import Tenant


def parse_chat_request(data: dict) -> tuple[str, uuid.UUID | None]:
    """The message (surrounding whitespace trimmed for the assistant) and the conversation id."""
    values = CHAT_REQUEST.validate(data)
    return values["message"].strip(), values["conversation_id"]


class ChatApi(JsonApiView):
    charges_reply = True

    def post(self, request: HttpRequest) -> JsonResponse:
        message, conversation_id = parse_chat_request(read_json_object(request))
        try:
            result = reply_create(
                tenant=request.tenant, message=message, conversation_id=conversation_id
            )
        except ConversationNotFound:
            raise ApiError(
                404, "conversation_not_found", "No such conversation for this API key."
            ) from None
        body = {
            "reply": result.reply,
            "conversation_id": str(result.conversation_id),
            "language": result.language,  # "ar" replies render right to left
        }
        if result.order is not None:
            body["order"] = asdict(result.order)
        return JsonResponse(body)


def requested_language(request: HttpRequest) -> str:
    """`?lang=` or else Accept-Language picks the language lists are shown in."""
    try:
        return negotiate_language(
            requested=request.GET.get("lang"),
            accept_language=request.headers.get("Accept-Language", ""),
        )
    except ValueError:
        raise ApiError(
            400, "unsupported_language", f"'lang' must be one of: {', '.join(LANGUAGES)}."
        ) from None


class ServicesApi(JsonApiView):
    def authenticate(self, request: HttpRequest) -> Tenant:
        # The key's company and its catalog together: one Redis round trip on a hit.
        raw_key = bearer_key(request)
        tenant, request.snapshot = catalog_cache.tenant_and_catalog(raw_key)
        return accept(request, raw_key, tenant)

    def get(self, request: HttpRequest) -> HttpResponse:
        tenant, snapshot = request.tenant, request.snapshot
        language = requested_language(request)
        # The services array is encoded once per snapshot and language: a hit concatenates bytes.
        head = {"company": {"slug": tenant.slug, "name": tenant.name}, "language": language}
        body = json.dumps(head, ensure_ascii=False).encode()[:-1]
        body += b',"services":' + snapshot.listing_json(language) + b"}"
        response = HttpResponse(body, content_type="application/json")
        response["Content-Language"] = language
        patch_vary_headers(response, ["Accept-Language"])
        return response


class OpenApiSchema(JsonApiView):
    requires_auth = False

    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(openapi_schema())
