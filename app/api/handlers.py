"""Django's error handlers (config/urls.py): JSON under the API prefixes, Django's pages elsewhere.

Django calls these for errors raised before or outside any JsonApiView: an unknown path (404), a
disallowed Host header (DisallowedHost → 400), a CSRF or permission failure (403), a bug (500).
"""

from __future__ import annotations

from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views import defaults

from api.errors import OPENAI_PREFIX, error_response

# Paths whose every response is JSON. An API added under another prefix adds it here.
API_PREFIXES = ("/api/", OPENAI_PREFIX)


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """SuspiciousOperation raised outside a view, e.g. a Host header not in ALLOWED_HOSTS."""
    if not is_api_path(request.path):
        return defaults.bad_request(request, exception)
    if isinstance(exception, DisallowedHost):
        return error_response(
            request, 400, "disallowed_host", "The Host header is not served here."
        )
    if isinstance(exception, RequestDataTooBig):
        return error_response(request, 413, "body_too_large", "The body is too large.")
    return error_response(request, 400, "bad_request", "The request was refused as malformed.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return error_response(request, 403, "forbidden", "This request is not allowed.")
    return defaults.permission_denied(request, exception)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return error_response(request, 404, "not_found", f"No API endpoint at {request.path}.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api_path(request.path):
        return error_response(request, 500, "internal_error", "Internal error; it has been logged.")
    return defaults.server_error(request)
