"""The load generator: wrk (Debian's package), driven by a generated Lua script.

The script rotates through a list of (path, API key) targets, each wrk thread from its own offset,
and prints wrk's own measurements as one JSON line when the run ends (requests, errors, latency
percentiles in microseconds), so nothing is scraped from wrk's human-readable output.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PERCENTILES = (
    1, 5, 10, 20, 25, 30, 40, 50, 60, 70, 75, 80, 90, 95, 97.5, 99, 99.5, 99.9, 99.99,
)  # fmt: skip
_MARKER = "WRK_JSON "

_SCRIPT = """
local targets = {%(targets)s}
local requests = {}
local index = 0
local thread_count = 0

function setup(thread)
  thread:set("offset", thread_count * 7919)
  thread_count = thread_count + 1
end

function init(args)
  for k, target in ipairs(targets) do
    local headers = {}
    if target[2] ~= "" then headers["Authorization"] = "Bearer " .. target[2] end
    requests[k] = wrk.format("GET", target[1], headers)
  end
  index = (offset or 0) %% #requests
end

function request()
  index = index %% #requests + 1
  return requests[index]
end

function done(summary, latency, _)
  local parts = {}
  for _, p in ipairs({%(percentiles)s}) do
    parts[#parts + 1] = string.format('"%%s": %%d', tostring(p), latency:percentile(p))
  end
  local e = summary.errors
  io.write(string.format(
    '%(marker)s{"requests": %%d, "duration_us": %%d, "bytes": %%d, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}, ' ..
    '"latency_us": {"mean": %%.1f, "max": %%d, "percentiles": {%%s}}}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, table.concat(parts, ", ")))
end
"""


@dataclass(frozen=True)
class Target:
    path: str
    key: str = ""


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise FileNotFoundError("wrk not found: `make bench` installs it (apt-get install wrk)")
    return found


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for ASCII


def write_script(path: Path, targets: list[Target]) -> Path:
    entries = ", ".join(f"{{{_lua_string(t.path)}, {_lua_string(t.key)}}}" for t in targets)
    path.write_text(
        _SCRIPT
        % {
            "targets": entries,
            "percentiles": ", ".join(str(p) for p in PERCENTILES),
            "marker": _MARKER,
        }
    )
    return path


def run(
    *,
    port: int,
    targets: list[Target],
    seconds: float,
    connections: int,
    threads: int,
    script_dir: Path,
) -> dict:
    """One wrk run; returns its JSON summary plus req/s, p50/p99 in milliseconds and error count."""
    script = write_script(script_dir / "wrk-targets.lua", targets)
    completed = subprocess.run(
        [
            wrk_binary(), "-t", str(threads), "-c", str(connections),
            "-d", f"{max(1, round(seconds))}s",  # wrk takes whole seconds
            "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}",
        ],
        capture_output=True, text=True, timeout=seconds + 60, check=False,
    )  # fmt: skip
    lines = [line for line in completed.stdout.splitlines() if line.startswith(_MARKER)]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    summary = json.loads(lines[-1][len(_MARKER) :])
    percentiles = summary["latency_us"]["percentiles"]
    seconds_run = summary["duration_us"] / 1e6
    summary.update(
        rps=summary["requests"] / seconds_run,
        p50_ms=percentiles["50"] / 1e3,
        p99_ms=percentiles["99"] / 1e3,
        error_count=sum(summary["errors"].values()),
    )
    return summary
