"""The error bodies of the JSON APIs, one decision for both shapes.

- `/api/…`: `{"error": {"code", "message"}}`, the project's own API since v1.
- `/v1/…` (the OpenAI-compatible API): OpenAI's `{"error": {"message", "type", "param", "code"}}`,
  so the official SDKs raise their usual exceptions (AuthenticationError, RateLimitError, …).

The shape follows the path, so every producer (views, Django's error handlers, the database-outage
middleware) answers a client in the shape its SDK expects.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

OPENAI_PREFIX = "/v1/"

# OpenAI's `type` per status; clients branch on the status, people read the type.
_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable_error",
}


def openai_error_type(status: int, code: str) -> str:
    if code == "quota_exceeded":
        return "insufficient_quota"  # OpenAI's type for a spent quota (a 429 too)
    return _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")


class ApiError(Exception):
    """Raised anywhere below a JsonApiView; becomes the error response of the request's API."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param
        self.headers = headers or {}

    def response(self, request: HttpRequest) -> JsonResponse:
        return error_response(
            request, self.status, self.code, self.message, param=self.param, headers=self.headers
        )


def is_openai_path(path: str) -> bool:
    return path.startswith(OPENAI_PREFIX)


def error_body(
    status: int, code: str, message: str, *, param: str | None = None, openai: bool = False
) -> dict:
    if openai:
        kind = openai_error_type(status, code)
        return {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return {"error": {"code": code, "message": message}}


def error_response(
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    *,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    """The error in the shape of the API the request's path belongs to."""
    body = error_body(status, code, message, param=param, openai=is_openai_path(request.path))
    response = JsonResponse(body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="wazen"'
    for name, value in (headers or {}).items():
        response[name] = value
    return response
