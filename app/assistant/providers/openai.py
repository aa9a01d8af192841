"""Any OpenAI-compatible chat-completions endpoint, through the official SDK.

The catalog (names and descriptions in English and Arabic) goes into the system prompt; ordering,
order status and cancelling are tool calls (providers/openai_tools.py) that the service layer
checks against the database and carries out.
"""

from __future__ import annotations

import json

import openai
from django.conf import settings

from assistant.providers.base import Provider, ProviderError, ProviderReply, Turn
from assistant.providers.deadline import DeadlineHttpClient
from assistant.providers.openai_retry import complete_with_retries
from assistant.providers.openai_tools import TOOLS, tool_reply
from assistant.providers.openai_wire import AssistantMessage, parse_completion
from catalog.snapshot import CatalogSnapshot


def system_prompt(company_name: str, snapshot: CatalogSnapshot) -> str:
    catalog = json.dumps(snapshot.to_payload()["services"], ensure_ascii=False)
    return (
        f"You are the customer assistant of {company_name}. Answer only questions about the "
        "services below and help customers order them. Reply in the language of the customer's "
        "last message: Arabic if it is written in Arabic script, otherwise English. Use the "
        "service names and descriptions in that language (name_ar and description_ar for "
        "Arabic; when they are empty, the English ones). Quote prices exactly as listed, with the "
        "currency in the customer's language (SAR is ريال in Arabic). When the customer asks to "
        "order, call place_order only for a service they named or the single service just "
        "discussed; if it is unclear which, ask which one instead. When they ask where their "
        "order is or about its status, call order_status; when they ask to cancel an order, call "
        "cancel_order (with the order number if they gave one). If a question is unrelated, "
        "politely say what you can help with.\n"
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
            intent = tool_reply(call.name, call.arguments, answer.content)
            if intent is not None:
                return intent
        if not answer.content:
            raise ProviderError("empty_response")
        return ProviderReply(text=answer.content)

    def _attempt(self, messages: list[dict[str, str]], timeout: float) -> AssistantMessage:
        """One HTTP request; the raw body is parsed here, not by the SDK's lenient models."""
        raw = self.client.chat.completions.with_raw_response.create(
            model=settings.OPENAI_MODEL, messages=messages, tools=TOOLS, timeout=timeout
        )
        return parse_completion(raw.http_response.content)
