"""One time budget per reply, enforced on every socket operation of the HTTP client.

Why at the socket: httpx's timeouts are per operation, so an upstream that drips one byte per
second never trips a 2-second read timeout, and the SDK's own retries add Retry-After sleeps of up
to two minutes on top. Here every connect, read and write of the LLM client is clamped to what is
left of the reply's budget, and fails with a timeout the moment it is spent, whatever the upstream
does (slow headers, slow body, silence).

The budget lives in a thread-local (greenlet-local under gunicorn's gevent workers, which patch
threading): one request per thread or greenlet, and the provider opens the budget around its
whole retry loop (`reply_budget`). A streamed reply is a generator that the caller resumes between
its own work, so it must not leave the thread-local set while suspended: it holds its Budget
object and enters it (`budget_scope`) only around each step that touches the socket.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore2
import httpx2
import openai

_local = threading.local()
KEEPALIVE_CONNECTIONS = 100  # idle upstream connections kept for the next replies


class Budget:
    """A monotonic deadline: how long is left, never negative."""

    def __init__(self, seconds: float) -> None:
        self.expires_at = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.expires_at - time.monotonic())

    @property
    def spent(self) -> bool:
        return self.remaining() <= 0.0


@contextmanager
def budget_scope(budget: Budget) -> Iterator[Budget]:
    """Bound this thread's LLM socket operations by `budget` inside the block; the budget that
    was in force before (usually none) is back in force after it, however the block ends."""
    previous = getattr(_local, "budget", None)
    _local.budget = budget
    try:
        yield budget
    finally:
        _local.budget = previous


@contextmanager
def reply_budget(seconds: float) -> Iterator[Budget]:
    """Bound every LLM socket operation in this thread by one shared budget."""
    with budget_scope(Budget(seconds)) as budget:
        yield budget


def current_budget() -> Budget | None:
    return getattr(_local, "budget", None)


def _clamp(timeout: float | None, error: type[Exception]) -> float | None:
    """The operation's own timeout, shortened to the budget's remainder; raise once spent."""
    budget = current_budget()
    if budget is None:
        return timeout
    remaining = budget.remaining()
    if remaining <= 0.0:
        raise error("the reply deadline is spent")
    return remaining if timeout is None else min(timeout, remaining)


class DeadlineStream(httpcore2.NetworkStream):
    """A network stream whose every read and write is bounded by the reply's budget."""

    def __init__(self, stream: httpcore2.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _clamp(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _clamp(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout=None):
        return DeadlineStream(
            self._stream.start_tls(
                ssl_context, server_hostname, _clamp(timeout, httpcore2.ConnectTimeout)
            )
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore2.NetworkBackend):
    """httpcore's synchronous backend with the budget applied to connects and to the streams."""

    def __init__(self) -> None:
        self._backend = httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        stream = self._backend.connect_tcp(
            host,
            port,
            _clamp(timeout, httpcore2.ConnectTimeout),
            local_address=local_address,
            socket_options=socket_options,
        )
        return DeadlineStream(stream)

    def connect_unix_socket(self, path: str, timeout=None, socket_options=None):
        stream = self._backend.connect_unix_socket(
            path, _clamp(timeout, httpcore2.ConnectTimeout), socket_options=socket_options
        )
        return DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class DeadlineTransport(httpx2.HTTPTransport):
    """httpx's default transport whose connection pool opens its sockets through DeadlineBackend.

    httpx offers no public hook for the network backend, so the backend of the pool it built is
    swapped (every other option stays httpx's own); tests/assistant/test_openai_provider.py proves
    the clamp still reaches the socket with the pinned httpx version.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not hasattr(self._pool, "_network_backend"):
            raise RuntimeError("httpx's connection pool has no network backend to bound")
        self._pool._network_backend = DeadlineBackend()


class DeadlineHttpClient(openai.DefaultHttpxClient):
    """The SDK's default HTTP client on DeadlineTransport; closes its sockets when collected,
    as the SDK's own client does (a provider rebuilt after a settings change leaks nothing).

    `max_connections` bounds the upstream connections open at once. It must not be lower than
    the replies a worker may have in flight: httpx applies a client's `limits` only to the
    transport it builds itself, and its transport's default of 100 made reply 101 of a worker
    wait for a connection until it timed out."""

    def __init__(self, *, max_connections: int, **kwargs: Any) -> None:
        limits = httpx2.Limits(
            max_connections=max_connections,
            max_keepalive_connections=min(max_connections, KEEPALIVE_CONNECTIONS),
        )
        super().__init__(transport=DeadlineTransport(limits=limits), **kwargs)

    def __del__(self) -> None:
        try:
            if not self.is_closed:
                self.close()
        except Exception:  # noqa: S110 -- interpreter shutdown: nothing left to do
            pass
