"""The whole hit path against what a user of the seed's fix writes, and where the difference goes.

Servers side by side, all under the image's gunicorn configuration, measured in rotating rounds
with wrk (as the server-options phase does):
- the project: `GET /api/v1/services`, authenticated, every middleware, metrics and access log;
- the project with its access log off (GUNICORN_ACCESS_LOG=false);
- a minimal Django project (benchmarks/minimal/): no middleware, no authentication, no metrics;
  its seed's fix (`cache.get`/`cache.set`, django-redis, JSON) and its bare view (bytes from
  memory).

Then a sampling profile (py-spy) of one project worker under the same load attributes each CPU
sample to the most specific part of the request path its stack passes through.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

from benchmarks import load, probes
from benchmarks.config import Config
from benchmarks.dataset import Tenant
from benchmarks.phases import SERVICES_PATH, Bench, log, summarise
from benchmarks.stack import REPO, Gunicorn

LABELS = {
    "project": "this project, full hit path",
    "project_no_access_log": "this project, access log off",
    "minimal_seedfix": "minimal Django app: the seed's fix",
    "minimal_bare": "minimal Django app: bare view",
}
# Most specific first: a sample belongs to the first part whose frames its stack contains.
PARTS = (
    ("access log line", ("gunicorn/glogging.py",)),
    ("Prometheus metrics", ("django_prometheus/", "prometheus_client/")),
    ("authentication and cache lookup (Redis)", ("/redis/", "cachekit/", "tenancy/keys",
                                                 "api/auth.py", "api/ratelimit.py")),
    ("the view and its response", ("assistant/apis.py", "django/http/response.py")),
    ("other middleware (project and Django)", ("/middleware.py", "ops/", "whitenoise/",
                                               "django/middleware/")),
    ("Django's handler, URL resolution, request", ("django/",)),
    ("gunicorn and gevent (parse, write, event loop)", ("gunicorn/", "gevent/")),
)  # fmt: skip


def _servers(env: dict, workdir: Path) -> dict[str, Gunicorn]:
    minimal_env = {**env, "DJANGO_SETTINGS_MODULE": "benchmarks.minimal.settings"}
    minimal = Gunicorn(minimal_env, workdir, app="benchmarks.minimal.app:application", chdir=REPO)
    return {
        "project": Gunicorn(env, workdir),
        "project_no_access_log": Gunicorn({**env, "GUNICORN_ACCESS_LOG": "false"}, workdir),
        "minimal": minimal,
    }


def _targets(name: str, tenants: list[Tenant]) -> list[load.Target]:
    if name.startswith("project"):
        return [load.Target(SERVICES_PATH, t.key) for t in tenants]
    view = name.removeprefix("minimal_")
    return [load.Target(f"/{view}/{t.id}") for t in tenants]


def _same_services(servers: dict[str, Gunicorn], tenants: list[Tenant]) -> None:
    """Every variant serves the project's document for the same company."""
    for tenant in tenants[:3]:
        expected = probes.request(servers["project"].port, SERVICES_PATH, tenant.key).json()
        for view in ("seedfix", "bare"):
            got = probes.request(servers["minimal"].port, f"/{view}/{tenant.id}").json()
            if got["services"] != expected["services"]:
                raise RuntimeError(f"minimal {view} differs from the project for {tenant.slug}")


def profile(server: Gunicorn, bench: Bench, targets: list[load.Target], seconds: float) -> dict:
    """py-spy on one worker while wrk loads the server: the share of CPU samples per part."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    worker = probes.worker_pids(server.pid)[0]
    out = server.workdir / f"profile-{worker}.txt"
    recorder = threading.Thread(
        target=subprocess.run,
        args=([spy, "record", "--pid", str(worker), "--duration", str(int(seconds)), "--rate",
               "250", "--format", "raw", "--output", str(out), "--nonblocking"],),
        kwargs={"capture_output": True, "check": False},
    )  # fmt: skip
    recorder.start()
    bench.measure(targets, seconds + 1.0)
    recorder.join()
    if not out.exists():
        return {"samples": 0, "parts": {}}
    parts: Counter = Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        parts[_part(stack)] += int(count)
    return {
        "samples": total,
        "parts": {name: parts[name] / total for name, _ in (*PARTS, ("other", ()))}
        if total
        else {},
    }


def _part(stack: str) -> str:
    for name, markers in PARTS:
        if any(marker in stack for marker in markers):
            return name
    return "other"


def run(config: Config, env: dict, workdir: Path, pg, rstats, tenants: list[Tenant]) -> dict:
    servers = _servers(env, workdir)
    variants = {
        "project": servers["project"],
        "project_no_access_log": servers["project_no_access_log"],
        "minimal_seedfix": servers["minimal"],
        "minimal_bare": servers["minimal"],
    }
    runs: dict[str, list[dict]] = {name: [] for name in variants}
    names = list(variants)
    try:
        for name, server in servers.items():
            server.start("/health/live" if name.startswith("project") else f"/bare/{tenants[0].id}")
        benches = {name: Bench(config, server, pg, rstats) for name, server in variants.items()}
        _same_services(servers, tenants)
        for name, bench in benches.items():
            bench.warm(_targets(name, tenants))
        for round_no in range(config.rounds):
            for name in names[round_no % len(names) :] + names[: round_no % len(names)]:
                result = benches[name].measure(_targets(name, tenants), config.seconds)
                if result["error_count"]:
                    raise RuntimeError(f"{name}: {result['error_count']} errors")
                runs[name].append(result)
                log(f"{name:22s} {result['rps']:8.0f} req/s  p99 {result['p99_ms']:.2f} ms")
        log("profiling one project worker under the same load")
        where = profile(
            servers["project"], benches["project"], _targets("project", tenants), config.seconds
        )
    finally:
        for server in servers.values():
            server.stop()
    return {
        "labels": LABELS,
        "summary": {name: summarise(rounds) for name, rounds in runs.items()},
        "x_minimal_seedfix_same_round_median": {
            name: statistics.median(
                a["rps"] / b["rps"]
                for a, b in zip(runs[name], runs["minimal_seedfix"], strict=True)
            )
            for name in runs
        },
        "profile": where,
    }


def section(r: dict) -> list[str]:
    """The report's section, from results.json."""
    h = r.get("hitpath")
    if not h:
        return []
    s, x = h["summary"], h["x_minimal_seedfix_same_round_median"]
    lines = [
        "## The whole hit path against a minimal Django app",
        "",
        "The project's `GET /api/v1/services` (authenticated, every middleware, metrics, access "
        "log) against what a user of the seed's fix writes: a plain Django project with no "
        "middleware, no authentication and no metrics (benchmarks/minimal/), under the same "
        "gunicorn configuration, in rotating rounds; every variant serves the same document.",
        "",
        "| server | x minimal seed's fix (same rounds) | req/s median (min-max) | p50 ms | p99 ms "
        "| Redis cmds/req |",
        "|---|---|---|---|---|---|",
    ]
    for name, label in h["labels"].items():
        e = s[name]
        redis = e.get("redis_commands_per_request")
        lines.append(
            f"| {label} | {x[name]:.2f} | {e['rps_median']:,.0f} ({e['rps_min']:,.0f}-"
            f"{e['rps_max']:,.0f}) | {e['p50_ms']:.2f} | {e['p99_ms']:.2f} | "
            f"{'n/a' if redis is None else f'{redis:.2f}'} |"
        )
    parts = h["profile"]["parts"]
    lines += [
        "",
        f"Where a project worker's CPU goes on this load ({h['profile']['samples']:,} py-spy "
        "samples; each sample counted once, under the most specific part its stack passes "
        "through, in the order listed):",
        "",
        "| part of the request path | share of CPU samples |",
        "|---|---|",
    ]
    lines += [f"| {name} | {share:.1%} |" for name, share in parts.items()]
    return [*lines, ""]
