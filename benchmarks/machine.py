"""The date-and-machine line every report carries: numbers mean nothing without it."""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> float | None:
    """The 1-minute load average: a busy machine (other jobs) explains noisy rounds."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def describe() -> dict[str, str | int | float | None]:
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": len(os.sched_getaffinity(0)),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_start": load_average(),
    }


def line(machine: dict) -> str:
    return (
        f"{machine['date']} · {machine['cpu']} · {machine['cores']} cores · "
        f"Linux {machine['kernel']} · Python {machine['python']}"
    )
