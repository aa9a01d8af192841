"""The streaming phase: how long a customer waits for the first words of a reply
(`POST /v1/chat/completions` with `stream: true`) against how long the whole reply takes, and the
same request without streaming as the baseline, for both providers, through gunicorn.

- catalog: the provider computes its reply at once and streams it in chunks (the main server).
- openai: a server of its own whose provider talks to the scripted chat-completions server, which
  streams a reply of `stream_tokens` tokens, one every `stream_token_ms` (a hosted model's pace);
  a non-streaming request gets the same reply as one JSON body after the same total time.

Requests run one at a time, streaming and non-streaming alternating (the order swaps every
round), each a new conversation. Times are read on the client from the bytes as they arrive.
"""

from __future__ import annotations

import http.client
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks.config import Config
from benchmarks.dataset import Tenant
from benchmarks.stack import Gunicorn

PATH = "/v1/chat/completions"
CATALOG_QUESTION = "What services do you offer?"
OPENAI_QUESTION = "How much is payroll?"
# The scripted model's reply: cut into `stream_tokens` word-sized tokens (spaces kept).
OPENAI_REPLY = (
    "Payroll costs 35.00 SAR per employee per month. It covers payslips, GOSI contributions and "
    "the WPS salary file, prepared and checked by our team before the end of each month, so your "
    "staff are paid on time. Would you like me to place an order for payroll, or tell you more "
    "about our bookkeeping and VAT filing services first? I can also compare prices for you."
)


@dataclass
class Timing:
    """One request, seen from the client: milliseconds since the request was sent."""

    total_ms: float  # [DONE] read (streaming), or the whole body read (not streaming)
    first_content_ms: float | None = None  # the first chunk with non-empty delta.content
    headers_ms: float | None = None
    content_chunks: int = 0
    text: str = ""
    frames: list[str] = field(default_factory=list)


def _post(port: int, key: str, body: dict) -> tuple[http.client.HTTPConnection, float, object]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.connect()  # the request's clock starts at its first byte, not at the TCP handshake
    started = time.perf_counter()
    conn.request(
        "POST", PATH, body=json.dumps(body),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                 "Accept": "text/event-stream" if body.get("stream") else "application/json"},
    )  # fmt: skip
    return conn, started, conn.getresponse()


def stream_once(port: int, key: str, model: str, message: str) -> Timing:
    """One streamed reply, parsed frame by frame as the bytes arrive (read1: what is there)."""
    body = {"model": model, "messages": [{"role": "user", "content": message}], "stream": True}
    conn, started, response = _post(port, key, body)
    try:
        ms = lambda: (time.perf_counter() - started) * 1e3  # noqa: E731 -- a clock, read inline
        if response.status != 200:
            raise RuntimeError(f"stream: HTTP {response.status}: {response.read()[:300]!r}")
        kind = response.getheader("Content-Type", "")
        if not kind.startswith("text/event-stream"):
            raise RuntimeError(f"stream: Content-Type {kind!r}, not text/event-stream")
        timing = Timing(total_ms=0.0, headers_ms=ms())
        buffer, done, text = b"", False, []
        while not done:
            data = response.read1(65536)
            if not data:
                raise RuntimeError(f"stream: closed before [DONE]; frames: {timing.frames[-3:]}")
            buffer += data.replace(b"\r\n", b"\n")
            while b"\n\n" in buffer and not done:
                frame, buffer = buffer.split(b"\n\n", 1)
                payload = b"\n".join(
                    line[5:].lstrip(b" ")
                    for line in frame.split(b"\n")
                    if line.startswith(b"data:")
                ).decode()
                if not payload:
                    continue
                timing.frames.append(payload)
                if payload == "[DONE]":
                    timing.total_ms, done = ms(), True
                    continue
                chunk = json.loads(payload)
                if "error" in chunk:
                    raise RuntimeError(f"stream: error frame {payload[:300]}")
                choices = chunk.get("choices") or [{}]
                content = (choices[0].get("delta") or {}).get("content")
                if content:
                    if timing.first_content_ms is None:
                        timing.first_content_ms = ms()
                    timing.content_chunks += 1
                    text.append(content)
        timing.text = "".join(text)
        return timing
    finally:
        conn.close()


def complete_once(port: int, key: str, model: str, message: str) -> Timing:
    """The same request without streaming: one chat.completion body."""
    body = {"model": model, "messages": [{"role": "user", "content": message}]}
    conn, started, response = _post(port, key, body)
    try:
        raw = response.read()
        total = (time.perf_counter() - started) * 1e3
        if response.status != 200:
            raise RuntimeError(f"completion: HTTP {response.status}: {raw[:300]!r}")
        content = json.loads(raw)["choices"][0]["message"]["content"]
        return Timing(total_ms=total, text=content)
    finally:
        conn.close()


def p90(values: list[float]) -> float:
    return (
        statistics.quantiles(values, n=10, method="inclusive")[8] if len(values) > 1 else values[0]
    )


def summarise(streamed: list[Timing], completed: list[Timing]) -> dict:
    first = [t.first_content_ms for t in streamed if t.first_content_ms is not None]
    if len(first) != len(streamed):
        raise RuntimeError("a streamed reply had no content chunk")
    whole = [t.total_ms for t in streamed]
    baseline = [t.total_ms for t in completed]
    ratios = [t.first_content_ms / t.total_ms for t in streamed]  # type: ignore[operator]
    return {
        "requests": len(streamed),
        "first_content_ms_median": statistics.median(first),
        "first_content_ms_p90": p90(first),
        "complete_ms_median": statistics.median(whole),
        "complete_ms_p90": p90(whole),
        "first_vs_complete_median": statistics.median(ratios),
        "first_vs_complete_of_medians": statistics.median(first) / statistics.median(whole),
        "headers_ms_median": statistics.median(t.headers_ms or 0.0 for t in streamed),
        "content_chunks_median": statistics.median(t.content_chunks for t in streamed),
        "non_streaming_requests": len(completed),
        "non_streaming_ms_median": statistics.median(baseline),
        "non_streaming_ms_p90": p90(baseline),
        "each": [
            {
                "first_content_ms": t.first_content_ms,
                "complete_ms": t.total_ms,
                "content_chunks": t.content_chunks,
            }
            for t in streamed
        ],
        "non_streaming_each_ms": baseline,
    }


def rounds(
    config: Config,
    tenants: list[Tenant],
    ask: Callable[[Tenant, bool], Timing],
    before: Callable[[bool], None] = lambda stream: None,
) -> tuple[list[Timing], list[Timing]]:
    """`config.stream_warmup` + `config.stream_requests` rounds of one streamed and one plain
    request (the order swaps every round); the warm-up rounds are dropped. `before(stream)` runs
    before each request (the openai phase scripts its upstream there)."""
    streamed, completed = [], []
    for round_no in range(config.stream_warmup + config.stream_requests):
        tenant = tenants[round_no % len(tenants)]
        order = (True, False) if round_no % 2 == 0 else (False, True)
        for stream in order:
            before(stream)
            timing = ask(tenant, stream)
            if round_no >= config.stream_warmup:
                (streamed if stream else completed).append(timing)
    return streamed, completed


def catalog(config: Config, server: Gunicorn, tenants: list[Tenant]) -> dict:
    """The catalog provider on the main server: its streamed text must equal the plain reply."""

    def ask(tenant: Tenant, stream: bool) -> Timing:
        call = stream_once if stream else complete_once
        return call(server.port, tenant.key, tenant.slug, CATALOG_QUESTION)

    streamed, completed = rounds(config, tenants, ask)
    for s, c in zip(streamed, completed, strict=True):
        if s.text != c.text:
            raise RuntimeError(f"catalog: streamed {s.text[:80]!r} != plain {c.text[:80]!r}")
    return {"question": CATALOG_QUESTION, **summarise(streamed, completed)}


def openai(config: Config, env: dict, workdir, tenants: list[Tenant]) -> dict:
    """The openai provider against the scripted upstream, on a gunicorn of its own."""
    from testsupport.chat_completions import (
        ChatCompletionsServer,
        Scripted,
        completion,
        provider_env,
        stream_frames,
    )

    words = OPENAI_REPLY.split(" ")[: config.stream_tokens]
    tokens = [w + " " for w in words[:-1]] + [words[-1]]
    reply = "".join(tokens)
    pace = config.stream_token_ms / 1e3
    # role chunk, tokens, finish chunk and [DONE], each one interval after the one before
    upstream_seconds = sum(frame.delay for frame in stream_frames(tokens, delay=pace))
    with ChatCompletionsServer() as upstream:
        server_env = {**env, **provider_env(upstream.base_url)}
        server = Gunicorn(server_env, workdir).start(f"/bench/bare/{tenants[0].id}")
        try:

            def script(stream: bool) -> None:
                if stream:
                    upstream.responses.append(Scripted(stream=stream_frames(tokens, delay=pace)))
                else:
                    upstream.responses.append(
                        Scripted(body=completion(reply), delay=upstream_seconds)
                    )

            def ask(tenant: Tenant, stream: bool) -> Timing:
                seen = len(upstream.requests)
                call = stream_once if stream else complete_once
                timing = call(server.port, tenant.key, tenant.slug, OPENAI_QUESTION)
                calls = upstream.requests[seen:]
                if len(calls) != 1 or bool(calls[0]["body"].get("stream")) != stream:
                    modes = [bool(c["body"].get("stream")) for c in calls]
                    raise RuntimeError(f"openai: upstream calls with stream={modes} for {stream}")
                if timing.text != reply:
                    raise RuntimeError(f"openai: got {timing.text[:80]!r}, not the scripted reply")
                return timing

            streamed, completed = rounds(config, tenants, ask, before=script)
        finally:
            server.stop()
    return {
        "question": OPENAI_QUESTION,
        "upstream_tokens": len(tokens),
        "upstream_token_ms": config.stream_token_ms,
        "upstream_ms": upstream_seconds * 1e3,
        **summarise(streamed, completed),
    }
