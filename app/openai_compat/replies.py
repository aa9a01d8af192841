"""One reply of the assistant in OpenAI's shapes: the whole `chat.completion`, or the
`chat.completion.chunk` frames of a stream. Both carry the same id, model and metadata."""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import asdict, dataclass, field

from assistant.services import PreparedReply, ReplyResult
from openai_compat.schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    CompletionMetadata,
    Delta,
    Usage,
)


def estimated_tokens(text: str) -> int:
    """About four characters a token, the usual rule of thumb; the assistant counts no tokens."""
    return math.ceil(len(text) / 4)


@dataclass
class CompletionReply:
    turn: PreparedReply
    model: str
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))

    def metadata(self, result: ReplyResult | None = None) -> CompletionMetadata:
        extra = {}
        if result is not None and result.order is not None:
            extra["order"] = asdict(result.order)
        if result is not None and result.proposal is not None:
            extra["proposal"] = asdict(result.proposal)
        return CompletionMetadata(
            conversation_id=self.turn.conversation_id, language=self.turn.language, **extra
        )

    def usage(self, result: ReplyResult) -> Usage:
        prompt = estimated_tokens(self.turn.message) + sum(
            estimated_tokens(t.content) for t in self.turn.history
        )
        completion = estimated_tokens(result.reply)
        return Usage(
            prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
        )

    def completion(self, result: ReplyResult) -> ChatCompletion:
        return ChatCompletion(
            id=self.id,
            object="chat.completion",
            created=self.created,
            model=self.model,
            choices=[
                Choice(
                    index=0,
                    message=AssistantMessage(role="assistant", content=result.reply),
                    finish_reason="stop",
                    logprobs=None,
                )
            ],
            usage=self.usage(result),
            metadata=self.metadata(result),
        )

    def chunk(
        self, delta: Delta | None, finish: str | None = None, **extra: object
    ) -> ChatCompletionChunk:
        """A frame; `delta=None` is the usage frame, which has no choices."""
        choices = [] if delta is None else [ChunkChoice(index=0, delta=delta, finish_reason=finish)]
        return ChatCompletionChunk(
            id=self.id,
            object="chat.completion.chunk",
            created=self.created,
            model=self.model,
            choices=choices,
            **extra,
        )
