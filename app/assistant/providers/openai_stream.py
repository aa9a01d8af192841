"""A streamed chat completion: text deltas as they arrive, then the whole assistant message.

Three things make this more than a loop over the SDK's stream:
- Trust. Chunks are checked field by field like whole replies (openai_wire.py); tool calls come
  in pieces (index, id, name, argument fragments) and are added up, then parsed strictly once.
- Time. One reply budget (WAZEN_LLM_REPLY_DEADLINE) covers every attempt and the whole body, from
  the first next() to the last item, the caller's own time between items included. The
  budget is a thread-local (deadline.py) but this is a generator the caller suspends between its
  own work: the budget is entered only around each step that touches the socket, so while
  suspended, after close() and after the end, the thread's budget is what it was before.
- Retries. The retry policy of openai_retry.py applies only until the first text delta was
  handed out: after that the caller has shown the customer words a retry could contradict.
Closing the generator early closes the upstream response at once; an unfinished HTTP/1.1
response is not reusable, so its socket closes and the upstream sees the disconnect.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, closing
from dataclasses import dataclass
from typing import Any

import httpx2
import openai
from django.conf import settings

from assistant.providers.base import ProviderError
from assistant.providers.deadline import Budget, budget_scope
from assistant.providers.openai_retry import provider_error, retry_wait
from assistant.providers.openai_sse import Event, sse_events
from assistant.providers.openai_wire import (
    BAD_TOOL_CALL,
    INVALID_JSON,
    MALFORMED,
    UPSTREAM_ERROR,
    AssistantMessage,
    loads,
    parse_completion,
    parse_message,
)

DONE = "[DONE]"
MAX_TOOL_CALLS = 16  # tool-call indexes are small; a huge one is a malformed chunk, not a dict key

# Opens one streamed request with the given per-operation timeout; entering the context sends it
# (raising the SDK's errors for a refused request), leaving it closes the response.
OpenStream = Callable[[float], AbstractContextManager[Any]]


@dataclass(slots=True)
class _PendingCall:
    name: str = ""
    arguments: str = ""
    named: bool = False  # some chunk carried a name (an empty name is still a name)


class ChunkReader:
    """Adds up `chat.completion.chunk` objects: content deltas and tool-call fragments."""

    def __init__(self) -> None:
        self.content: list[str] = []
        self.calls: dict[int, _PendingCall] = {}
        self.done = False

    def feed(self, event: Event) -> str:
        """Take one SSE event; return its text delta ("" when it has none)."""
        if event.data.strip() == DONE:
            self.done = True
            return ""
        try:
            chunk = loads(event.data)
        except (ValueError, RecursionError) as error:
            raise ProviderError(
                INVALID_JSON, f"{error}; chunk starts {event.data[:80]!r}"
            ) from error
        if event.name == "error" or (isinstance(chunk, dict) and "error" in chunk):
            raise ProviderError(UPSTREAM_ERROR, f"the upstream sent {event.data[:200]!r}")
        if not isinstance(chunk, dict):
            raise ProviderError(MALFORMED, f"a chunk is a JSON {type(chunk).__name__}")
        choices = chunk.get("choices")
        if not isinstance(choices, list):  # [] is valid: the usage chunk has no choices
            raise ProviderError(MALFORMED, "a chunk's 'choices' is not a list")
        text = "".join(self._choice(choice) for choice in choices)
        if text:
            self.content.append(text)
        return text

    def _choice(self, choice: Any) -> str:
        if not isinstance(choice, dict):
            raise ProviderError(MALFORMED, "a chunk's choice is not an object")
        index = choice.get("index", 0)
        if isinstance(index, bool) or not isinstance(index, int):
            raise ProviderError(MALFORMED, "a chunk's choice index is not an integer")
        finish = choice.get("finish_reason")
        if finish is not None and not isinstance(finish, str):
            raise ProviderError(MALFORMED, "a chunk's finish_reason is not a string")
        delta = choice.get("delta")
        if index != 0 or delta is None:  # one choice is asked for; a finish chunk may carry none
            return ""
        if not isinstance(delta, dict):
            raise ProviderError(MALFORMED, "a chunk's delta is not an object")
        content = delta.get("content")
        if content is not None and not isinstance(content, str):
            raise ProviderError(MALFORMED, "delta.content is not a string")
        self._tool_fragments(delta.get("tool_calls"))
        return content or ""

    def _tool_fragments(self, fragments: Any) -> None:
        if fragments is None:
            return
        if not isinstance(fragments, list):
            raise ProviderError(MALFORMED, "delta.tool_calls is not a list")
        for position, fragment in enumerate(fragments):
            if not isinstance(fragment, dict):
                raise ProviderError(BAD_TOOL_CALL, "a tool-call fragment is not an object")
            index = fragment.get("index", position)
            function = fragment.get("function") or {}
            if isinstance(index, bool) or not isinstance(index, int):
                raise ProviderError(BAD_TOOL_CALL, f"a tool-call index is {index!r:.40}")
            if not 0 <= index < MAX_TOOL_CALLS or not isinstance(function, dict):
                raise ProviderError(BAD_TOOL_CALL, f"a malformed tool-call fragment #{index}")
            name, arguments = function.get("name"), function.get("arguments")
            if not all(isinstance(v, str | None) for v in (name, arguments, fragment.get("id"))):
                raise ProviderError(BAD_TOOL_CALL, f"tool call #{index} has a non-string field")
            call = self.calls.setdefault(index, _PendingCall())
            if name is not None:
                call.name, call.named = call.name + name, True
            call.arguments += arguments or ""

    def message(self) -> AssistantMessage:
        """The assistant message the chunks added up to; only a finished stream has one."""
        if not self.done:
            raise ProviderError(MALFORMED, f"the stream ended before data: {DONE}")
        calls = [
            {"function": {"name": call.name if call.named else None, "arguments": call.arguments}}
            for _, call in sorted(self.calls.items())
        ]
        return parse_message({"content": "".join(self.content), "tool_calls": calls or None})


def _body(response: httpx2.Response, budget: Budget) -> Iterator[bytes]:
    """The response body, each read inside the budget; transport failures as the SDK's errors
    (so that openai_retry classifies them as it does a failed request)."""
    chunks = response.iter_bytes()
    try:
        while True:
            with budget_scope(budget):
                try:
                    chunk = next(chunks)
                except StopIteration:
                    return
                except httpx2.TimeoutException as error:
                    raise openai.APITimeoutError(request=response.request) from error
                except (httpx2.HTTPError, httpx2.StreamError) as error:
                    message = f"the stream broke: {type(error).__name__}: {error}"
                    raise openai.APIConnectionError(
                        message=message, request=response.request
                    ) from error
            yield chunk
    finally:
        chunks.close()


def _is_event_stream(response: httpx2.Response) -> bool:
    media_type = response.headers.get("content-type", "").partition(";")[0]
    return media_type.strip().lower() == "text/event-stream"


def _attempt(open_stream: OpenStream, budget: Budget) -> Iterator[str | AssistantMessage]:
    """One request: its text deltas, then its message."""
    with ExitStack() as stack:
        with budget_scope(budget):
            timeout = min(settings.OPENAI_TIMEOUT, budget.remaining())
            response: httpx2.Response = stack.enter_context(open_stream(timeout)).http_response
        if not _is_event_stream(response):  # an upstream that ignores stream=True answers whole
            answer = parse_completion(b"".join(_body(response, budget)))
            if answer.content:
                yield answer.content
            yield answer
            return
        reader = ChunkReader()
        events = stack.enter_context(closing(sse_events(_body(response, budget))))
        for event in events:
            text = reader.feed(event)
            if text:
                yield text
            if reader.done:
                break
        yield reader.message()


def stream_with_retries(open_stream: OpenStream) -> Iterator[str | AssistantMessage]:
    """Text deltas as they arrive, then the assistant message; ProviderError on failure.

    A failed attempt is retried (openai_retry's policy, one budget) only while no text was
    yielded yet; a malformed stream is never retried, as a malformed reply is not.
    """
    budget = Budget(settings.WAZEN_LLM_REPLY_DEADLINE)
    retries = 0
    while True:
        started = False
        try:
            with closing(_attempt(open_stream, budget)) as attempt:
                for item in attempt:
                    started = started or isinstance(item, str)
                    yield item
            return
        except openai.OpenAIError as error:
            if started:
                raise provider_error(error, budget) from error
            retries += 1
            wait = retry_wait(error, budget, retries)
        time.sleep(wait)
