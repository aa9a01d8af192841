"""Worker memory over the run: the growth of each gunicorn worker's RSS after warm-up."""

from __future__ import annotations

import statistics

from benchmarks.probes import RssSampler

_WINDOW = 10  # samples averaged at each end, so one GC pause does not make a trend


def analyse(sampler: RssSampler) -> dict:
    warm = sampler.marks.get("rounds", 0.0)
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
        "by_phase": by_phase(by_pid, sampler.marks),
        "samples": sampler.samples,
    }


def by_phase(by_pid: dict[int, list[tuple[float, int]]], marks: dict[str, float]) -> dict:
    """Growth within each phase: a steady load (the rounds, a soak) should show none, while a
    phase that brings new work (400-service catalogs, 5,000 companies) may step up once."""
    bounds = sorted(marks.items(), key=lambda item: item[1])
    phases = {}
    for index, (name, start) in enumerate(bounds):
        end = bounds[index + 1][1] if index + 1 < len(bounds) else float("inf")
        growth = []
        for samples in by_pid.values():
            inside = [kib for t, kib in samples if start <= t < end]
            if len(inside) < 4:
                continue
            window = max(1, min(_WINDOW, len(inside) // 4))
            first = statistics.median(inside[:window])
            growth.append((statistics.median(inside[-window:]) - first) / first * 100)
        if growth:
            seconds = None if end == float("inf") else end - start
            phases[name] = {"seconds": seconds, "max_growth_percent": max(growth)}
    return phases
