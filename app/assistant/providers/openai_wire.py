"""Reading a chat-completions reply without trusting its shape.

The upstream is another company's server, or a proxy in front of it: a 200 can carry HTML, `null`,
a message of `null`, or tool arguments such as `{"service_id": 1e999}`. Every such body becomes a
ProviderError with a short, bounded reason (a metric label), never an exception that escapes as a
500. The SDK's typed models are not used for this: they accept any shape and fail later.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from assistant.providers.base import ProviderError

# The reasons this module reports (labels of wazen_llm_errors_total).
INVALID_JSON = "invalid_json"
MALFORMED = "malformed_response"
EMPTY = "empty_response"
BAD_TOOL_CALL = "bad_tool_call"
UPSTREAM_ERROR = "upstream_error"  # a streamed reply carried an error event instead of chunks


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AssistantMessage:
    content: str
    tool_calls: list[ToolCall] = field(default_factory=list)


def _reject_constant(value: str) -> float:
    raise ValueError(f"{value} is not a JSON number")


def loads(raw: str | bytes) -> Any:
    """Strict JSON: NaN/Infinity are refused, and so are numbers that overflow a float."""

    def parse_float(text: str) -> float:
        number = float(text)
        if not math.isfinite(number):
            raise ValueError(f"{text} is out of range")
        return number

    return json.loads(raw, parse_constant=_reject_constant, parse_float=parse_float)


def parse_completion(body: bytes) -> AssistantMessage:
    """The first choice's message, checked field by field."""
    try:
        data = loads(body)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError too
        raise ProviderError(INVALID_JSON, f"{error}; body starts {body[:80]!r}") from error
    if not isinstance(data, dict):
        raise ProviderError(MALFORMED, f"the body is a JSON {type(data).__name__}")
    choices = data.get("choices")
    if not isinstance(choices, list):
        raise ProviderError(MALFORMED, "'choices' is not a list")
    if not choices:
        raise ProviderError(EMPTY, "no choices")
    choice = choices[0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        raise ProviderError(MALFORMED, "choices[0].message is not an object")
    return parse_message(message)


def parse_message(message: dict[str, Any]) -> AssistantMessage:
    """An assistant message (a completion's, or one a stream's chunks added up to)."""
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise ProviderError(MALFORMED, "message.content is not a string")
    return AssistantMessage(content=content or "", tool_calls=_tool_calls(message))


def _tool_calls(message: dict[str, Any]) -> list[ToolCall]:
    raw_calls = message.get("tool_calls")
    if raw_calls is None:
        return []
    if not isinstance(raw_calls, list):
        raise ProviderError(MALFORMED, "message.tool_calls is not a list")
    calls = []
    for raw in raw_calls:
        function = raw.get("function") if isinstance(raw, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ProviderError(BAD_TOOL_CALL, "a tool call has no function name")
        arguments = function.get("arguments")
        try:
            parsed = loads(arguments) if isinstance(arguments, str) else None
        except (ValueError, RecursionError):
            parsed = None
        if not isinstance(parsed, dict):
            detail = f"arguments are not a JSON object: {arguments!r:.80}"
            raise ProviderError(BAD_TOOL_CALL, detail)
        calls.append(ToolCall(name=function["name"], arguments=parsed))
    return calls
