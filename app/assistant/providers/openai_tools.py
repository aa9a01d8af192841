"""The tools the OpenAI-compatible provider offers the model, and how a tool call becomes a
ProviderReply intent. The model only asks; the service layer checks each request against the
database (service of this company, order of this conversation) and carries it out.

`place_order` never places an order, whatever the model believes: the service layer answers it
with a proposal (service, quantity, total) and places the order only when the customer's next
message is a plain "yes", which the server reads itself (assistant/confirmation.py) without
asking the model. So a model that calls `place_order` on a question, or twice, spends nothing.
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
_MAX_QUANTITY = 10_000
ORDER_TOOL = _function(
    "place_order",
    "Propose an order of one of the company's services when the customer asks to order it (not "
    "when they ask a question about it). Only for a service the customer named, or the single "
    "service just discussed; otherwise ask which one. The system then states the service, "
    "quantity and total and asks the customer to confirm; the order is placed only when they "
    "reply yes.",
    {
        "service_id": {"type": "integer", "description": "id of a catalog service"},
        "quantity": {
            "type": "integer",
            "minimum": 1,
            "maximum": _MAX_QUANTITY,
            "description": "how many units (employees, months…) the customer asked for, for a "
            "price per unit; omit it when they gave none",
        },
    },
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
    "Cancel the customer's pending order in this conversation (the one named by number or by "
    "service, or their only pending one). Only when the customer asks to cancel.",
    {
        "order_id": _ORDER_ID,
        "service_id": {
            "type": "integer",
            "description": "the service of the order to cancel, when the customer named the "
            "service instead of an order number",
        },
    },
    [],
)
TOOLS = [ORDER_TOOL, STATUS_TOOL, CANCEL_TOOL]
_INTENTS = {
    "place_order": Intent.ORDER,
    "order_status": Intent.ORDER_STATUS,
    "cancel_order": Intent.ORDER_CANCEL,
}


def _id(
    arguments: dict[str, Any], key: str, *, required: bool, maximum: int = _MAX_ID
) -> int | None:
    value = arguments.get(key)
    if value is None and not required:
        return None
    # JSON numbers arrive as int or float (1e999 is inf); booleans are ints in Python.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(key)
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise ValueError(key)
    number = int(value)
    if not 0 < number <= maximum:
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
                text,
                order_service_id=service_id,
                intent=intent,
                service_ids=(service_id,),
                quantity=_id(arguments, "quantity", required=False, maximum=_MAX_QUANTITY),
            )
        service = (
            _id(arguments, "service_id", required=False) if intent is Intent.ORDER_CANCEL else None
        )
        return ProviderReply(
            text,
            intent=intent,
            order_id=_id(arguments, "order_id", required=False),
            service_ids=(service,) if service is not None else (),
        )
    except (ValueError, TypeError, OverflowError) as error:
        raise ProviderError(BAD_TOOL_CALL, str(arguments)[:200]) from error
