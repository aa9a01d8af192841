"""How long and how much: the full run (`make bench`, <= 10 min on 2 cores) and the quick one
(`BENCH_QUICK=1`, <= 2 min, what the smoke test runs). Only durations and counts differ.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Config:
    quick: bool
    out: Path
    rounds: int = 5
    seconds: float = 5.0
    warmup_seconds: float = 2.0
    connections: int = 16
    wrk_threads: int = 2
    companies: int = 50
    services: int = 40
    sizes: tuple[int, ...] = (10, 40, 400)
    size_group: int = 10
    size_rounds: int = 3
    scale_companies: int = 5000
    outage_rounds: int = 3
    stampede_concurrency: int = 64
    stampede_repeats: int = 3
    miss_probes: int = 10
    chat_replies: int = 10
    stream_requests: int = 20  # per provider, streamed and plain each
    stream_warmup: int = 2
    stream_tokens: int = 40  # the scripted model's reply, one token every stream_token_ms
    stream_token_ms: float = 25.0
    soak_seconds: float = 0.0
    rss_interval: float = 1.0

    @classmethod
    def from_env(cls, repo: Path) -> Config:
        quick = os.environ.get("BENCH_QUICK", "").strip().lower() in {"1", "true", "yes", "on"}
        out = Path(os.environ.get("BENCH_OUT", "").strip() or repo / "build" / "bench")
        soak = float(os.environ.get("BENCH_SOAK_SECONDS", "0") or 0)
        if not quick:
            return cls(quick=False, out=out, soak_seconds=soak)
        return cls(
            quick=True, out=out, rounds=2, seconds=2.0, warmup_seconds=1.0, size_group=3,
            size_rounds=1, scale_companies=150, outage_rounds=1, stampede_repeats=1,
            miss_probes=3, chat_replies=3, stream_requests=4, stream_warmup=1,
            soak_seconds=soak, rss_interval=0.5,
        )  # fmt: skip
