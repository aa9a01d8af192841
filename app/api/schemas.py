"""The error bodies of both APIs, as models (documented in OpenAPI; produced by api/errors.py)."""

from __future__ import annotations

from api.types import Response


class ErrorDetail(Response):
    code: str
    message: str


class Error(Response):
    """`/api/…` errors: a stable machine-readable `code` and a message for people."""

    error: ErrorDetail


class OpenAIErrorDetail(Response):
    message: str
    type: str
    param: str | None
    code: str


class OpenAIError(Response):
    """`/v1/…` errors, in OpenAI's shape; `code` holds the same codes as the /api/ errors."""

    error: OpenAIErrorDetail
