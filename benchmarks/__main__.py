"""`PYTHONPATH=app python -m benchmarks` from the repository root (`make bench`): start the
servers, seed, run every phase, write the report. The harness is a Django process of the project
(app/ on its path, as gunicorn's chdir and pytest's pythonpath give it); its servers and scripted
upstream come from the installed testsupport package. BENCH_QUICK=1 for the short version;
BENCH_OUT=<dir> to write elsewhere than build/bench; BENCH_SOAK_SECONDS=600 adds a sustained load
on the project at the end (for the RSS trend).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks import concurrency, hitpath, machine, plots, report, rss, stack, streaming
from benchmarks.config import Config
from benchmarks.phases import Bench, log, server_options, stampede
from benchmarks.probes import PgStats, RedisStats, RssSampler


def main() -> None:
    if importlib.util.find_spec("config") is None:
        raise SystemExit(
            "benchmarks: the app's packages are not importable: run `make bench`, or "
            "`PYTHONPATH=app python -m benchmarks` from the repository root"
        )
    config = Config.from_env(stack.REPO)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="wazen-bench-"))
    postgres = stack.start_postgres()
    redis = stack.start_redis(workdir)
    try:
        results = run(config, workdir, postgres, redis)
    finally:
        redis.stop()
        postgres.stop()
    results["elapsed_seconds"] = round(time.monotonic() - started, 1)
    results["machine"]["load_average_at_end"] = machine.load_average()
    config.out.mkdir(parents=True, exist_ok=True)
    (config.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    plots.write_all(results, config.out)
    (config.out / "report.md").write_text(report.render(results))
    shutil.rmtree(workdir, ignore_errors=True)
    log(f"done in {results['elapsed_seconds']:.0f} s: {config.out / 'report.md'}")


def run(config: Config, workdir: Path, postgres, redis) -> dict:
    from benchmarks import dataset

    env = stack.base_env(workdir, postgres, redis)
    stack.setup_django(env)
    pg, rstats = PgStats(postgres.url), RedisStats(redis.port)
    log("seeding")
    tenants = dataset.seed_group("bench", config.companies, config.services)
    groups = {
        size: dataset.seed_group(f"size{size}", config.size_group, size) for size in config.sizes
    }
    dataset.close_connections()
    results: dict = {
        "machine": machine.describe(),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in config.__dict__.items()},
        "server": {"gunicorn_config": "docker/gunicorn.conf.py", "bind": "127.0.0.1"},
        "redis_limits": stack.chart_redis_limits(),
    }
    server = stack.Gunicorn(env, workdir).start(f"/bench/bare/{tenants[0].id}")
    sampler = RssSampler(server.pid, interval=config.rss_interval).start()
    bench = Bench(config, server, pg, rstats)
    try:
        results["same_data"] = bench.same_data(tenants)
        log("variants, interleaved rounds")
        results["variants"] = bench.variants(tenants, sampler)  # marks "rounds" after warm-up
        log("hit and miss probes")
        sampler.mark("hit")
        results["hit_miss"] = bench.hit_and_miss(tenants)
        log("chat replies")
        sampler.mark("chat")
        results["chat"] = bench.chat(tenants)
        log("streaming replies, catalog provider")
        sampler.mark("streaming")
        results["streaming"] = {"catalog": streaming.catalog(config, server, tenants)}
        log("outage")
        sampler.mark("outage")
        results["outage"] = bench.outage(tenants, redis)
        log("catalog sizes")
        sampler.mark("catalog")
        results["sizes"] = bench.sizes(groups)
        sampler.mark("scale")
        log(f"scale: seeding {config.scale_companies - config.companies} more companies")
        extra = dataset.seed_group(
            "scale", config.scale_companies - config.companies, config.services
        )
        dataset.close_connections()
        results["scale"] = bench.scale(
            {config.companies: tenants, config.scale_companies: tenants + extra}
        )
        if config.soak_seconds:
            log(f"soak: {config.soak_seconds:.0f} s on the project")
            results["soak"] = bench.soak(tenants, sampler)
    finally:
        sampler.stop()
        server.stop()
    results["rss"] = rss.analyse(sampler)
    from django.conf import settings

    # The switch the project offers for this measurement; without it both rows are protected.
    results["stampede"] = {"switch_present": hasattr(settings, "WAZEN_CACHE_SINGLE_FLIGHT")}
    for single_flight in ("true", "false"):
        log(f"stampede, WAZEN_CACHE_SINGLE_FLIGHT={single_flight}")
        server = stack.Gunicorn({**env, "WAZEN_CACHE_SINGLE_FLIGHT": single_flight}, workdir)
        server.start(f"/bench/bare/{tenants[0].id}")
        try:
            results["stampede"][single_flight] = stampede(server, pg, tenants, config, "project")
            if single_flight == "true":  # the control: the same burst on the seed's fix
                results["stampede"]["seedfix"] = stampede(server, pg, tenants, config, "seedfix")
        finally:
            server.stop()
    log("streaming replies, openai provider against the scripted upstream")
    results["streaming"]["openai"] = streaming.openai(config, env, workdir, tenants)
    log("concurrent streamed replies: gthread, asgi, gevent and the floor, level by level")
    results["concurrency"] = concurrency.run(config, env, workdir, pg, tenants)
    log("the whole hit path against a minimal Django app, rotating rounds, then a profile")
    results["hitpath"] = hitpath.run(config, env, workdir, pg, rstats, tenants)
    log("server options (rate limits, access log), rotating rounds")
    results["server_options"] = server_options(config, env, workdir, pg, rstats, tenants)
    pg.close()
    return results


if __name__ == "__main__":
    main()
