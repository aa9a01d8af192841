"""Request and response types are pydantic models, declared once: the views validate with them,
and the OpenAPI document (api/openapi.py) and the docs page are generated from them.

Why pydantic rather than an API framework (django-ninja): the endpoints keep this project's own
plumbing, which the framework would replace or fight: the hostile-JSON reader (api/body.py), one
error contract with documented codes per field, the rate limits in the base view, and streamed
(SSE) responses. pydantic is already installed (the openai SDK is built on it), and it is the
library those frameworks use underneath, so the models and their JSON Schema are the standard ones.

This module holds the field types the models share: they validate and describe themselves from
one definition, so the document can never promise what the server refuses, or the reverse.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

NOT_BLANK = r"\S"  # at least one character that is not whitespace (same in Python and ECMA-262)
NO_NUL = r"\u0000"  # forbidden: PostgreSQL text cannot hold NUL


class Request(BaseModel):
    """A request body: only declared fields, and no silent coercion ("1" is not a number)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Response(BaseModel):
    """A response body (serialised by the views, validated against the document in tests)."""

    model_config = ConfigDict(extra="forbid")


def error(code: str, message: str, *, status: int = 400) -> PydanticCustomError:
    """A validation failure with the API's own error code; `{field}` in the code is filled in
    with the field's name (api/validation.py)."""
    return PydanticCustomError(code, message, {"code": code, "status": status})


def check_text(value: str, *, max_length: int) -> str:
    """Length in code points counted as sent (not after stripping), not blank, no NUL."""
    if len(value) > max_length:
        raise error(
            "{field}_too_long",
            f"It has {len(value)} characters; the limit is {max_length}.",
            status=413,
        )
    if not re.search(NOT_BLANK, value):
        raise error("empty_{field}", "It must not be empty or blank.")
    if "\x00" in value:
        raise error("invalid_{field}", "It must not contain NUL.")
    return value


@dataclass(frozen=True)
class BoundedText:
    """`Annotated[str, BoundedText(limit)]`: text within a limit read from settings on every
    validation and every document, so a changed setting changes both at once."""

    max_length: Callable[[], int]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            lambda value: check_text(value, max_length=self.max_length()),
            core_schema.str_schema(strict=True),
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return text_schema(self.max_length())


def text_schema(max_length: int) -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": max_length,
        "pattern": NOT_BLANK,
        "not": {"pattern": NO_NUL},
        "description": "Must contain a non-whitespace character and no NUL; length in "
        "Unicode code points, counted as sent.",
    }
