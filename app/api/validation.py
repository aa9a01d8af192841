"""A request body checked against its pydantic model; the first problem becomes an ApiError with
the API's documented code (`missing_<field>`, `invalid_<field>`, `unknown_fields`, …) and the
offending parameter's path (OpenAI's `param`, e.g. `messages[2].content`)."""

from __future__ import annotations

from typing import Any, TypeVar

from django.http import HttpRequest
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from api.body import read_json_object
from api.errors import ApiError

M = TypeVar("M", bound=BaseModel)


def param_path(location: tuple[str | int, ...]) -> str:
    """('messages', 2, 'content') → 'messages[2].content'."""
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def _field_locations(location: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Drop pydantic's union-branch labels ('str', 'list[TextPart]', …) from a location."""
    return tuple(p for p in location if isinstance(p, int) or not _is_branch_label(p))


def _is_branch_label(part: str) -> bool:
    return "[" in part or part in {"str", "int", "float", "bool", "none", "function-after"}


def api_error(error: ValidationError) -> ApiError:
    problems = error.errors(include_url=False)
    unknown = [p for p in problems if p["type"] == "extra_forbidden"]
    if unknown:
        names = [param_path(_field_locations(p["loc"])) for p in unknown]
        return ApiError(
            400,
            "unknown_fields",
            f"Unknown field(s): {', '.join(names)}.",
            param=names[0],
        )
    # The first field in error; of a union's branches, the one that got furthest.
    first = problems[0]["loc"][:1]
    problem = max(
        (p for p in problems if p["loc"][:1] == first),
        key=lambda p: len(_field_locations(p["loc"])),
    )
    location = _field_locations(problem["loc"])
    # Codes name the top-level field (a bounded set); `param` says exactly where.
    field = location[0] if location and isinstance(location[0], str) else "body"
    param = param_path(location)
    if problem["type"] == "missing":
        return ApiError(400, f"missing_{field}", f"The field '{param}' is required.", param=param)
    context = problem.get("ctx") or {}
    code = str(context.get("code", "invalid_{field}")).format(field=field)
    return ApiError(
        int(context.get("status", 400)),
        code,
        f"Invalid '{param}': {problem['msg'].rstrip('.')}.",
        param=param,
    )


def custom_error(error: PydanticCustomError, *, field: str, param: str) -> ApiError:
    """A check of api/types.py run outside a model (e.g. on a message inside an array)."""
    context = error.context or {}
    code = str(context.get("code", "invalid_{field}")).format(field=field)
    return ApiError(
        int(context.get("status", 400)), code, f"Invalid '{param}': {error.message()}", param=param
    )


def validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise api_error(error) from None


def read_request(request: HttpRequest, model: type[M], *, max_bytes: int | None = None) -> M:
    """The body as `model`, or an ApiError saying what is wrong (size, JSON, fields)."""
    return validate(model, read_json_object(request, max_bytes=max_bytes))
