"""The concurrent-replies section of the report and its plot, from results.json alone."""

from __future__ import annotations

from pathlib import Path

LABELS = {
    "gthread": "before: gunicorn gthread 2x4",
    "asgi": "candidate: project as ASGI (uvicorn 2)",
    "gevent": "**now: gunicorn gevent 2**",
    "floor": "floor: bare async view (uvicorn 2)",
}
# The targets at N=128 (1 s replies) and N=1,000 (10 s replies), checked in the report.
TARGETS_128 = {"x_ideal": 0.5, "x_floor": 0.7, "first_p99_ms": 1000, "probe_p99_ms": 250}
TARGET_1000_FIRST_X_FLOOR = 2.0


def _f(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def targets(level: dict) -> list[str]:
    """The targets of the level, each with what was measured in this run."""
    now, floor = level["gevent"], level["floor"]
    n = level["concurrency"]
    if level["reply_s"] == 1.0 and n == 128:
        x_ideal = now["replies_per_s"] / level["ideal_replies_per_s"]
        x_floor = now["replies_per_s"] / floor["replies_per_s"] if floor["replies_per_s"] else 0
        checks = [
            (f"replies/s >= {TARGETS_128['x_ideal']} x ideal", f"{x_ideal:.2f} x",
             x_ideal >= TARGETS_128["x_ideal"]),
            (f"replies/s >= {TARGETS_128['x_floor']} x the floor's", f"{x_floor:.2f} x",
             x_floor >= TARGETS_128["x_floor"]),
            (f"first text p99 <= {TARGETS_128['first_p99_ms']} ms",
             f"{_f(now['first_text_ms_p99'])} ms",
             (now["first_text_ms_p99"] or 1e9) <= TARGETS_128["first_p99_ms"]),
            ("0 errors", str(now["errors"]), now["errors"] == 0),
            (f"services probe p99 <= {TARGETS_128['probe_p99_ms']} ms",
             f"{_f(now['probe_ms_p99'])} ms (floor {_f(floor['probe_ms_p99'])} ms)",
             (now["probe_ms_p99"] or 1e9) <= TARGETS_128["probe_p99_ms"]),
        ]  # fmt: skip
    elif n >= 1000:
        bound = TARGET_1000_FIRST_X_FLOOR * (floor["first_text_ms_p99"] or 0)
        checks = [
            ("0 errors", str(now["errors"]), now["errors"] == 0),
            (f"first text p99 <= {TARGET_1000_FIRST_X_FLOOR:g} x the floor's",
             f"{_f(now['first_text_ms_p99'])} ms vs {_f(bound)} ms",
             (now["first_text_ms_p99"] or 1e9) <= bound),
            ("PostgreSQL connections <= the pools (2 workers x pool)",
             f"{now['db_connections_max']} <= {level['db_pool_limit']}",
             now["db_connections_max"] <= level["db_pool_limit"]),
        ]  # fmt: skip
    else:
        return []
    lines = [f"Targets at N={n:,}:", ""]
    lines += [f"- {name}: {value}, {_verdict(ok)}" for name, value, ok in checks]
    return [*lines, ""]


def section(r: dict) -> list[str]:
    c = r.get("concurrency")
    if not c:
        return []
    lines = [
        "## Concurrent streamed replies (one pod's server, the openai provider)",
        "",
        f"N clients each stream one reply after another (`POST /v1/chat/completions`, a new "
        f"conversation each) for a window; the scripted model (benchmarks/upstream.py) streams "
        f"{c['tokens']} tokens at a model's pace; a prober reads `GET /api/v1/services` every "
        "100 ms beside them. Every server starts fresh for each level, against the same "
        "PostgreSQL and Redis, in the same minute; clients, model and servers share this "
        "machine's cores. RSS: the workers' sum; growth per stream = (peak - idle) / N. DB "
        "connections: PostgreSQL's client backends at the peak (pools of "
        f"{c['db_pool_max_size_per_worker']} per worker).",
        "",
        "| N | reply | server | replies/s (x ideal) | first text p50 / p99 ms | complete p99 ms "
        "| errors | services probe p99 ms | RSS growth KiB/stream | DB conns |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for level in c["levels"]:
        for name in c["servers"]:
            s = level[name]
            x_ideal = s["replies_per_s"] / level["ideal_replies_per_s"]
            lines.append(
                f"| {level['concurrency']:,} | {level['reply_s']:g} s | {LABELS[name]} | "
                f"{s['replies_per_s']:.1f} ({x_ideal:.2f})"
                f" | {_f(s['first_text_ms_p50'])} / {_f(s['first_text_ms_p99'])} | "
                f"{_f(s['complete_ms_p99'])} | {s['errors']} | {_f(s['probe_ms_p99'])} | "
                f"{_f(s['worker_rss_growth_per_stream_kib'])} | {s['db_connections_max']} |"
            )
    lines += ["", "![concurrent replies](concurrency.png)", ""]
    for level in c["levels"]:
        lines += targets(level)
    return lines


def plot(results: dict, out: Path, save) -> None:
    import matplotlib.pyplot as plt

    c = results.get("concurrency")
    if not c:
        return
    levels = c["levels"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.5))
    ticks = [f"N={lv['concurrency']}\n{lv['reply_s']:g} s" for lv in levels]
    width = 0.8 / len(c["servers"])
    panels = (
        ("replies/s (x ideal)", lambda s, lv: s["replies_per_s"] / lv["ideal_replies_per_s"]),
        ("first text p99, ms", lambda s, lv: s["first_text_ms_p99"] or 0),
        ("services probe p99, ms", lambda s, lv: s["probe_ms_p99"] or 0),
    )
    for ax, (title, value) in zip(axes, panels, strict=True):
        for i, name in enumerate(c["servers"]):
            xs = [j + i * width for j in range(len(levels))]
            ax.bar(xs, [value(lv[name], lv) for lv in levels], width,
                   label=LABELS[name].replace("*", ""))  # fmt: skip
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(levels))], ticks, fontsize=8)
        ax.set_title(title)
        if "ms" in title:
            ax.set_yscale("log")
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].legend(fontsize=7)
    save(fig, out, "concurrency", results)
