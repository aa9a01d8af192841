"""Any OpenAI-compatible chat-completions endpoint, through the official SDK.

The catalog goes into the system prompt; ordering is a tool call (`place_order`) whose argument
must be a service id from the snapshot — the service layer re-checks it against the database.
"""

from __future__ import annotations

import json

import openai
from django.conf import settings

from assistant.providers.base import Provider, ProviderError, ProviderReply, Turn
from catalog.snapshot import CatalogSnapshot

ORDER_TOOL = {
    "type": "function",
    "function": {
        "name": "place_order",
        "description": "Place an order for one of the company's services on the customer's behalf.",
        "parameters": {
            "type": "object",
            "properties": {
                "service_id": {"type": "integer", "description": "id of a catalog service"}
            },
            "required": ["service_id"],
            "additionalProperties": False,
        },
    },
}


def system_prompt(company_name: str, snapshot: CatalogSnapshot) -> str:
    catalog = json.dumps(snapshot.to_payload()["services"], ensure_ascii=False)
    return (
        f"You are the customer assistant of {company_name}. Answer only questions about the "
        "services below and help customers order them. Quote prices exactly as listed. When the "
        "customer clearly asks to order a service, call place_order with its id. If a question "
        "is unrelated, politely say what you can help with.\n"
        f"Services (JSON): {catalog}"
    )


class OpenAIProvider(Provider):
    name = "openai"

    def __init__(self) -> None:
        self.client = openai.OpenAI(
            api_key=settings.OPENAI_API_KEY,
            base_url=settings.OPENAI_BASE_URL,
            timeout=settings.OPENAI_TIMEOUT,
            max_retries=settings.OPENAI_MAX_RETRIES,
        )

    def reply(
        self, *, company_name: str, snapshot: CatalogSnapshot, history: list[Turn], message: str
    ) -> ProviderReply:
        messages = [{"role": "system", "content": system_prompt(company_name, snapshot)}]
        messages += [{"role": t.role, "content": t.content} for t in history]
        messages.append({"role": "user", "content": message})
        try:
            completion = self.client.chat.completions.create(
                model=settings.OPENAI_MODEL, messages=messages, tools=[ORDER_TOOL]
            )
        except openai.APITimeoutError as error:
            raise ProviderError("timeout", str(error)) from error
        except openai.APIConnectionError as error:
            raise ProviderError("connection", str(error)) from error
        except openai.RateLimitError as error:
            raise ProviderError("rate_limited", str(error)) from error
        except openai.APIStatusError as error:
            raise ProviderError(f"http_{error.status_code}", str(error)) from error
        except openai.OpenAIError as error:
            raise ProviderError("client", str(error)) from error
        if not completion.choices:
            raise ProviderError("empty_response")
        choice = completion.choices[0].message
        for call in choice.tool_calls or []:
            if call.type == "function" and call.function.name == "place_order":
                try:
                    service_id = int(json.loads(call.function.arguments)["service_id"])
                except (ValueError, KeyError, TypeError) as error:
                    raise ProviderError("bad_tool_call", call.function.arguments) from error
                return ProviderReply(text=choice.content or "", order_service_id=service_id)
        if not choice.content:
            raise ProviderError("empty_response")
        return ProviderReply(text=choice.content)
