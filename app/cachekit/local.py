"""Per-process building blocks of the cache: the local entry layer and the single flight.

The local layer keeps decoded values next to the generation they were stored under. It never
answers on its own: a hit still reads the current generation from Redis (one GET of a few bytes)
and is accepted only if it matches, so the layer saves the transfer and decoding of the entry,
not a single consistency check.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class LocalEntry:
    generation: int
    value: Any
    expires_at: float


class LocalEntries:
    """A bounded LRU of decoded entries with their generation and expiry (thread-safe)."""

    def __init__(self, max_entries: Callable[[], int]) -> None:
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, LocalEntry] = OrderedDict()

    def get(self, scope: Hashable) -> LocalEntry | None:
        with self._lock:
            entry = self._entries.get(scope)
            if entry is None:
                return None
            if entry.expires_at <= time.monotonic():
                del self._entries[scope]
                return None
            self._entries.move_to_end(scope)
            return entry

    def put(self, scope: Hashable, generation: int, value: Any, ttl: float) -> None:
        limit = self._max_entries()
        if limit <= 0:
            return
        with self._lock:
            self._entries[scope] = LocalEntry(generation, value, time.monotonic() + ttl)
            self._entries.move_to_end(scope)
            while len(self._entries) > limit:
                self._entries.popitem(last=False)

    def discard(self, scope: Hashable) -> None:
        with self._lock:
            self._entries.pop(scope, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class SingleFlight:
    """Threads of this process that ask for the same key together share the first one's call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[Hashable, _Flight] = {}

    def run(self, key: Hashable, call: Callable[[], Any]) -> Any:
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if leader:
                flight = self._flights[key] = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.result
        try:
            flight.result = call()
            return flight.result
        except BaseException as error:
            flight.error = error
            raise
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()
