"""A scripted chat-completions model at a model's pace, for many concurrent replies:
`python -m benchmarks.upstream PORT TOKENS TOKEN_MS`.

One asyncio process (the test suite's threaded scripted server is for exact scripts, not a
thousand streams), with keep-alive connections as a hosted model's API: every POST gets the same
reply, streamed as `TOKENS` content chunks one every
`TOKEN_MS` (role chunk first, finish chunk and [DONE] last), or as one JSON body after the same
time. It prints `ready` when listening; `GET /stats` answers the streams served, the most open at
once and those whose client went away early (`GET /stats/reset`: the same, then counts anew).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

REPLY_WORD = "word "
stats = {"streams": 0, "completions": 0, "open": 0, "max_open": 0, "client_gone": 0}


def _chunk(delta: dict, finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "bench-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    data = b"data: " + json.dumps(body).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


def reply_text(tokens: int) -> str:
    return (REPLY_WORD * tokens).rstrip()


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, dict]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return lines[0], (json.loads(body) if body else {})


async def _serve(reader, writer, tokens: int, pace: float) -> None:
    """One connection, kept alive across requests as a hosted model's API keeps it."""
    try:
        while True:
            try:
                request_line, body = await _read_request(reader)
            except (asyncio.IncompleteReadError, ConnectionError, ValueError):
                return
            if request_line.startswith("GET /stats"):
                payload = json.dumps(stats).encode()
                if request_line.startswith("GET /stats/reset"):
                    stats.update(streams=0, completions=0, max_open=stats["open"], client_gone=0)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
                writer.write(b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(payload))
                writer.write(payload)
                await writer.drain()
                return
            if not await _reply(reader, writer, body, tokens, pace):
                return
    finally:
        writer.close()


async def _reply(reader, writer, body: dict, tokens: int, pace: float) -> bool:
    """One reply; False when the client went away."""
    words = [REPLY_WORD] * (tokens - 1) + [REPLY_WORD.rstrip()]
    stats["open"] += 1
    stats["max_open"] = max(stats["max_open"], stats["open"])
    try:
        if body.get("stream"):
            stats["streams"] += 1
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            writer.write(_chunk({"role": "assistant", "content": ""}))
            await writer.drain()
            for word in words:
                await asyncio.sleep(pace)
                if reader.at_eof():
                    raise ConnectionResetError
                writer.write(_chunk({"content": word}))
                await writer.drain()
            writer.write(_chunk({}, "stop"))
            data = b"data: [DONE]\n\n"
            writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
            await writer.drain()
        else:
            stats["completions"] += 1
            await asyncio.sleep(pace * tokens)
            payload = json.dumps(
                {
                    "id": "chatcmpl-bench",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": "bench-model",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "".join(words)},
                            "finish_reason": "stop",
                        }
                    ],
                }
            ).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            writer.write(b"Content-Length: %d\r\n\r\n" % len(payload))
            writer.write(payload)
            await writer.drain()
        return True
    except ConnectionError:
        stats["client_gone"] += 1
        return False
    finally:
        stats["open"] -= 1


async def main(port: int, tokens: int, token_ms: float) -> None:
    server = await asyncio.start_server(
        lambda r, w: _serve(r, w, tokens, token_ms / 1e3), "127.0.0.1", port, backlog=4096
    )
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])))
