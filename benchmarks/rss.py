"""Worker memory over the run: the growth of each gunicorn worker's RSS after warm-up."""

from __future__ import annotations

import statistics

from benchmarks.probes import RssSampler

_WINDOW = 10  # samples averaged at each end, so one GC pause does not make a trend


def analyse(sampler: RssSampler) -> dict:
    warm = sampler.marks.get("warm", 0.0)
    by_pid: dict[int, list[tuple[float, int]]] = {}
    for t, pid, kib in sampler.samples:
        by_pid.setdefault(pid, []).append((t, kib))
    workers = {}
    for pid, samples in by_pid.items():
        after = [kib for t, kib in samples if t >= warm]
        if len(after) < 2:
            continue
        window = max(1, min(_WINDOW, len(after) // 4))
        first = statistics.median(after[:window])
        last = statistics.median(after[-window:])
        workers[str(pid)] = {
            "first_kib": first,
            "last_kib": last,
            "max_kib": max(after),
            "growth_percent": (last - first) / first * 100,
            "seconds_observed": samples[-1][0] - warm,
        }
    growth = [w["growth_percent"] for w in workers.values()]
    return {
        "interval_seconds": sampler.interval,
        "marks": sampler.marks,
        "workers": workers,
        "max_growth_percent": max(growth) if growth else None,
        "samples": sampler.samples,
    }
