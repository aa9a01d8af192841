"""The measurements. Each phase returns plain data for results.json; every number in it comes
from wrk, pg_stat_statements, Redis' INFO/MEMORY or /proc, never from a constant.
"""

from __future__ import annotations

import contextlib
import io
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks import load, probes
from benchmarks.config import Config
from benchmarks.dataset import Tenant, close_connections
from benchmarks.stack import Gunicorn

SERVICES_PATH = "/api/v1/services"


@dataclass(frozen=True)
class Variant:
    name: str
    label: str
    target: Callable[[Tenant], load.Target]


def variant(name: str) -> Variant:
    return next(v for v in VARIANTS if v.name == name)


VARIANTS = (
    Variant("bare", "bare Django view, static JSON (the floor)",
            lambda t: load.Target(f"/bench/bare/{t.id}")),
    Variant("bare_redis", "the floor plus one Redis GET of a few bytes (any per-request check)",
            lambda t: load.Target(f"/bench/bare-redis/{t.id}")),
    Variant("seedfix", "the seed's fix: cache.get/cache.set, django-redis, JSON",
            lambda t: load.Target(f"/bench/seedfix/{t.id}")),
    Variant("cachalot", "django-cachalot (ORM cache on Redis)",
            lambda t: load.Target(f"/bench/cachalot/{t.id}")),
    Variant("project", "this project, GET /api/v1/services, hit path",
            lambda t: load.Target(SERVICES_PATH, t.key)),
    Variant("before", "the seed's \"before\" (catalog queried 5x)",
            lambda t: load.Target(f"/bench/before/{t.id}")),
)  # fmt: skip


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def invalidate(slug: str) -> None:
    """The project's own operator command: `manage.py catalog_cache invalidate <slug> --cache
    catalog` (the company's catalog only; its API-key resolutions stay cached)."""
    from django.core.management import call_command

    call_command("catalog_cache", "invalidate", slug, "--cache", "catalog", stdout=io.StringIO())
    close_connections()


def services_of(response: probes.Response) -> list[dict]:
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {response.body[:300]!r}")
    return response.json()["services"]


class Bench:
    """Holds the servers and counters shared by every phase."""

    def __init__(self, config: Config, server: Gunicorn, pg: probes.PgStats, rstats) -> None:
        self.config, self.server, self.pg, self.rstats = config, server, pg, rstats

    # --- one measured wrk run ------------------------------------------------------------------

    def measure(self, targets: list[load.Target], seconds: float, redis_up: bool = True) -> dict:
        self.pg.reset()
        commands_before = self.rstats.commands() if redis_up else 0
        served_before = probes.server_requests(self.server.metrics_port)
        summary = load.run(
            port=self.server.port, targets=targets, seconds=seconds,
            connections=self.config.connections, threads=self.config.wrk_threads,
            script_dir=self.server.workdir,
        )  # fmt: skip
        time.sleep(0.3)  # requests wrk abandoned at its deadline finish before we read counters
        statements = self.pg.total()
        served_after = probes.server_requests(self.server.metrics_port)
        if served_before is not None and served_after is not None:
            summary["server_requests"] = served_after - served_before
        requests = max(summary.get("server_requests", summary["requests"]), 1)
        summary["statements"] = statements
        summary["statements_per_request"] = statements / requests
        if redis_up:
            commands = self.rstats.commands() - commands_before
            summary["redis_commands"] = commands
            summary["redis_commands_per_request"] = commands / requests
        return summary

    def warm(self, targets: list[load.Target], seconds: float | None = None) -> None:
        load.run(
            port=self.server.port, targets=targets, seconds=seconds or self.config.warmup_seconds,
            connections=self.config.connections, threads=self.config.wrk_threads,
            script_dir=self.server.workdir,
        )  # fmt: skip

    def wait_until_hits(self, tenants: list[Tenant], timeout: float = 60.0) -> float:
        """Until a pass over every tenant costs no statement (cache refilled, breaker closed)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            for tenant in tenants:
                probes.request(self.server.port, SERVICES_PATH, tenant.key)
            self.pg.reset()
            for tenant in tenants:
                probes.request(self.server.port, SERVICES_PATH, tenant.key)
            if self.pg.total() == 0:
                return time.monotonic() - started
            time.sleep(0.5)
        raise TimeoutError(f"the project did not serve hits again within {timeout}s")

    # --- phases --------------------------------------------------------------------------------

    def same_data(self, tenants: list[Tenant]) -> dict:
        """Every variant must answer with exactly the project's services, or nothing is compared.

        Each is asked twice, so a cached answer (a hit) is checked as well as the first one.
        """
        checked = 0
        for tenant in tenants[:3]:
            expected = services_of(probes.request(self.server.port, SERVICES_PATH, tenant.key))
            if len(expected) != self.config.services:
                raise RuntimeError(f"{tenant.slug}: {len(expected)} services served")
            for variant in VARIANTS:
                target = variant.target(tenant)
                for attempt in ("first", "cached"):
                    response = probes.request(self.server.port, target.path, target.key or None)
                    if services_of(response) != expected:
                        raise RuntimeError(
                            f"{variant.name} ({attempt}) serves other data than the project"
                        )
                    checked += 1
        return {"responses_compared": checked, "identical": True}

    def variants(self, tenants: list[Tenant], rss: probes.RssSampler) -> dict:
        """All variants in the same rounds; the order rotates each round so none is always first."""
        config = self.config
        targets = {v.name: [v.target(t) for t in tenants] for v in VARIANTS}
        for variant in VARIANTS:
            log(f"warm-up {variant.name}")
            self.warm(targets[variant.name])
        rss.mark("rounds")
        runs: dict[str, list[dict]] = {v.name: [] for v in VARIANTS}
        for round_no in range(config.rounds):
            order = VARIANTS[round_no % len(VARIANTS) :] + VARIANTS[: round_no % len(VARIANTS)]
            for variant in order:
                result = self.measure(targets[variant.name], config.seconds)
                result["round"] = round_no
                runs[variant.name].append(result)
                log(
                    f"round {round_no + 1}/{config.rounds} {variant.name:9s} "
                    f"{result['rps']:8.0f} req/s  p99 {result['p99_ms']:6.2f} ms  "
                    f"{result['statements_per_request']:.3f} stmt/req"
                )
        return {
            "labels": {v.name: v.label for v in VARIANTS},
            "runs": runs,
            "summary": {name: summarise(rounds) for name, rounds in runs.items()},
            "ratios": ratios(runs),
        }

    def hit_and_miss(self, tenants: list[Tenant]) -> dict:
        """Exact costs of sequential requests: a hit, and a miss after invalidation."""
        port = self.server.port
        for tenant in tenants:
            probes.request(port, SERVICES_PATH, tenant.key)
        self.pg.reset()
        commands = self.rstats.commands()
        for tenant in tenants:
            services_of(probes.request(port, SERVICES_PATH, tenant.key))
        hit = {
            "requests": len(tenants),
            "statements_per_request": self.pg.total() / len(tenants),
            "redis_commands_per_request": (self.rstats.commands() - commands) / len(tenants),
        }
        misses = []
        for tenant in tenants[: self.config.miss_probes]:
            probes.request(port, SERVICES_PATH, tenant.key)  # key resolution cached: a pure miss
            invalidate(tenant.slug)
            self.pg.reset()
            commands = self.rstats.commands()
            services_of(probes.request(port, SERVICES_PATH, tenant.key))
            misses.append(
                {
                    "statements": self.pg.total(),
                    "catalog_queries": self.pg.catalog_queries(),
                    "redis_commands": self.rstats.commands() - commands,
                    "breakdown": self.pg.statements(),
                }
            )
        return {
            "hit": hit,
            "miss": {
                "probes": len(misses),
                "statements_median": statistics.median(m["statements"] for m in misses),
                "statements_max": max(m["statements"] for m in misses),
                "catalog_queries_median": statistics.median(m["catalog_queries"] for m in misses),
                "redis_commands_median": statistics.median(m["redis_commands"] for m in misses),
                "statements_of_first_miss": misses[0]["breakdown"],
                "each": [{k: v for k, v in m.items() if k != "breakdown"} for m in misses],
            },
        }

    def chat(self, tenants: list[Tenant]) -> dict:
        """Statements of one chat reply (catalog provider): a new conversation, then a follow-up."""
        first, follow, breakdown = [], [], {}
        for tenant in tenants[: self.config.chat_replies]:
            self.pg.reset()
            response = probes.request(
                self.server.port, "/api/v1/chat", tenant.key,
                body={"message": "What services do you offer?"},
            )  # fmt: skip
            if response.status != 200:
                raise RuntimeError(f"chat: HTTP {response.status}: {response.body[:300]!r}")
            first.append(self.pg.total())
            breakdown.setdefault("new_conversation", self.pg.statements())
            conversation = response.json()["conversation_id"]
            self.pg.reset()
            response = probes.request(
                self.server.port, "/api/v1/chat", tenant.key,
                body={"message": "How much is Service 7?", "conversation_id": conversation},
            )  # fmt: skip
            if response.status != 200:
                raise RuntimeError(f"chat: HTTP {response.status}: {response.body[:300]!r}")
            follow.append(self.pg.total())
            breakdown.setdefault("follow_up", self.pg.statements())
        return {
            "replies": len(first),
            "statements_new_conversation_median": statistics.median(first),
            "statements_follow_up_median": statistics.median(follow),
            "each_new_conversation": first,
            "each_follow_up": follow,
            "statements": breakdown,
        }

    def outage(self, tenants: list[Tenant], redis_server) -> dict:
        """The project under the same load with Redis up, then stopped, alternating."""
        targets = [variant("project").target(t) for t in tenants]
        up, down, recovery = [], [], []
        for round_no in range(self.config.outage_rounds):
            up.append(self.measure(targets, self.config.seconds))
            redis_server.stop()
            try:
                down.append(self.measure(targets, self.config.seconds, redis_up=False))
            finally:
                redis_server.start()
                self.rstats.reconnect()
            recovery.append(self.wait_until_hits(tenants))
            log(
                f"outage round {round_no + 1}: p99 up {up[-1]['p99_ms']:.2f} ms, "
                f"down {down[-1]['p99_ms']:.2f} ms, errors down {down[-1]['error_count']}"
            )
        p99_up = statistics.median(r["p99_ms"] for r in up)
        p99_down = statistics.median(r["p99_ms"] for r in down)
        return {
            "up": summarise(up),
            "down": summarise(down),
            "p99_ratio_down_vs_up": p99_down / p99_up,
            "per_round_p99_ratio": [
                d["p99_ms"] / u["p99_ms"] for u, d in zip(up, down, strict=True)
            ],
            "seconds_to_serve_hits_again": recovery,
        }

    def sizes(self, groups: dict[int, list[Tenant]]) -> dict:
        """Cost per request, Redis memory per company and snapshot size per catalog size."""
        memory = {}
        for size, tenants in groups.items():
            self.rstats.flushdb(0)  # only this group's keys are in the project's database now
            body_bytes = []
            for tenant in tenants:
                response = probes.request(self.server.port, SERVICES_PATH, tenant.key)
                if len(services_of(response)) != size:
                    raise RuntimeError(f"{tenant.slug}: expected {size} services")
                body_bytes.append(len(response.body))
            keys, used, string_sizes = self.rstats.keys_memory(0)
            largest = sorted(string_sizes, reverse=True)[: len(tenants)]
            memory[size] = {
                "companies": len(tenants),
                "redis_keys": keys,
                "redis_bytes_per_company": used / len(tenants),
                "snapshot_bytes_median": statistics.median(largest),
                "response_bytes_median": statistics.median(body_bytes),
            }
            log(f"size {size}: {used / len(tenants):.0f} B in Redis per company")
        runs: dict[int, list[dict]] = {size: [] for size in groups}
        targets = {size: [variant("project").target(t) for t in ts] for size, ts in groups.items()}
        for size in groups:
            self.warm(targets[size])
        sizes = list(groups)
        for round_no in range(self.config.size_rounds):
            for size in sizes[round_no % len(sizes) :] + sizes[: round_no % len(sizes)]:
                runs[size].append(self.measure(targets[size], self.config.seconds))
        smallest = min(groups)
        summary = {size: summarise(rounds) for size, rounds in runs.items()}
        for size, entry in summary.items():
            entry["us_per_request"] = 1e6 / entry["rps_median"]
            entry["cost_vs_smallest"] = summary[smallest]["rps_median"] / entry["rps_median"]
            entry.update(memory[size])
        return {"by_services_per_company": summary, "runs": runs}

    def scale(self, sets: dict[int, list[Tenant]]) -> dict:
        """Hit ratio with the chart's maxmemory: catalog queries per request after a full warm."""
        from django.core.management import call_command

        out = {}
        limits = self.rstats.info("memory")
        for count, tenants in sets.items():
            self.rstats.flushdb(0)
            started = time.monotonic()
            with contextlib.redirect_stdout(io.StringIO()):
                call_command("catalog_cache", "warm", *[t.slug for t in tenants],
                             stdout=io.StringIO())  # fmt: skip
            close_connections()
            warm_seconds = time.monotonic() - started
            targets = [variant("project").target(t) for t in tenants]
            random.Random(count).shuffle(targets)  # noqa: S311 -- a load order, not a secret
            # also resolves (and caches) the API keys: a full round's length
            self.warm(targets, self.config.seconds)
            before = self.rstats.info("stats")
            self.pg.reset()
            result = self.measure(targets, self.config.seconds)
            catalog = self.pg.catalog_queries()
            served = max(result.get("server_requests", result["requests"]), 1)
            after_stats, after_memory = self.rstats.info("stats"), self.rstats.info("memory")
            keys = self.rstats.info("keyspace").get("db0", {}).get("keys", 0)
            out[count] = {
                "companies": count,
                "requests": result["requests"],
                "rps": result["rps"],
                "p99_ms": result["p99_ms"],
                "catalog_queries": catalog,
                "hit_ratio": 1 - catalog / served,
                "statements_per_request": result["statements_per_request"],
                "redis_used_memory_bytes": after_memory["used_memory"],
                "redis_keys": keys,
                "evicted_keys": after_stats["evicted_keys"] - before["evicted_keys"],
                "warm_command_seconds": warm_seconds,
            }
            log(f"{count} companies: hit ratio {out[count]['hit_ratio']:.4f}")
        return {
            "maxmemory_bytes": limits.get("maxmemory"),
            "maxmemory_policy": limits.get("maxmemory_policy"),
            "by_companies": out,
        }

    def soak(self, tenants: list[Tenant], rss: probes.RssSampler) -> dict:
        rss.mark("soak")
        result = self.measure(
            [variant("project").target(t) for t in tenants], self.config.soak_seconds
        )
        return summarise([result])


def stampede(
    server: Gunicorn, pg: probes.PgStats, tenants: list[Tenant], config: Config, variant: str
) -> dict:
    """Simultaneous requests for one company right after its catalog was invalidated.

    `variant` "project" invalidates with the project's command; "seedfix" deletes the seed's
    cache key: the control that shows this measurement sees a stampede where there is one.
    """
    from django.core.cache import caches

    runs = []
    for tenant in tenants[: config.stampede_repeats]:
        target = next(v for v in VARIANTS if v.name == variant).target(tenant)
        services_of(probes.request(server.port, target.path, target.key or None))  # warm
        if variant == "project":
            invalidate(tenant.slug)
        else:
            caches["seedfix"].delete(f"services:{tenant.id}")
        pg.reset()
        responses = probes.concurrent_requests(
            server.port, target.path, target.key or None, config.stampede_concurrency
        )
        time.sleep(0.2)
        ok = sum(
            1 for r in responses if r.status == 200 and len(r.json()["services"]) == config.services
        )
        runs.append({"catalog_queries": pg.catalog_queries(), "statements": pg.total(), "ok": ok})
    return {
        "concurrency": config.stampede_concurrency,
        "catalog_queries_median": statistics.median(r["catalog_queries"] for r in runs),
        "catalog_queries_max": max(r["catalog_queries"] for r in runs),
        "runs": runs,
    }


# --- aggregation ---------------------------------------------------------------------------------


def summarise(rounds: list[dict]) -> dict:
    requests = sum(r.get("server_requests", r["requests"]) for r in rounds)
    rps = [r["rps"] for r in rounds]
    percentiles = {
        p: statistics.median(r["latency_us"]["percentiles"][p] for r in rounds) / 1e3
        for p in rounds[0]["latency_us"]["percentiles"]
    }
    summary = {
        "rounds": len(rounds),
        "requests": requests,
        "wrk_completed": sum(r["requests"] for r in rounds),
        "rps_median": statistics.median(rps),
        "rps_min": min(rps),
        "rps_max": max(rps),
        "p50_ms": statistics.median(r["p50_ms"] for r in rounds),
        "p99_ms": statistics.median(r["p99_ms"] for r in rounds),
        "latency_percentiles_ms": percentiles,
        "errors": sum(r["error_count"] for r in rounds),
        "statements_per_request": sum(r["statements"] for r in rounds) / max(requests, 1),
    }
    if all("redis_commands" in r for r in rounds):
        summary["redis_commands_per_request"] = sum(r["redis_commands"] for r in rounds) / max(
            requests, 1
        )
    return summary


def ratios(runs: dict[str, list[dict]]) -> dict:
    """Throughput ratios: of the medians, and the median of the same-round ratios."""
    med = {name: statistics.median(r["rps"] for r in rounds) for name, rounds in runs.items()}

    def per_round(name: str, base: str) -> float:
        return statistics.median(
            a["rps"] / b["rps"] for a, b in zip(runs[name], runs[base], strict=True)
        )

    return {
        name: {
            "x_bare": med[name] / med["bare"],
            "x_seedfix": med[name] / med["seedfix"],
            "x_bare_same_round_median": per_round(name, "bare"),
            "x_seedfix_same_round_median": per_round(name, "seedfix"),
        }
        for name in runs
    }


RATE_LIMIT_SETTINGS = (
    "WAZEN_RATE_LIMIT_KEY_PER_MINUTE",
    "WAZEN_RATE_LIMIT_COMPANY_PER_MINUTE",
    "WAZEN_QUOTA_KEY_REPLIES_PER_DAY",
    "WAZEN_QUOTA_COMPANY_REPLIES_PER_DAY",
)


def server_options(
    config: Config, env: dict, workdir, pg: probes.PgStats, rstats, tenants: list[Tenant]
) -> dict:
    """The project's hit path under server options, each against the defaults, on servers that
    run side by side and are measured in rotating rounds:
    - rate limits on: every limit set (every counter checked in one Lua call, as the chart's
      defaults do) but high enough that nothing is refused: the check, not refusals;
    - access log off (GUNICORN_ACCESS_LOG=false): what one log line per request costs;
    - gthread workers (2 x 4 threads, the server before gevent): what the worker model costs or
      saves on the hit path.
    """
    envs = {
        "defaults": env,
        "rate limits on": {**env, **dict.fromkeys(RATE_LIMIT_SETTINGS, "1000000000")},
        "access log off": {**env, "GUNICORN_ACCESS_LOG": "false"},
        "gthread workers": {**env, "GUNICORN_WORKER_CLASS": "gthread"},
    }
    servers = {name: Gunicorn(server_env, workdir) for name, server_env in envs.items()}
    runs: dict[str, list[dict]] = {name: [] for name in servers}
    names = list(servers)
    try:
        for server in servers.values():
            server.start(f"/bench/bare/{tenants[0].id}")
        benches = {name: Bench(config, server, pg, rstats) for name, server in servers.items()}
        targets = [variant("project").target(t) for t in tenants]
        for bench in benches.values():
            bench.warm(targets)
        for round_no in range(config.rounds):
            for name in names[round_no % len(names) :] + names[: round_no % len(names)]:
                result = benches[name].measure(targets, config.seconds)
                if result["error_count"]:
                    raise RuntimeError(f"{name}: {result['error_count']} errors")
                runs[name].append(result)
                rps, p99 = result["rps"], result["p99_ms"]
                log(f"{name:15s} {rps:8.0f} req/s  p99 {p99:.2f} ms")
    finally:
        for server in servers.values():
            server.stop()
    return {
        "summary": {name: summarise(rounds) for name, rounds in runs.items()},
        "x_defaults_same_round_median": {
            name: statistics.median(
                a["rps"] / b["rps"] for a, b in zip(runs[name], runs["defaults"], strict=True)
            )
            for name in runs
        },
    }
