"""Reading a JSON request body without trusting it.

Bounded before parsing (declared and actual size), bounded in nesting (a 2 KB body of 1,000
brackets made json.loads raise RecursionError, a 500), refused when it holds text PostgreSQL cannot
store (a lone surrogate such as "\\ud800" made psycopg raise UnicodeEncodeError at save time).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from api.errors import ApiError

# Deep enough for any request the APIs define (the chat request is flat; an OpenAI-style
# messages array is 3 levels), shallow enough that parsing can never exhaust the stack.
MAX_JSON_DEPTH = 32
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def json_depth(body: bytes) -> int:
    """Deepest bracket nesting outside strings; linear and recursion-free."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRING.sub(b"", body)):
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "body_too_large", f"The body exceeds {limit} bytes.")


def read_body(request: HttpRequest, *, max_bytes: int | None = None) -> bytes:
    """The raw body, refused (413) over `max_bytes` (default WAZEN_MAX_BODY_BYTES) before and
    after reading it, whatever Content-Length claims."""
    limit = max_bytes or settings.WAZEN_MAX_BODY_BYTES
    content_type = request.content_type or ""
    if content_type and content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApiError(400, "invalid_content_length", "Content-Length is not a number.") from None
    if declared > limit:
        raise _too_large(limit)
    try:
        body = request.body
    except RequestDataTooBig:
        raise _too_large(limit) from None
    if len(body) > limit:
        raise _too_large(limit)
    return body


def read_json_object(request: HttpRequest, *, max_bytes: int | None = None) -> dict[str, Any]:
    """The body as a JSON object, or an ApiError that says what is wrong with it."""
    body = read_body(request, max_bytes=max_bytes)
    if not body.strip():
        raise ApiError(400, "empty_body", "The body is empty; send a JSON object.")
    if json_depth(body) > MAX_JSON_DEPTH:
        raise ApiError(
            400, "too_deeply_nested", f"The JSON nests deeper than {MAX_JSON_DEPTH} levels."
        )
    try:
        data = json.loads(body)
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, over-long integers
        raise ApiError(400, "malformed_json", f"The body is not valid JSON: {error}.") from None
    except RecursionError:  # unreachable after the depth check; kept as the last line of defence
        raise ApiError(400, "too_deeply_nested", "The JSON nests too deeply.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "The body must be a JSON object.")
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(
            400,
            "invalid_unicode",
            "The body holds an unpaired UTF-16 surrogate (e.g. \\ud800), which is not text.",
        ) from None
    return data
