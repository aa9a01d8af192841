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
from assistant.providers.openai_tools import TOOLS, tool_reply
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
                model=settings.OPENAI_MODEL, messages=messages, tools=TOOLS
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
            if call.type == "function":
                intent = tool_reply(
                    call.function.name, call.function.arguments, choice.content or ""
                )
                if intent is not None:
                    return intent
        if not choice.content:
            raise ProviderError("empty_response")
        return ProviderReply(text=choice.content)
