"""Server-Sent Events framing of a streamed chat completion, read without trusting the upstream.

A streamed reply is `data: <chunk JSON>` events separated by blank lines and ended by
`data: [DONE]`. What arrives may instead be an HTML error page, a line that never ends, bytes that
are not UTF-8: each becomes ProviderError("malformed_response"), never another exception, and a
single line is bounded so an upstream cannot make the app buffer without end.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from assistant.providers.base import ProviderError
from assistant.providers.openai_wire import MALFORMED

MAX_LINE_BYTES = 1 << 20  # one chunk is a few hundred bytes; a megabyte is no chunk
_IGNORED_FIELDS = {"id", "retry"}  # valid SSE fields a chat completion has no use for


@dataclass(frozen=True, slots=True)
class Event:
    data: str
    name: str = "message"  # the `event:` field; upstreams that use it call errors "error"


def _lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Lines without their terminator (CRLF, LF or CR, as the SSE grammar allows), however the
    bytes were cut into chunks: a CR at a chunk's end waits for the next chunk (it may be CRLF)."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        lines = pending.splitlines(keepends=True)
        pending = b""
        if lines and (lines[-1].endswith(b"\r") or not lines[-1].endswith(b"\n")):
            pending = lines.pop()
        if len(pending) > MAX_LINE_BYTES:
            raise ProviderError(MALFORMED, f"a stream line is longer than {MAX_LINE_BYTES} bytes")
        for line in lines:
            yield line.rstrip(b"\r\n")
    if pending:
        yield pending.rstrip(b"\r\n")


def sse_events(chunks: Iterable[bytes]) -> Iterator[Event]:
    """The events of an SSE body, in order, each as soon as its blank line arrived.

    Comment lines (`: keep-alive`) are skipped; a line that is no SSE field is refused, so an
    HTML page served as text/event-stream fails at once instead of ending as an empty reply.
    An event the body ends without a blank line after is still delivered (some proxies drop the
    last newline); whether the stream was complete is the reader's question ([DONE]).
    """
    data: list[str] = []
    name = "message"
    for raw in _lines(chunks):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ProviderError(MALFORMED, f"a stream line is not UTF-8: {raw[:80]!r}") from error
        if not line:
            if data:
                yield Event("\n".join(data), name)
            data, name = [], "message"
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            data.append(value)
        elif field == "event":
            name = value
        elif field not in _IGNORED_FIELDS:
            raise ProviderError(MALFORMED, f"not a server-sent event line: {line[:80]!r}")
    if data:
        yield Event("\n".join(data), name)
