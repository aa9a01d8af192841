"""Any OpenAI-compatible chat-completions endpoint, through the official SDK.

The catalog goes into the system prompt; ordering is a tool call (`place_order`) whose argument
must be a service id from the snapshot — the service layer re-checks it against the database.
"""

from __future__ import annotations

import json

import openai
from django.conf import settings

from assistant.providers.base import Provider, ProviderError, ProviderReply, Turn
from assistant.providers.deadline import DeadlineHttpClient
from assistant.providers.openai_retry import complete_with_retries
from assistant.providers.openai_wire import AssistantMessage, integer_argument, parse_completion
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
    """Transport: one reply budget (WAZEN_LLM_REPLY_DEADLINE) covers every attempt, back-off and
    Retry-After wait; the SDK's own retries are off because they sleep outside any budget."""

    name = "openai"

    def __init__(self) -> None:
        self.client = openai.OpenAI(
            api_key=settings.OPENAI_API_KEY,
            base_url=settings.OPENAI_BASE_URL,
            timeout=settings.OPENAI_TIMEOUT,
            max_retries=0,
            http_client=DeadlineHttpClient(),
        )

    def reply(
        self, *, company_name: str, snapshot: CatalogSnapshot, history: list[Turn], message: str
    ) -> ProviderReply:
        messages = [{"role": "system", "content": system_prompt(company_name, snapshot)}]
        messages += [{"role": t.role, "content": t.content} for t in history]
        messages.append({"role": "user", "content": message})
        answer = complete_with_retries(lambda timeout: self._attempt(messages, timeout))
        for call in answer.tool_calls:
            if call.name == "place_order":
                service_id = integer_argument(call, "service_id")
                return ProviderReply(text=answer.content, order_service_id=service_id)
        if not answer.content:
            raise ProviderError("empty_response")
        return ProviderReply(text=answer.content)

    def _attempt(self, messages: list[dict[str, str]], timeout: float) -> AssistantMessage:
        """One HTTP request; the raw body is parsed here, not by the SDK's lenient models."""
        raw = self.client.chat.completions.with_raw_response.create(
            model=settings.OPENAI_MODEL, messages=messages, tools=[ORDER_TOOL], timeout=timeout
        )
        return parse_completion(raw.http_response.content)
