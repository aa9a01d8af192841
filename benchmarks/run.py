"""Catalog cache benchmarks against real PostgreSQL and Redis, each number a ratio against a
baseline measured in the same run (absolute times vary by machine; ratios travel).

    make bench            # writes build/bench.json and prints a table

What it measures:
1. catalog per reply: the original 5 database reads vs. one snapshot from Redis (hit);
2. reply latency: cached vs. database fallback while Redis is down (breaker open), and the one-off
   cost of the first request after Redis stops (refused) or hangs (one socket timeout);
3. stampede: catalog queries for 32 concurrent cold requests, with and without single flight;
4. size: bytes one company's snapshot takes in Redis (MEMORY USAGE).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "app"))

from tests.servers import PostgresServer, RedisServer  # noqa: E402

SERVICES = 50
REPEAT = 300


def timed(fn, repeat: int = REPEAT) -> float:
    """Median seconds per call."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="wazen-bench-"))
    redis = RedisServer(workdir / "redis").start()
    postgres = PostgresServer().start()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY="bench-" + "k" * 60,
        DATABASE_URL=postgres.url,
        REDIS_URL=redis.url,
        LOG_LEVEL="error",
        WAZEN_CACHE_BREAKER_COOLDOWN="60",
    )
    try:
        results = run(redis)
    finally:
        redis.stop()
        postgres.stop()
    out = REPO / "build" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print_table(results)
    print(f"\nwritten to {out.relative_to(REPO)}")


def run(redis: RedisServer) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from assistant import services
    from catalog import cache as catalog_cache
    from catalog import selectors
    from catalog.api_keys import Tenant
    from catalog.models import Company, Service

    call_command("migrate", verbosity=0)
    company = Company.objects.create(name="Bench Co", slug="bench")
    Service.objects.bulk_create(
        Service(company=company, name=f"Service {i}", description="d" * 200,
                price=Decimal(100 + i), category=f"Cat {i % 5}")
        for i in range(SERVICES)
    )  # fmt: skip
    tenant = Tenant(id=company.id, slug=company.slug, name=company.name)
    results: dict = {"services_per_company": SERVICES}

    # 1. catalog per reply
    db_read = timed(lambda: selectors.catalog_snapshot_from_db(company_id=company.id))
    naive = timed(
        lambda: [selectors.catalog_snapshot_from_db(company_id=company.id) for _ in range(5)]
    )
    catalog_cache.orderable_services(company.id)
    hit = timed(lambda: catalog_cache.orderable_services(company.id))
    results["catalog_per_reply"] = {
        "db_read_ms": db_read * 1e3,
        "naive_5_reads_ms": naive * 1e3,
        "redis_hit_ms": hit * 1e3,
        "speedup_vs_naive": naive / hit,
        "speedup_vs_one_db_read": db_read / hit,
        "db_queries_naive": 5,
        "db_queries_hit": 0,
    }

    # 2. reply latency, cached vs Redis down
    def reply():
        services.reply_create(tenant=tenant, message="how much is service 7?", conversation_id=None)

    cached_reply = timed(reply, repeat=100)
    redis.stop()
    started = time.perf_counter()
    reply()
    first_down = time.perf_counter() - started
    down_reply = timed(reply, repeat=100)
    redis.start()
    catalog_cache.reset_for_tests()
    reply()  # cached again
    redis.cli("CLIENT", "PAUSE", "5000", "ALL")  # Redis hangs instead of refusing
    started = time.perf_counter()
    reply()
    first_hung = time.perf_counter() - started
    hung_reply = timed(reply, repeat=20)
    time.sleep(5)
    catalog_cache.reset_for_tests()
    results["reply_latency"] = {
        "cached_ms": cached_reply * 1e3,
        "redis_down_ms": down_reply * 1e3,
        "added_ms_while_down": (down_reply - cached_reply) * 1e3,
        "ratio_down_vs_cached": down_reply / cached_reply,
        "first_request_after_stop_ms": first_down * 1e3,
        "first_request_while_hung_ms": first_hung * 1e3,
        "redis_hung_ms": hung_reply * 1e3,
    }

    # 3. stampede
    def stampede(single_flight: bool) -> int:
        catalog_cache.invalidate(company.id)
        count = [0]
        lock = threading.Lock()
        real = catalog_cache.catalog_snapshot_from_db

        def counting(*, company_id):
            with lock:
                count[0] += 1
            return real(company_id=company_id)

        catalog_cache.catalog_snapshot_from_db = counting
        barrier = threading.Barrier(32)

        def worker():
            barrier.wait()
            if single_flight:
                catalog_cache.orderable_services(company.id)
            else:  # the seed's behaviour: every miss reads and writes on its own
                counting(company_id=company.id)
            connections.close_all()

        threads = [threading.Thread(target=worker) for _ in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        catalog_cache.catalog_snapshot_from_db = real
        return count[0]

    results["stampede_32_threads"] = {
        "queries_without_protection": stampede(False),
        "queries_with_single_flight": stampede(True),
    }

    # 4. size in Redis
    catalog_cache.orderable_services(company.id)
    size = int(redis.cli("MEMORY", "USAGE", f"wazen:1:catalog:snap:{company.id}"))
    results["redis_bytes_per_company_snapshot"] = size
    return results


def print_table(r: dict) -> None:
    c, lat, st = r["catalog_per_reply"], r["reply_latency"], r["stampede_32_threads"]
    rows = [
        ("catalog: 1 DB read (PostgreSQL)", f"{c['db_read_ms']:.3f} ms", "baseline"),
        ("catalog: naive 5 DB reads/reply", f"{c['naive_5_reads_ms']:.3f} ms", "seed behaviour"),
        ("catalog: Redis hit", f"{c['redis_hit_ms']:.3f} ms",
         f"{c['speedup_vs_naive']:.1f}x faster than naive, 0 queries"),
        ("reply: cached", f"{lat['cached_ms']:.3f} ms", "baseline"),
        ("reply: Redis down (breaker open)", f"{lat['redis_down_ms']:.3f} ms",
         f"+{lat['added_ms_while_down']:.3f} ms ({lat['ratio_down_vs_cached']:.2f}x)"),
        ("reply: first after Redis stops", f"{lat['first_request_after_stop_ms']:.1f} ms",
         "connection refused, then the breaker opens"),
        ("reply: first while Redis hangs", f"{lat['first_request_while_hung_ms']:.1f} ms",
         "one socket timeout (0.25 s), then the breaker opens"),
        ("reply: Redis hung (breaker open)", f"{lat['redis_hung_ms']:.3f} ms",
         "no Redis round trips"),
        ("stampede, 32 cold threads", f"{st['queries_with_single_flight']} query",
         f"vs {st['queries_without_protection']} without protection"),
        ("snapshot size in Redis", f"{r['redis_bytes_per_company_snapshot']} B",
         f"{r['services_per_company']} services"),
    ]  # fmt: skip
    width = max(len(row[0]) for row in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>12}  {note}")


if __name__ == "__main__":
    main()
