"""The JSON API: thin views that authenticate, validate, call one service, shape the output.

Every error is JSON `{"error": {"code", "message"}}` with the right status; none is a 500.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers
from django.utils.decorators import method_decorator
from django.views import View, defaults
from django.views.decorators.csrf import csrf_exempt

from assistant.language import LANGUAGES, negotiate_language
from assistant.openapi import openapi_schema
from assistant.services import ConversationNotFound, reply_create
from catalog import cache as catalog_cache
from catalog.api_keys import tenant_for_key

CHAT_FIELDS = {"message", "conversation_id"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> JsonResponse:
    response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="wazen"'
    return response


class JsonApiView(View):
    """Base view: JSON 405s, ApiError → JSON response, Bearer authentication when asked."""

    requires_auth = True

    @method_decorator(csrf_exempt)  # bearer tokens, no cookies: CSRF does not apply
    def dispatch(self, request: HttpRequest, *args, **kwargs):
        try:
            if request.method.lower() not in self.http_method_names or not hasattr(
                self, request.method.lower()
            ):
                return self.http_method_not_allowed(request)
            if self.requires_auth:
                request.tenant = authenticate(request)
            return super().dispatch(request, *args, **kwargs)
        except ApiError as error:
            return error_response(error.status, error.code, error.message)

    def http_method_not_allowed(self, request: HttpRequest, *args, **kwargs) -> JsonResponse:
        allowed = ", ".join(m.upper() for m in self._allowed_methods())
        response = error_response(
            405, "method_not_allowed", f"{request.method} is not allowed here; use {allowed}."
        )
        response["Allow"] = allowed
        return response


def authenticate(request: HttpRequest):
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise ApiError(
            401, "missing_api_key", "Send your API key as 'Authorization: Bearer <key>'."
        )
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401, "invalid_authorization", "Use the scheme 'Authorization: Bearer <key>'."
        )
    tenant = tenant_for_key(token.strip())
    if tenant is None:
        raise ApiError(401, "invalid_api_key", "The API key is unknown or revoked.")
    return tenant


def read_json_object(request: HttpRequest) -> dict:
    content_type = request.content_type or ""
    if content_type and content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApiError(400, "invalid_content_length", "Content-Length is not a number.") from None
    if declared > settings.WAZEN_MAX_BODY_BYTES:
        raise ApiError(
            413, "body_too_large", f"The body exceeds {settings.WAZEN_MAX_BODY_BYTES} bytes."
        )
    try:
        body = request.body
    except RequestDataTooBig:
        raise ApiError(413, "body_too_large", "The body is too large.") from None
    if len(body) > settings.WAZEN_MAX_BODY_BYTES:
        raise ApiError(
            413, "body_too_large", f"The body exceeds {settings.WAZEN_MAX_BODY_BYTES} bytes."
        )
    if not body.strip():
        raise ApiError(400, "empty_body", "The body is empty; send a JSON object.")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ApiError(400, "malformed_json", f"The body is not valid JSON: {error}.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "The body must be a JSON object.")
    return data


def parse_chat_request(data: dict) -> tuple[str, uuid.UUID | None]:
    unknown = sorted(set(data) - CHAT_FIELDS)
    if unknown:
        raise ApiError(400, "unknown_fields", f"Unknown field(s): {', '.join(unknown)}.")
    message = data.get("message")
    if message is None:
        raise ApiError(400, "missing_message", "The field 'message' is required.")
    if not isinstance(message, str):
        raise ApiError(400, "invalid_message", "The field 'message' must be a string.")
    message = message.strip()
    if not message:
        raise ApiError(400, "empty_message", "The field 'message' must not be empty.")
    if "\x00" in message:
        raise ApiError(400, "invalid_message", "The field 'message' must not contain NUL bytes.")
    if len(message) > settings.WAZEN_MAX_MESSAGE_CHARS:
        raise ApiError(
            413,
            "message_too_long",
            f"The message has {len(message)} characters; the limit is "
            f"{settings.WAZEN_MAX_MESSAGE_CHARS}.",
        )
    raw_id = data.get("conversation_id")
    if raw_id is None:
        return message, None
    if not isinstance(raw_id, str):
        raise ApiError(400, "invalid_conversation_id", "'conversation_id' must be a UUID string.")
    try:
        return message, uuid.UUID(raw_id)
    except ValueError:
        raise ApiError(
            400, "invalid_conversation_id", "'conversation_id' must be a UUID string."
        ) from None


class ChatApi(JsonApiView):
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
    def get(self, request: HttpRequest) -> HttpResponse:
        tenant = request.tenant
        language = requested_language(request)
        snapshot = catalog_cache.orderable_services(tenant.id)
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


def not_found(request: HttpRequest, exception: Exception | None = None):
    """handler404: API clients get JSON, browsers Django's page."""
    if request.path.startswith("/api/"):
        return error_response(404, "not_found", f"No API endpoint at {request.path}.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest):
    """handler500: never an HTML page for an API client."""
    if request.path.startswith("/api/"):
        return error_response(500, "internal_error", "Internal error; it has been logged.")
    return defaults.server_error(request)
