"""Any OpenAI-compatible chat-completions endpoint, through the official SDK.

The catalog (names and descriptions in English and Arabic) goes into the system prompt; ordering,
order status and cancelling are tool calls (providers/openai_tools.py) that the service layer
checks against the database and carries out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, closing
from typing import Any

import openai
from django.conf import settings

from assistant.providers.base import Provider, ProviderError, ProviderReply, Turn
from assistant.providers.deadline import DeadlineHttpClient
from assistant.providers.openai_retry import complete_with_retries
from assistant.providers.openai_stream import stream_with_retries
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
        "currency in the customer's language (SAR is ريال in Arabic). A question about a service "
        '("do I need…", "what do I need for…", "هل…") is never an order: answer it. When '
        "the customer asks to order, call place_order only for a service they named or the "
        "single service just discussed (with the quantity they gave, for a price per unit); if "
        "it is unclear which, ask which one instead. The system then asks them to confirm the "
        "service, quantity and total, and places the order when they say yes: never say an "
        "order was placed yourself. When they ask where their "
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
            # One upstream connection per reply in flight at most, so none waits for one.
            http_client=DeadlineHttpClient(max_connections=settings.WAZEN_MAX_INFLIGHT_REPLIES),
        )

    def reply(
        self, *, company_name: str, snapshot: CatalogSnapshot, history: list[Turn], message: str
    ) -> ProviderReply:
        messages = _messages(company_name, snapshot, history, message)
        return _provider_reply(
            complete_with_retries(lambda timeout: self._attempt(messages, timeout))
        )

    def stream(
        self, *, company_name: str, snapshot: CatalogSnapshot, history: list[Turn], message: str
    ) -> Iterator[str | ProviderReply]:
        """The upstream's tokens as they arrive (stream=True), then the reply (see Provider)."""
        messages = _messages(company_name, snapshot, history, message)
        with closing(stream_with_retries(lambda timeout: self._open(messages, timeout))) as items:
            for item in items:
                yield item if isinstance(item, str) else _provider_reply(item)

    def _attempt(self, messages: list[dict[str, str]], timeout: float) -> AssistantMessage:
        """One HTTP request; the raw body is parsed here, not by the SDK's lenient models."""
        raw = self.client.chat.completions.with_raw_response.create(
            model=settings.OPENAI_MODEL, messages=messages, tools=TOOLS, timeout=timeout
        )
        return parse_completion(raw.http_response.content)

    def _open(self, messages: list[dict[str, str]], timeout: float) -> AbstractContextManager[Any]:
        """One streamed HTTP request, its body unread: openai_stream parses the events itself."""
        return self.client.chat.completions.with_streaming_response.create(
            model=settings.OPENAI_MODEL,
            messages=messages,
            tools=TOOLS,
            stream=True,
            timeout=timeout,
        )


def _messages(
    company_name: str, snapshot: CatalogSnapshot, history: list[Turn], message: str
) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": system_prompt(company_name, snapshot)}]
    messages += [{"role": t.role, "content": t.content} for t in history]
    messages.append({"role": "user", "content": message})
    return messages


def _provider_reply(answer: AssistantMessage) -> ProviderReply:
    """The first tool call this provider offers decides the intent; else the text answers."""
    for call in answer.tool_calls:
        intent = tool_reply(call.name, call.arguments, answer.content)
        if intent is not None:
            return intent
    if not answer.content:
        raise ProviderError("empty_response")
    return ProviderReply(text=answer.content)
