"""The OpenAI-compatible API's types: the subset of OpenAI's chat-completions wire format the
assistant speaks, plus `metadata` (the conversation, the reply's language, the order placed).

Requests follow OpenAI's rules: an unknown top-level field is a 400; parameters that steer an LLM
(temperature, max_tokens, tools, …) are accepted and ignored, since the company's assistant
decides how it answers; a parameter asking for something it cannot do (n > 1, JSON mode, audio)
is a 400 naming the parameter.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.types import Request, Response
from assistant.schemas import Language, Order, Proposal

IGNORED = "Accepted for compatibility and ignored: the company's assistant decides how it answers."


class ContentPart(BaseModel):
    """One part of a message's content; only `text` parts carry something the assistant reads."""

    model_config = ConfigDict(extra="allow", strict=True)

    type: str = Field(
        description="`text` (others, such as `image_url`, are refused in the "
        "customer's turn and skipped in earlier turns)."
    )
    text: str | None = None


class ChatMessage(BaseModel):
    """A turn. Fields beyond `role` and `content` (name, tool_calls, …) are accepted, unused."""

    model_config = ConfigDict(extra="allow", strict=True)

    role: Literal["system", "developer", "user", "assistant", "tool", "function"] = Field(
        description="The last message must be the customer's (`user`). Earlier `user` and "
        "`assistant` turns are the conversation so far; `system`/`developer`/`tool` messages "
        "are ignored (the company's assistant has its own instructions)."
    )
    content: str | list[ContentPart] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    include_usage: bool | None = Field(
        default=None, description="Send a last chunk with `usage` (and no choices) before [DONE]."
    )


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    type: Literal["text"] = Field(description="Only `text`: replies are written for people.")


Metadata = Annotated[
    dict[str, Annotated[str, Field(max_length=512)]],
    Field(
        max_length=16,
        description="OpenAI's metadata map. `conversation_id` (a UUID from an earlier reply's "
        "`metadata.conversation_id`) continues that stored conversation; its stored turns then "
        "replace the earlier `messages`.",
    ),
]


class ChatCompletionRequest(Request):
    model: str = Field(
        min_length=1,
        description="The company's assistant: an id listed by GET /v1/models (the company slug).",
    )
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool | None = Field(default=None, description="Answer as Server-Sent Events.")
    stream_options: StreamOptions | None = None
    metadata: Metadata | None = None
    user: str | None = Field(default=None, max_length=256, description=IGNORED)
    n: Annotated[int, Field(ge=1, le=1)] | None = Field(default=None, description="Only 1.")
    response_format: ResponseFormat | None = None
    modalities: list[Literal["text"]] | None = Field(default=None, description="Only text.")
    temperature: Annotated[float, Field(ge=0, le=2)] | None = Field(
        default=None, description=IGNORED
    )
    top_p: Annotated[float, Field(ge=0, le=1)] | None = Field(default=None, description=IGNORED)
    frequency_penalty: Annotated[float, Field(ge=-2, le=2)] | None = Field(
        default=None, description=IGNORED
    )
    presence_penalty: Annotated[float, Field(ge=-2, le=2)] | None = Field(
        default=None, description=IGNORED
    )
    max_tokens: Annotated[int, Field(ge=1)] | None = Field(default=None, description=IGNORED)
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description=IGNORED
    )
    seed: int | None = Field(default=None, description=IGNORED)
    stop: str | list[str] | None = Field(default=None, description=IGNORED)
    logit_bias: dict[str, float] | None = Field(default=None, description=IGNORED)
    logprobs: bool | None = Field(default=None, description=IGNORED + " (`logprobs` is null).")
    top_logprobs: int | None = Field(default=None, description=IGNORED)
    tools: list[dict[str, Any]] | None = Field(
        default=None, description=IGNORED + " The assistant never calls a client's tools."
    )
    tool_choice: str | dict[str, Any] | None = Field(default=None, description=IGNORED)
    parallel_tool_calls: bool | None = Field(default=None, description=IGNORED)
    functions: list[dict[str, Any]] | None = Field(default=None, description=IGNORED)
    function_call: str | dict[str, Any] | None = Field(default=None, description=IGNORED)
    prediction: dict[str, Any] | None = Field(default=None, description=IGNORED)
    web_search_options: dict[str, Any] | None = Field(default=None, description=IGNORED)
    audio: None = Field(default=None, description="Only null: replies are text.")
    store: bool | None = Field(default=None, description="Ignored: every conversation is stored.")
    service_tier: str | None = Field(default=None, description=IGNORED)
    reasoning_effort: str | None = Field(default=None, description=IGNORED)
    verbosity: str | None = Field(default=None, description=IGNORED)
    prompt_cache_key: str | None = Field(default=None, description=IGNORED)
    safety_identifier: str | None = Field(default=None, description=IGNORED)


class CompletionMetadata(Response):
    """What an OpenAI client can read without special code (`completion.metadata`, an extra
    field every OpenAI SDK keeps), beside the reply's text, which says the same in words."""

    conversation_id: uuid.UUID = Field(
        description="Send it back as `metadata.conversation_id` to continue the conversation."
    )
    language: Language = Field(description="The reply's language (ar: render right to left).")
    order: Order | None = Field(
        default=None, description="The order placed or cancelled during this turn."
    )
    proposal: Proposal | None = Field(
        default=None,
        description="The order the assistant asks the customer to confirm: the next message "
        '"yes" places it.',
    )


class AssistantMessage(Response):
    role: Literal["assistant"]
    content: str
    refusal: None = None


class Choice(Response):
    index: int
    message: AssistantMessage
    finish_reason: Literal["stop"]
    logprobs: None = None


class Usage(Response):
    """Estimated (about four characters a token), not billed: the assistant counts no tokens."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(Response):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    metadata: CompletionMetadata


class Delta(Response):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(Response):
    index: int
    delta: Delta
    finish_reason: Literal["stop"] | None
    logprobs: None = None


class ChatCompletionChunk(Response):
    """One `data:` frame of a streamed reply. The first carries the role and `metadata`
    (conversation, language), the middle ones the text, the last `finish_reason` and the full
    `metadata` (with the order); with `stream_options.include_usage`, a final one `usage`."""

    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    metadata: CompletionMetadata | None = None


class Model(Response):
    id: str = Field(description="The company's assistant (the company slug).")
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(Response):
    object: Literal["list"]
    data: list[Model]
