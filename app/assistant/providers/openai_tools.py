"""The tools the OpenAI-compatible provider offers the model, and how a tool call becomes a
ProviderReply intent. The model only asks; the service layer checks each request against the
database (service of this company, order of this conversation) and carries it out.
"""

from __future__ import annotations

import math
from typing import Any

from assistant.providers.base import Intent, ProviderError, ProviderReply
from assistant.providers.openai_wire import BAD_TOOL_CALL

_MAX_ID = 2**63 - 1  # the largest database id; anything else is a malformed call


def _function(name: str, description: str, properties: dict, required: list[str]) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        },
    }


_ORDER_ID = {
    "type": "integer",
    "description": "the order number the customer gave; omit it when they gave none",
}
ORDER_TOOL = _function(
    "place_order",
    "Place an order for one of the company's services on the customer's behalf. Only for a "
    "service the customer named, or the single service just discussed; otherwise ask which one.",
    {"service_id": {"type": "integer", "description": "id of a catalog service"}},
    ["service_id"],
)
STATUS_TOOL = _function(
    "order_status",
    "Look up the customer's orders in this conversation (all of them, or the one named).",
    {"order_id": _ORDER_ID},
    [],
)
CANCEL_TOOL = _function(
    "cancel_order",
    "Cancel the customer's pending order in this conversation (the one named, or their only "
    "pending one). Only when the customer asks to cancel.",
    {"order_id": _ORDER_ID},
    [],
)
TOOLS = [ORDER_TOOL, STATUS_TOOL, CANCEL_TOOL]
_INTENTS = {
    "place_order": Intent.ORDER,
    "order_status": Intent.ORDER_STATUS,
    "cancel_order": Intent.ORDER_CANCEL,
}


def _id(arguments: dict[str, Any], key: str, *, required: bool) -> int | None:
    value = arguments.get(key)
    if value is None and not required:
        return None
    # JSON numbers arrive as int or float (1e999 is inf); booleans are ints in Python.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(key)
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise ValueError(key)
    number = int(value)
    if not 0 < number <= _MAX_ID:
        raise ValueError(key)
    return number


def tool_reply(name: str, arguments: dict[str, Any], text: str) -> ProviderReply | None:
    """The intent a tool call asks for, or None for a tool this provider does not offer.

    `arguments` is the JSON object openai_wire parsed strictly. Raises
    ProviderError("bad_tool_call") for arguments that are not what the tool declares.
    """
    intent = _INTENTS.get(name)
    if intent is None:
        return None
    try:
        if intent is Intent.ORDER:
            service_id = _id(arguments, "service_id", required=True)
            return ProviderReply(
                text, order_service_id=service_id, intent=intent, service_ids=(service_id,)
            )
        return ProviderReply(
            text, intent=intent, order_id=_id(arguments, "order_id", required=False)
        )
    except (ValueError, TypeError, OverflowError) as error:
        raise ProviderError(BAD_TOOL_CALL, str(arguments)[:200]) from error
