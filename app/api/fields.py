"""Request fields declared once: the validation and the OpenAPI schema are derived from the same
object, so the document can never promise what the server refuses (or the reverse).

The rules are written in terms both sides share: length in code points, counted on the value as
sent (not after stripping), "must contain a non-whitespace character" and "must not contain NUL"
as regular expressions that mean the same in Python and in ECMA-262 (JSON Schema's dialect).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from api.errors import ApiError

NOT_BLANK = r"\S"  # at least one character that is not whitespace
NO_NUL = r"\u0000"  # forbidden: PostgreSQL text cannot hold NUL


@dataclass(frozen=True)
class TextField:
    """A required-or-optional string with code-point bounds; limits may come from settings."""

    name: str
    max_length: Callable[[], int]
    required: bool = True
    too_long_status: int = 413

    def validate(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ApiError(
                400, f"invalid_{self.name}", f"The field '{self.name}' must be a string."
            )
        if len(value) > self.max_length():
            raise ApiError(
                self.too_long_status,
                f"{self.name}_too_long",
                f"The {self.name} has {len(value)} characters; the limit is {self.max_length()}.",
            )
        if not re.search(NOT_BLANK, value):
            raise ApiError(
                400, f"empty_{self.name}", f"The field '{self.name}' must not be empty or blank."
            )
        if "\x00" in value:
            raise ApiError(
                400, f"invalid_{self.name}", f"The field '{self.name}' must not contain NUL."
            )
        return value

    def schema(self) -> dict[str, Any]:
        return {
            "type": "string",
            "minLength": 1,
            "maxLength": self.max_length(),
            "pattern": NOT_BLANK,
            "not": {"pattern": NO_NUL},
            "description": "Must contain a non-whitespace character and no NUL; length in "
            "Unicode code points, counted as sent.",
        }


@dataclass(frozen=True)
class UuidField:
    name: str
    required: bool = False

    def validate(self, value: Any) -> uuid.UUID | None:
        if value is None:
            return None
        error = ApiError(400, f"invalid_{self.name}", f"'{self.name}' must be a UUID string.")
        if not isinstance(value, str):
            raise error
        try:
            return uuid.UUID(value)
        except ValueError:
            raise error from None

    def schema(self) -> dict[str, Any]:
        return {"type": ["string", "null"], "format": "uuid"}


Field = TextField | UuidField


@dataclass(frozen=True)
class ObjectContract:
    """A JSON object with declared fields and nothing else."""

    fields: tuple[Field, ...]

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        names = {field.name for field in self.fields}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ApiError(400, "unknown_fields", f"Unknown field(s): {', '.join(unknown)}.")
        values = {}
        for field in self.fields:
            if field.required and data.get(field.name) is None:
                raise ApiError(
                    400, f"missing_{field.name}", f"The field '{field.name}' is required."
                )
            values[field.name] = field.validate(data.get(field.name))
        return values

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "additionalProperties": False,
            "required": [field.name for field in self.fields if field.required],
            "properties": {field.name: field.schema() for field in self.fields},
        }
