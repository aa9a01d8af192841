"""Plots from results.json (matplotlib, PNG and SVG): throughput and p99 per variant, the latency
distribution, and worker RSS over the run.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from benchmarks import concurrency_report, machine

PLOTS = ("throughput", "latency", "rss", "concurrency")


def _save(fig, out: Path, name: str, results: dict) -> None:
    fig.text(0.01, 0.005, machine.line(results["machine"]), fontsize=7, color="0.4")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    for ext in ("png", "svg"):
        fig.savefig(out / f"{name}.{ext}", dpi=110)
    plt.close(fig)


def throughput(results: dict, out: Path) -> None:
    summary = results["variants"]["summary"]
    labels = results["variants"]["labels"]
    names = sorted(summary, key=lambda n: summary[n]["rps_median"], reverse=True)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    y = range(len(names))
    med = [summary[n]["rps_median"] for n in names]
    err = [
        [m - summary[n]["rps_min"] for n, m in zip(names, med, strict=True)],
        [summary[n]["rps_max"] - m for n, m in zip(names, med, strict=True)],
    ]
    colors = ["tab:red" if n == "project" else "tab:blue" for n in names]
    left.barh(y, med, xerr=err, color=colors, capsize=3)
    left.set_yticks(list(y), [labels[n] for n in names], fontsize=8)
    left.invert_yaxis()
    left.set_xlabel("requests/s (median of rounds; bars: min-max)")
    left.set_title("Throughput")
    right.barh(y, [summary[n]["p99_ms"] for n in names], color=colors)
    right.set_yticks(list(y), [n for n in names], fontsize=8)
    right.invert_yaxis()
    right.set_xlabel("p99 latency, ms (median of rounds)")
    right.set_title("p99 latency")
    _save(fig, out, "throughput", results)


def _tail(percentile: float) -> float:
    """x position that gives the tail room: 50 -> 0.3, 90 -> 1, 99 -> 2, 99.9 -> 3."""
    return -math.log10(1 - percentile / 100)


def latency(results: dict, out: Path) -> None:
    summary = results["variants"]["summary"]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    curves = [(name, entry["latency_percentiles_ms"]) for name, entry in summary.items()]
    outage = results.get("outage", {}).get("down")
    if outage:
        curves.append(("project, Redis stopped", outage["latency_percentiles_ms"]))
    for name, percentiles in curves:
        points = sorted((float(p), ms) for p, ms in percentiles.items())
        ax.plot(
            [_tail(p) for p, _ in points], [ms for _, ms in points], marker="o", markersize=3,
            label=name, linewidth=2.5 if name.startswith("project") else 1.2,
            linestyle="--" if "stopped" in name else "-",
        )  # fmt: skip
    ticks = (10, 50, 90, 99, 99.9, 99.99)
    ax.set_xticks([_tail(p) for p in ticks], [f"p{p:g}" for p in ticks])
    ax.set_yscale("log")
    ax.set_xlabel("percentile (tail stretched)")
    ax.set_ylabel("latency, ms (log)")
    ax.set_title("Latency distribution (wrk, median of rounds per percentile)")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    _save(fig, out, "latency", results)


def rss(results: dict, out: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    by_pid: dict[int, list[tuple[float, int]]] = {}
    for t, pid, kib in results["rss"]["samples"]:
        by_pid.setdefault(pid, []).append((t, kib))
    for pid, samples in sorted(by_pid.items()):
        ax.plot([t for t, _ in samples], [kib / 1024 for _, kib in samples], label=f"worker {pid}")
    for name, t in results["rss"]["marks"].items():
        ax.axvline(t, color="0.6", linestyle=":")
        ax.text(t, ax.get_ylim()[0], f" {name}", fontsize=7, va="bottom", rotation=90)
    ax.set_xlabel("seconds since the server started")
    ax.set_ylabel("VmRSS, MiB")
    ax.set_title("gunicorn worker RSS over the run")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    _save(fig, out, "rss", results)


def write_all(results: dict, out: Path) -> list[Path]:
    throughput(results, out)
    latency(results, out)
    rss(results, out)
    concurrency_report.plot(results, out, _save)
    return [out / f"{name}.{ext}" for name in PLOTS for ext in ("png", "svg")]
