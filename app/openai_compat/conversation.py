"""Reading an OpenAI `messages` array as the assistant's conversation: the customer's turn (the
last message) and the earlier turns the client holds."""

from __future__ import annotations

from django.conf import settings
from pydantic_core import PydanticCustomError

from api.errors import ApiError
from api.types import check_text
from api.validation import custom_error
from assistant.providers import Turn
from openai_compat.schemas import ChatMessage

SPOKEN_ROLES = ("user", "assistant")  # the turns of a conversation; the rest is ignored


def _text(message: ChatMessage, index: int, *, strict: bool) -> str:
    """The message's text; with `strict`, a part that is not text is refused (400)."""
    if isinstance(message.content, str) or message.content is None:
        return message.content or ""
    texts = []
    for position, part in enumerate(message.content):
        if part.type == "text" and part.text is not None:
            texts.append(part.text)
        elif strict:
            raise ApiError(
                400,
                "unsupported_content",
                f"Only text content is supported; this part is '{part.type}'.",
                param=f"messages[{index}].content[{position}]",
            )
    return "\n".join(texts)


def customer_turn(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """(the customer's message, stripped; the earlier user/assistant turns, oldest first)."""
    index = len(messages) - 1
    last = messages[index]
    param = f"messages[{index}].content"
    if last.role != "user":
        raise ApiError(
            400,
            "invalid_messages",
            f"The last message must be the customer's (role 'user'), not '{last.role}'.",
            param=f"messages[{index}].role",
        )
    text = _text(last, index, strict=True)
    try:
        check_text(text, max_length=settings.WAZEN_MAX_MESSAGE_CHARS)
    except PydanticCustomError as error:
        raise custom_error(error, field="message", param=param) from None
    context = []
    for position, message in enumerate(messages[:index]):
        if message.role not in SPOKEN_ROLES:
            continue
        earlier = _text(message, position, strict=False)
        if "\x00" in earlier:
            raise ApiError(
                400,
                "invalid_messages",
                "A message must not contain NUL.",
                param=f"messages[{position}].content",
            )
        if earlier.strip():
            context.append(Turn(role=message.role, content=earlier))
    return text.strip(), context
