"""The stored form of a cache entry: `{"g": generation, "e": expiry (epoch s), "d": payload}` as
compact JSON. Plain data only: nothing pickled ever goes into or comes out of Redis."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any


def seal(generation: int, ttl: float, payload: Any) -> bytes:
    envelope = {"g": generation, "e": time.time() + ttl, "d": payload}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def unseal(raw: bytes, generation: int, decode: Callable[[Any], Any]) -> tuple[Any, float] | None:
    """The decoded value and its expiry, or None when it was stored under another generation
    (before the last invalidation). Raises on any foreign shape (the caller counts it)."""
    envelope = json.loads(raw)
    if envelope["g"] != generation:
        return None
    return decode(envelope["d"]), float(envelope["e"])
