"""Many concurrent streamed replies and a services probe beside them, from one asyncio client.

N clients each stream one reply after another (`POST /v1/chat/completions`, `stream: true`, a
new conversation each) for a window of time; a prober reads the services endpoint every 100 ms.
Times are read from the bytes as they arrive. Threads could not hold a thousand streams on two
cores; one event loop does, and its own cost is the same for every server it measures.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CHAT_PATH = "/v1/chat/completions"
PROBE_INTERVAL = 0.1
STAGGER_S = 1.0


@dataclass
class LevelResult:
    """One window of load: what the clients saw."""

    concurrency: int
    window_s: float
    first_ms: list[float] = field(default_factory=list)
    complete_ms: list[float] = field(default_factory=list)
    probe_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    probe_errors: Counter = field(default_factory=Counter)
    wrong_text: int = 0
    window_end: Any = None

    def summary(self) -> dict:
        replies = len(self.complete_ms)
        return {
            "concurrency": self.concurrency,
            "window_s": self.window_s,
            "replies": replies,
            "replies_per_s": replies / self.window_s,
            "first_text_ms_p50": _quantile(self.first_ms, 0.5),
            "first_text_ms_p99": _quantile(self.first_ms, 0.99),
            "complete_ms_p50": _quantile(self.complete_ms, 0.5),
            "complete_ms_p99": _quantile(self.complete_ms, 0.99),
            "errors": sum(self.errors.values()) + self.wrong_text,
            "errors_by_kind": {
                **self.errors,
                **({"wrong_text": self.wrong_text} if self.wrong_text else {}),
            },
            "probe_requests": len(self.probe_ms),
            "probe_ms_p50": _quantile(self.probe_ms, 0.5),
            "probe_ms_p99": _quantile(self.probe_ms, 0.99),
            "probe_errors": sum(self.probe_errors.values()),
        }


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class HttpStatusError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


async def _request(port: int, head: str, body: bytes = b"") -> tuple[asyncio.StreamReader, ...]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head.encode() + b"\r\n\r\n" + body)
    status_line = await reader.readline()
    if not status_line:
        writer.close()
        raise ConnectionResetError("closed before the status line")
    status = int(status_line.split()[1])
    chunked = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    return reader, writer, status, chunked


async def _body_pieces(reader: asyncio.StreamReader, chunked: bool):
    """The response body as it arrives, de-chunked."""
    if not chunked:
        while piece := await reader.read(65536):
            yield piece
        return
    while True:
        size = int((await reader.readline()).split(b";")[0], 16)
        if size == 0:
            return
        piece = await reader.readexactly(size + 2)
        yield piece[:-2]


async def stream_once(port: int, key: str, model: str, message: str) -> tuple[float, float, str]:
    """One streamed reply: (ms to the first text, ms to [DONE], the text)."""
    body = json.dumps(
        {"model": model, "messages": [{"role": "user", "content": message}], "stream": True}
    ).encode()
    head = (
        f"POST {CHAT_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nAccept: text/event-stream\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close"
    )
    started = time.perf_counter()
    reader, writer, status, chunked = await _request(port, head, body)
    try:
        if status != 200:
            raise HttpStatusError(status)
        first, text, buffer = None, [], b""
        async for piece in _body_pieces(reader, chunked):
            buffer += piece
            while b"\n\n" in buffer:
                frame, buffer = buffer.split(b"\n\n", 1)
                payload = frame.removeprefix(b"data: ")
                if payload == b"[DONE]":
                    return first or 0.0, (time.perf_counter() - started) * 1e3, "".join(text)
                chunk = json.loads(payload)
                if "error" in chunk:
                    raise RuntimeError(f"error frame: {chunk['error'].get('code')}")
                for choice in chunk.get("choices") or ():
                    content = (choice.get("delta") or {}).get("content")
                    if content:
                        if first is None:
                            first = (time.perf_counter() - started) * 1e3
                        text.append(content)
        raise ConnectionResetError("the stream ended before [DONE]")
    finally:
        writer.close()


async def probe_once(port: int, path: str, key: str) -> float:
    head = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        "Connection: close"
    )
    started = time.perf_counter()
    reader, writer, status, chunked = await _request(port, head)
    try:
        async for _ in _body_pieces(reader, chunked):
            pass
        if status != 200:
            raise HttpStatusError(status)
        return (time.perf_counter() - started) * 1e3
    finally:
        writer.close()


def _error_kind(error: BaseException) -> str:
    if isinstance(error, HttpStatusError):
        return f"http_{error.status}"
    if isinstance(error, asyncio.TimeoutError | TimeoutError):
        return "timeout"
    return type(error).__name__


async def run_level(
    *,
    port: int,
    tenants: list[tuple[str, str]],  # (key, model) pairs the clients take turns with
    concurrency: int,
    window_s: float,
    expected_text: str,
    probe_path: str,
    timeout_s: float,
    message: str = "How much is payroll?",
    at_window_end: Callable[[], Any] | None = None,
) -> LevelResult:
    """`concurrency` clients streaming for `window_s` seconds, joining over the first
    STAGGER_S; the replies completed after that and within the window count (a steady state),
    and every failure in the window is an error."""
    result = LevelResult(concurrency=concurrency, window_s=window_s - STAGGER_S)
    started = time.monotonic()
    counted_from = started + STAGGER_S  # once every client has joined
    stop_at = started + window_s

    async def client(number: int) -> None:
        # Clients join over the first STAGGER_S, as customers do, not as one burst.
        await asyncio.sleep(STAGGER_S * number / concurrency)
        turn = number
        while time.monotonic() < stop_at:
            key, model = tenants[turn % len(tenants)]
            turn += concurrency
            try:
                first, complete, text = await asyncio.wait_for(
                    stream_once(port, key, model, message), timeout_s
                )
            except (OSError, RuntimeError, ValueError, TimeoutError, HttpStatusError) as error:
                if time.monotonic() < stop_at:
                    result.errors[_error_kind(error)] += 1
                await asyncio.sleep(0.05)  # a refused client waits a little, as SDKs do
                continue
            if time.monotonic() > stop_at:
                return  # completed after the window: not counted
            if time.monotonic() < counted_from:
                continue  # completed while clients were still joining
            if text != expected_text:
                result.wrong_text += 1
            result.first_ms.append(first)
            result.complete_ms.append(complete)

    async def prober() -> None:
        key = tenants[0][0]
        while time.monotonic() < stop_at:
            tick = time.monotonic()
            try:
                result.probe_ms.append(
                    await asyncio.wait_for(probe_once(port, probe_path, key), 10)
                )
            except (OSError, ValueError, TimeoutError, HttpStatusError) as error:
                result.probe_errors[_error_kind(error)] += 1
            await asyncio.sleep(max(0.0, PROBE_INTERVAL - (time.monotonic() - tick)))

    tasks = [asyncio.create_task(client(i)) for i in range(concurrency)]
    tasks.append(asyncio.create_task(prober()))
    await asyncio.wait(tasks, timeout=window_s + 1.0)
    if at_window_end is not None:  # e.g. what the model saw, before the hang-ups below
        result.window_end = at_window_end()
    for task in tasks:  # replies still running at the end of the window are hung up on
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return result


def measure(**kwargs) -> dict:
    result = asyncio.run(run_level(**kwargs))
    return {**result.summary(), "window_end": result.window_end}
