"""`make bench` end to end, in its quick form: it must run on this machine and write a report,
results and plots of the expected shape. No timing is asserted (speed belongs to the report), but
the counters must be real: the seed's "before" view runs five catalog queries per request, so a
harness that reads pg_stat_statements wrong fails here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VARIANTS = {"bare", "bare_redis", "seedfix", "cachalot", "project", "before"}


@pytest.fixture(scope="module")
def bench_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    env = {**os.environ, "BENCH_QUICK": "1", "BENCH_OUT": str(out), "PYTHONPATH": str(REPO / "app")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return out


@pytest.mark.slow
def test_quick_bench_writes_report_results_and_plots(bench_out: Path) -> None:
    results = json.loads((bench_out / "results.json").read_text())
    assert results["config"]["quick"] is True
    assert {"date", "cpu", "cores", "kernel", "python"} <= set(results["machine"])
    assert results["same_data"]["identical"] is True

    summary, ratios = results["variants"]["summary"], results["variants"]["ratios"]
    assert set(summary) == VARIANTS == set(ratios)
    for name, entry in summary.items():
        assert entry["rounds"] == results["config"]["rounds"], name
        assert entry["requests"] > 0, name
        assert entry["rps_min"] <= entry["rps_median"] <= entry["rps_max"], name
        assert 0 < entry["p50_ms"] <= entry["p99_ms"], name
        assert entry["errors"] == 0, name
    assert ratios["bare"]["x_bare"] == pytest.approx(1.0)
    assert ratios["seedfix"]["x_seedfix"] == pytest.approx(1.0)
    # The counters are real: five catalog reads per "before" request, none for the static floor.
    assert summary["before"]["statements_per_request"] >= 5
    assert summary["seedfix"]["redis_commands_per_request"] >= 1
    assert results["hit_miss"]["miss"]["catalog_queries_median"] >= 1

    stampede = results["stampede"]
    assert set(stampede) == {"switch_present", "true", "false", "seedfix"}
    for entry in (stampede["true"], stampede["false"], stampede["seedfix"]):
        assert entry["concurrency"] == 64
        assert all(run["ok"] == 64 for run in entry["runs"])
    options = results["server_options"]["summary"]
    assert set(options) == {"defaults", "rate limits on", "access log off", "gthread workers"}
    assert all(entry["errors"] == 0 for entry in options.values())  # nothing refused
    # The limiter is really on: its Lua call is one more Redis command per request.
    on, off = (options[k]["redis_commands_per_request"] for k in ("rate limits on", "defaults"))
    assert on >= off + 0.9
    outage = results["outage"]
    assert outage["down"]["errors"] == 0  # a cache failure never fails a request
    assert outage["down"]["requests"] > 0
    assert results["chat"]["statements_new_conversation_median"] > 0
    streaming = results["streaming"]
    assert set(streaming) == {"catalog", "openai"}
    for name, entry in streaming.items():
        assert entry["requests"] == results["config"]["stream_requests"], name
        assert entry["non_streaming_requests"] == entry["requests"], name
        for each in entry["each"]:
            assert 0 < each["first_content_ms"] <= each["complete_ms"], name
            assert each["content_chunks"] > 1, name
    # The model's tokens pass through one by one as they come: the first reaches the client
    # before the upstream has finished (a buffered reply could not), the last only after it.
    upstream = streaming["openai"]
    assert upstream["content_chunks_median"] == upstream["upstream_tokens"]
    for each in upstream["each"]:
        assert each["first_content_ms"] < upstream["upstream_ms"] <= each["complete_ms"]
    assert min(upstream["non_streaming_each_ms"]) >= upstream["upstream_ms"]
    # Concurrent replies: what the model saw at once is the server's real concurrency, whatever
    # its clients tried: gthread holds workers x threads, gevent every client of the level.
    concurrency = results["concurrency"]
    assert concurrency["servers"] == ["gthread", "asgi", "gevent", "floor"]
    for level in concurrency["levels"]:
        n = level["concurrency"]
        for name in concurrency["servers"]:
            entry = level[name]
            assert entry["replies"] > 0, (n, name)
            assert entry["probe_requests"] > 0, (n, name)
            assert entry["errors_by_kind"].get("wrong_text", 0) == 0, (n, name)
        # 2 workers x 4 threads, plus at most the 4 warm-up streams not yet hung up on.
        assert level["gthread"]["upstream_max_open"] <= 8 + 4
        assert level["gevent"]["errors"] == 0
        if n > 8:  # more streams at once than 2 workers x 4 threads could hold
            assert level["gevent"]["upstream_max_open"] > 8
        assert level["gevent"]["db_connections_max"] <= level["db_pool_limit"]
    widest = concurrency["levels"][-1]
    assert widest["gevent"]["upstream_max_open"] > widest["gthread"]["upstream_max_open"]
    sizes = results["sizes"]["by_services_per_company"]
    assert list(sizes) == ["10", "40", "400"]
    assert sizes["10"]["snapshot_bytes_median"] < sizes["400"]["snapshot_bytes_median"]
    assert set(results["scale"]["by_companies"]) == {"50", "150"}
    assert results["rss"]["workers"]
    assert results["rss"]["samples"]


@pytest.mark.slow
def test_quick_bench_report_and_plots(bench_out: Path) -> None:
    report = (bench_out / "report.md").read_text()
    results = json.loads((bench_out / "results.json").read_text())
    for label in results["variants"]["labels"].values():
        assert label in report
    assert "| variant | x bare view | x seed's fix |" in report
    assert "## Streamed replies (`POST /v1/chat/completions`, `stream: true`)" in report
    assert results["machine"]["cpu"] in report
    assert "## Concurrent streamed replies" in report
    for name in ("throughput", "latency", "rss", "concurrency"):
        assert (bench_out / f"{name}.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        assert "<svg" in (bench_out / f"{name}.svg").read_text()
        assert f"({name}.png)" in report
