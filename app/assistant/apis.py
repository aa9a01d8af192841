"""The assistant's JSON API (/api/v1/…): thin views that validate, call one service, shape the
output. Types: assistant/schemas.py; plumbing: the `api` package; every error is JSON
`{"error": {"code", "message"}}` with the right status, none is a 500.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from api import ratelimit
from api.auth import accept, bearer_key
from api.errors import ApiError
from api.openapi import Operation
from api.validation import read_request
from api.views import JsonApiView
from assistant.language import LANGUAGES, negotiate_language
from assistant.schemas import Catalog, ChatRequest, ChatResponse
from assistant.services import ConversationNotFound, reply_start, reply_whole
from catalog import cache as catalog_cache
from tenancy.keys import Tenant

CONVERSATION_NOT_FOUND = "Unknown conversation, or one another API key started."


class ChatApi(JsonApiView):
    charges_reply = True
    operations = {
        "post": Operation(
            summary="Send a customer message and get the assistant's reply",
            description="An order request is answered with a `proposal` (service, quantity, unit "
            "price, total, currency) and a question; send `yes` (or `نعم`, `confirm`) as the "
            "next message of the conversation to place it: the answer then carries the `order`. "
            "Any other message discards the proposal; a question about a service never orders. "
            "A conversation belongs to the API key that started it. The daily reply quota is "
            "charged only for an accepted request (not for a 400 or 404).",
            request=ChatRequest,
            response=ChatResponse,
            errors={404: CONVERSATION_NOT_FOUND},
        )
    }

    def post(self, request: HttpRequest) -> HttpResponse:
        chat = read_request(request, ChatRequest)
        request.in_flight.watch_client()
        try:
            turn = reply_start(
                tenant=request.tenant,
                message=chat.message.strip(),  # surrounding whitespace is not the customer's
                conversation_id=chat.conversation_id,
            )
        except ConversationNotFound:
            raise ApiError(
                404, "conversation_not_found", "No such conversation for this API key."
            ) from None
        ratelimit.charge_reply(request)  # accepted: only now does it spend a reply
        result = reply_whole(turn)
        body = ChatResponse(
            reply=result.reply,
            conversation_id=result.conversation_id,
            language=result.language,
            order=asdict(result.order) if result.order else None,
            proposal=asdict(result.proposal) if result.proposal else None,
        )
        return HttpResponse(
            body.model_dump_json(exclude_none=True), content_type="application/json"
        )


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
    operations = {
        "get": Operation(
            summary="The company's orderable services (cached catalog)",
            response=Catalog,
            parameters=(
                {
                    "name": "lang",
                    "in": "query",
                    "required": False,
                    "description": "Language of `name` and `description` (else Accept-Language "
                    "decides; English by default).",
                    "schema": {"type": "string", "enum": list(LANGUAGES)},
                },
                {
                    "name": "Accept-Language",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                },
            ),
            errors={400: "Unsupported `lang`."},
        )
    }

    def authenticate(self, request: HttpRequest) -> Tenant:
        # The key's company and its catalog together: one Redis round trip on a hit.
        raw_key = bearer_key(request)
        tenant, request.snapshot = catalog_cache.tenant_and_catalog(raw_key)
        return accept(request, raw_key, tenant)

    def get(self, request: HttpRequest) -> HttpResponse:
        tenant, snapshot = request.tenant, request.snapshot
        language = requested_language(request)
        # The hot path: the Catalog model documents this body, but the services array is encoded
        # once per snapshot and language, so a hit concatenates bytes instead of serialising.
        head = {"company": {"slug": tenant.slug, "name": tenant.name}, "language": language}
        body = json.dumps(head, ensure_ascii=False).encode()[:-1]
        body += b',"services":' + snapshot.listing_json(language) + b"}"
        response = HttpResponse(body, content_type="application/json")
        response["Content-Language"] = language
        patch_vary_headers(response, ["Accept-Language"])
        return response
