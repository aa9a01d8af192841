"""A reply as OpenAI's Server-Sent Events: `data: <chat.completion.chunk>` frames, then
`data: [DONE]`.

Each frame is handed to the server as soon as it exists: gunicorn writes it at once (chunked
transfer), and `X-Accel-Buffering: no` tells nginx (the image's front, an ingress) not to hold it.
When the client goes away, the server's next write fails and it closes this generator, which
closes the reply pipeline and with it the provider's upstream call.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

from django.db import InterfaceError, OperationalError
from django.http import StreamingHttpResponse
from pydantic import BaseModel

from api.errors import error_body
from assistant.services import ReplyResult, reply_stream
from openai_compat.replies import CompletionReply
from openai_compat.schemas import Delta

logger = logging.getLogger(__name__)

DONE = b"data: [DONE]\n\n"


def frame(data: BaseModel | dict) -> bytes:
    if isinstance(data, BaseModel):
        encoded = data.model_dump_json(exclude_unset=True).encode()
    else:
        encoded = json.dumps(data, ensure_ascii=False).encode()
    return b"data: " + encoded + b"\n\n"


def _error_frame(error: Exception) -> bytes:
    """The stream's status line is sent: a failure after it is told in OpenAI's in-stream
    error frame (the SDKs raise APIError on it) instead of a cut connection."""
    if isinstance(error, OperationalError | InterfaceError):
        status, code, message = 503, "database_unavailable", "The reply could not be stored."
    else:
        status, code, message = 500, "internal_error", "The reply failed; it has been logged."
    return frame(error_body(status, code, message, openai=True))


def event_stream(reply: CompletionReply, *, include_usage: bool) -> Iterator[bytes]:
    events = reply_stream(reply.turn, stream=True)
    try:
        yield frame(reply.chunk(Delta(role="assistant", content=""), metadata=reply.metadata()))
        result: ReplyResult | None = None
        for item in events:
            if isinstance(item, ReplyResult):
                result = item
            else:
                yield frame(reply.chunk(Delta(content=item)))
        if result is None:
            raise RuntimeError("the reply pipeline ended without its result")
        yield frame(reply.chunk(Delta(), "stop", metadata=reply.metadata(result)))
        if include_usage:
            yield frame(reply.chunk(None, usage=reply.usage(result)))
        yield DONE
    except Exception as error:
        logger.exception("A streamed reply failed after its first frame")
        yield _error_frame(error)
    finally:
        events.close()


def sse_response(stream: Iterator[bytes], headers: dict[str, str]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(stream, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    for name, value in headers.items():
        response[name] = value
    return response
