"""A local HTTP server that speaks the chat-completions wire format, for the real OpenAI SDK.

Each test queues responses; every request body is recorded. A response can misbehave the ways
real upstreams and their proxies do: a raw (non-JSON, HTML) body, extra headers such as
Retry-After, a delay before answering, a body dripped one byte at a time, or a hang (no answer
until the client gives up).

A response can also be a stream (`Scripted(stream=[Frame, ...])`): Server-Sent Events, each frame
sent after its own delay and flushed alone, chunked or close-delimited. Every streamed response
gets a StreamLog in `server.streams` (in the order served) that tells a test how many frames were
written and whether, and when, the client went away mid-stream.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def provider_env(base_url: str) -> dict[str, str]:
    """The app's environment for the openai provider talking to a scripted server at
    `base_url` (no retries: each request reaches the server once)."""
    return {
        "LLM_PROVIDER": "openai",
        "OPENAI_BASE_URL": base_url,
        "OPENAI_API_KEY": "sk-upstream",
        "OPENAI_MODEL": "test-model",
        "OPENAI_MAX_RETRIES": "0",
    }


def completion(content: str | None = None, tool_call: dict | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    finish = "stop"
    if tool_call is not None:
        finish = "tool_calls"
        message["tool_calls"] = [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": tool_call["name"], "arguments": json.dumps(tool_call["args"])},
            }
        ]
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "test-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


@dataclass
class Frame:
    """One piece of a streamed body, sent `delay` seconds after the previous one, flushed alone.

    `data` as a dict is sent as `data: <JSON>\\n\\n`, as a str as `data: <str>\\n\\n` (e.g.
    "[DONE]"), as bytes exactly as given (broken framing, comments, half a line).
    """

    data: dict[str, Any] | str | bytes
    delay: float = 0.0

    def encode(self) -> bytes:
        if isinstance(self.data, bytes):
            return self.data
        text = self.data if isinstance(self.data, str) else json.dumps(self.data)
        return f"data: {text}\n\n".encode()


DONE = "[DONE]"


def chunk(delta: dict[str, Any] | None = None, finish_reason: str | None = None) -> dict[str, Any]:
    """One `chat.completion.chunk` as OpenAI sends it, for choice 0."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "test-model",
        "system_fingerprint": None,
        "choices": [
            {"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish_reason}
        ],
    }


def _pieces(text: str, count: int) -> list[str]:
    """`text` cut into `count` pieces (fewer if it is shorter), joined back exactly."""
    size = max(1, -(-len(text) // max(1, count)))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def stream_frames(
    tokens: Iterable[str] = (),
    tool_calls: Iterable[tuple[str, str]] = (),
    *,
    pieces: int = 3,
    delay: float = 0.0,
    done: bool = True,
) -> list[Frame]:
    """A streamed reply the way OpenAI sends it: a role chunk (content ""), one chunk per text
    token, then each tool call (name, arguments JSON text) as a first fragment with index, id,
    type and name, followed by its arguments in `pieces` fragments; a finish chunk ("stop", or
    "tool_calls" when there are calls) and `data: [DONE]` (unless `done` is false). Every frame
    comes `delay` seconds after the previous one."""
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"content": token} for token in tokens]
    calls = list(tool_calls)
    for index, (name, arguments) in enumerate(calls):
        first = {"index": index, "id": f"call_{index}", "type": "function"}
        deltas.append({"tool_calls": [{**first, "function": {"name": name, "arguments": ""}}]})
        deltas += [
            {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
            for piece in _pieces(arguments, pieces)
        ]
    frames = [Frame(chunk(delta), delay) for delta in deltas]
    frames.append(Frame(chunk({}, "tool_calls" if calls else "stop"), delay))
    if done:
        frames.append(Frame(DONE, delay))
    return frames


@dataclass
class Scripted:
    status: int = 200
    body: Any = field(default_factory=dict)  # JSON-encoded, unless `raw` or `stream` is given
    delay: float = 0.0  # seconds before the status line
    raw: bytes | None = None  # the exact body bytes (HTML, broken JSON, ...)
    content_type: str | None = None  # default: application/json, text/event-stream for a stream
    headers: dict[str, str] = field(default_factory=dict)
    drip: float = 0.0  # send the status line, headers and body one byte per `drip` seconds
    hang: bool = False  # accept the request, never answer (until the server stops)
    stream: list[Frame] | None = None  # a streamed body: these frames, one by one
    chunked: bool = True  # a stream's framing: chunked transfer coding, else ended by closing
    cut: bool = False  # a chunked stream closes after its frames without the last chunk
    # A stream waits here after its first frame until as many streams are open as the barrier's
    # parties (concurrency tests: every reply in flight at once, or the barrier breaks).
    gate: threading.Barrier | None = None

    def payload(self) -> bytes:
        return self.raw if self.raw is not None else json.dumps(self.body).encode()


@dataclass
class StreamLog:
    """What the server saw of one streamed response."""

    frames: int  # frames scripted
    frames_written: int = 0  # frames written to the socket (and flushed)
    disconnected: threading.Event = field(default_factory=threading.Event)  # client left early
    ended: threading.Event = field(default_factory=threading.Event)  # all written, or client left
    disconnected_at: float | None = None  # time.monotonic() when the disconnect was noticed


def _client_gone(connection: socket.socket, seconds: float, stopping: threading.Event) -> bool:
    """Wait `seconds`; True as soon as the client closed its end (a readable socket that reads
    EOF: the client sent its whole request already, so nothing else can arrive), or the server
    is stopping."""
    until = time.monotonic() + seconds
    while True:
        if stopping.is_set():
            return True
        left = until - time.monotonic()
        readable, _, _ = select.select([connection], [], [], max(0.0, min(left, 0.05)))
        if readable:
            try:
                if connection.recv(1, socket.MSG_PEEK) == b"":
                    return True
            except OSError:
                return True
            time.sleep(max(0.0, until - time.monotonic()))  # a stray byte: not a disconnect
            return False
        if left <= 0:
            return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a concurrency test opens many connections at once


class ChatCompletionsServer:
    """`default`, when given, makes the response of a request nothing was queued for, from the
    request's body (concurrency tests: many clients, each answered from what it asked)."""

    def __init__(self, default: Callable[[dict[str, Any]], Scripted] | None = None) -> None:
        self.responses: deque[Scripted] = deque()
        self.requests: list[dict[str, Any]] = []
        self.streams: list[StreamLog] = []
        self.stopping = threading.Event()
        self.default = default
        self._open_lock = threading.Lock()
        self.open_streams = 0
        self.max_open_streams = 0  # the most streams being written at once
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                outer.requests.append(
                    {"path": self.path, "auth": self.headers.get("Authorization"),
                     "body": json.loads(self.rfile.read(length))}
                )  # fmt: skip
                if outer.responses:
                    scripted = outer.responses.popleft()
                elif outer.default is not None:
                    scripted = outer.default(outer.requests[-1]["body"])
                else:
                    scripted = Scripted(500, {"error": {"message": "no scripted response"}})
                self.close_connection = True
                if scripted.hang:
                    outer.stopping.wait()
                    return
                time.sleep(scripted.delay)
                if scripted.stream is not None:
                    self._stream(scripted)
                    return
                payload = scripted.payload()
                headers = {"Content-Type": scripted.content_type or "application/json"}
                headers |= scripted.headers
                headers["Content-Length"] = str(len(payload))
                message = self._head(scripted.status, headers) + payload
                try:
                    if scripted.drip:
                        for i in range(len(message)):
                            if outer.stopping.wait(scripted.drip):
                                return
                            self.wfile.write(message[i : i + 1])
                            self.wfile.flush()
                    else:
                        self.wfile.write(message)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout and deadline tests)

            def _head(self, status: int, headers: dict[str, str]) -> bytes:
                # Every response closes its connection (close_connection above), and says so:
                # a client must not pool it and send its next request into a closing socket.
                headers = {**headers, "Connection": "close"}
                head = [f"HTTP/1.1 {status} Scripted"]
                head += [f"{name}: {value}" for name, value in headers.items()]
                return ("\r\n".join(head) + "\r\n\r\n").encode()

            def _stream(self, scripted: Scripted) -> None:
                log = StreamLog(frames=len(scripted.stream or []))
                outer.streams.append(log)
                with outer._open_lock:
                    outer.open_streams += 1
                    outer.max_open_streams = max(outer.max_open_streams, outer.open_streams)
                headers = {"Content-Type": scripted.content_type or "text/event-stream"}
                headers["Cache-Control"] = "no-cache"
                headers |= scripted.headers
                if scripted.chunked:
                    headers["Transfer-Encoding"] = "chunked"
                else:
                    headers["Connection"] = "close"
                try:
                    self._send(self._head(scripted.status, headers))
                    for frame in scripted.stream or []:
                        if _client_gone(self.connection, frame.delay, outer.stopping):
                            if outer.stopping.is_set():
                                return  # the test is over
                            raise ConnectionResetError("the client closed the connection")
                        data = frame.encode()
                        if scripted.chunked and data:
                            data = b"%x\r\n%s\r\n" % (len(data), data)
                        self._send(data)
                        log.frames_written += 1
                        if scripted.gate is not None and log.frames_written == 1:
                            scripted.gate.wait()
                    if scripted.chunked and not scripted.cut:
                        self._send(b"0\r\n\r\n")
                except threading.BrokenBarrierError:
                    return  # not enough streams at once: this one ends unfinished
                except OSError:  # BrokenPipeError, ConnectionResetError: the client went away
                    log.disconnected_at = time.monotonic()
                    log.disconnected.set()
                finally:
                    with outer._open_lock:
                        outer.open_streams -= 1
                    log.ended.set()

            def _send(self, data: bytes) -> None:
                self.wfile.write(data)
                self.wfile.flush()

            def log_message(self, *args) -> None:
                pass

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ChatCompletionsServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
