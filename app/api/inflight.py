"""Replies in flight: admission past a limit, and a client's hang-up noticed while the LLM is
silent.

Why a limit: a reply holds memory and an upstream connection for seconds. A worker past
WAZEN_MAX_INFLIGHT_REPLIES answers 503 with Retry-After at once (clients and the SDKs back off
and retry, a load balancer can pick another pod) instead of queueing without bound; the gauge
`wazen_replies_in_flight` is what an autoscaler scales on.

Why a watch: under the gevent worker (docker/gunicorn.conf.py) a reply is a greenlet. A server
notices a client that went away only when it writes to it, and while the LLM thinks nothing is
written, so the upstream would go on (and be paid for) up to the reply deadline. A small greenlet
waits for the client's socket to read EOF and throws ClientGone into the reply's greenlet, where
the pipeline handles it as the hang-up it is: the upstream call is closed, what was said is
stored. It is thrown only while the reply waits on the LLM (`interruptible()`): thrown into a
database round trip it would leave the connection mid-protocol. A hang-up noticed elsewhere is
raised when the reply next waits on the LLM, or noticed by the next write. Without gevent (tests,
a gthread server) there is no watch; the next write notices.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar, Token
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from api.errors import ApiError
from api.metrics import REPLIES_HUNG_UP, REPLIES_IN_FLIGHT, REPLIES_REJECTED

try:
    import gevent
    from gevent import monkey
    from gevent.socket import wait_read
except ImportError:  # pragma: no cover -- gevent is a dependency; a stripped install still runs
    gevent = None

RETRY_AFTER_SECONDS = 1


class ClientGone(GeneratorExit):
    """Thrown into a reply whose client closed its connection. A GeneratorExit, so the reply
    pipeline closes the upstream and stores what was said (as for a stream its server stopped
    reading), and `except Exception` handlers on the way let it pass."""


class _Slots:
    """This worker's count of replies in flight (threads or greenlets share it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.in_flight = 0

    def take(self, limit: int) -> bool:
        with self._lock:
            if self.in_flight >= limit:
                return False
            self.in_flight += 1
        REPLIES_IN_FLIGHT.inc()
        return True

    def give_back(self) -> None:
        with self._lock:
            self.in_flight -= 1
        REPLIES_IN_FLIGHT.dec()


SLOTS = _Slots()


def _watch_available() -> bool:
    return gevent is not None and monkey.is_module_patched("socket")


# The reply the current request (greenlet) produces, while its client is watched.
_watched: ContextVar[InFlightReply | None] = ContextVar("wazen_watched_reply", default=None)


@contextmanager
def interruptible() -> Iterator[None]:
    """The block waits on the LLM: a hang-up noticed during it ends it at once (ClientGone),
    and one noticed before it is raised on entry. Outside such blocks nothing is thrown."""
    reply = _watched.get()
    if reply is None:
        yield
        return
    if reply.gone:
        raise ClientGone()
    reply.interruptible = True
    try:
        yield
    finally:
        reply.interruptible = False


class InFlightReply:
    """One admitted reply: its slot, held until `close()`, and (under gevent) the watch on its
    client's socket."""

    def __init__(self, request: HttpRequest) -> None:
        self._socket = request.META.get("gunicorn.socket")
        self._watcher: Any = None
        self._target: Any = None
        self._closed = False
        self._context_token: Token | None = None
        self.gone = False  # the client closed its connection
        self.interruptible = False  # the reply waits on the LLM now

    def watch_client(self) -> None:
        """Start noticing a hang-up. Call it once the request body is read: unread body bytes
        would look like a live client."""
        if self._closed or self._watcher is not None or self._socket is None:
            return
        if not _watch_available():
            return
        self._target = gevent.getcurrent()
        self._context_token = _watched.set(self)
        self._watcher = gevent.spawn(self._wait_for_eof)

    def _wait_for_eof(self) -> None:
        try:
            wait_read(self._socket.fileno())
            gone = self._socket.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            gone = True
        if gone and not self._closed:  # else: a pipelined request; the next write will tell
            gevent.get_hub().loop.run_callback(self._throw)

    def _throw(self) -> None:
        # Checked when the hub runs it: a reply that finished meanwhile is left alone, and one
        # busy elsewhere than the LLM learns of it at its next wait (`interruptible`).
        if self._closed or self._target is None or self._target.dead:
            return
        self.gone = True
        REPLIES_HUNG_UP.inc()
        if self.interruptible:
            self._target.throw(ClientGone())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._watcher is not None and self._watcher is not gevent.getcurrent():
            self._watcher.kill(block=False)
        if self._context_token is not None:
            with suppress(ValueError):  # closed from another context: nothing of ours is set
                _watched.reset(self._context_token)
        SLOTS.give_back()


def admit(request: HttpRequest) -> InFlightReply:
    """A slot for one more reply in this worker, or the 503 that says come back in a second."""
    if not SLOTS.take(settings.WAZEN_MAX_INFLIGHT_REPLIES):
        REPLIES_REJECTED.inc()
        raise ApiError(
            503,
            "server_busy",
            "This server is producing as many replies as it may at once; retry in a moment.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return InFlightReply(request)


class StreamUntilGone:
    """A streamed body that ends quietly when its client is gone (nobody reads the rest) and
    releases the reply's slot when the server closes the response (Django calls `close()` of a
    streaming iterator that has one)."""

    def __init__(self, chunks: Iterator[bytes], reply: InFlightReply) -> None:
        self._chunks = chunks
        self._reply = reply

    def __iter__(self) -> StreamUntilGone:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except ClientGone:
            raise StopIteration from None

    def close(self) -> None:
        self._reply.close()
