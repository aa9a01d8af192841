"""A local HTTP server that speaks the chat-completions wire format, for the real OpenAI SDK.

Each test queues responses; every request body is recorded. A response can misbehave the ways
real upstreams and their proxies do: a raw (non-JSON, HTML) body, extra headers such as
Retry-After, a delay before answering, a body dripped one byte at a time, or a hang (no answer
until the client gives up).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


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
class Scripted:
    status: int = 200
    body: Any = field(default_factory=dict)  # JSON-encoded, unless `raw` is given
    delay: float = 0.0  # seconds before the status line
    raw: bytes | None = None  # the exact body bytes (HTML, broken JSON, ...)
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    drip: float = 0.0  # send the status line, headers and body one byte per `drip` seconds
    hang: bool = False  # accept the request, never answer (until the server stops)

    def payload(self) -> bytes:
        return self.raw if self.raw is not None else json.dumps(self.body).encode()


class ChatCompletionsServer:
    def __init__(self) -> None:
        self.responses: deque[Scripted] = deque()
        self.requests: list[dict[str, Any]] = []
        self.stopping = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                outer.requests.append(
                    {"path": self.path, "auth": self.headers.get("Authorization"),
                     "body": json.loads(self.rfile.read(length))}
                )  # fmt: skip
                scripted = (
                    outer.responses.popleft()
                    if outer.responses
                    else Scripted(500, {"error": {"message": "no scripted response"}})
                )
                if scripted.hang:
                    outer.stopping.wait()
                    return
                time.sleep(scripted.delay)
                payload = scripted.payload()
                head = [f"HTTP/1.1 {scripted.status} Scripted"]
                headers = {"Content-Type": scripted.content_type, **scripted.headers}
                headers["Content-Length"] = str(len(payload))
                head += [f"{name}: {value}" for name, value in headers.items()]
                message = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
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
                self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

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
