"""build/bench/report.md, rendered from results.json alone (so the report can be re-rendered and
checked against the raw numbers)."""

from __future__ import annotations

import statistics

from benchmarks import concurrency_report, hitpath, machine

ORDER = ("bare", "bare_redis", "seedfix", "cachalot", "project", "before")


def _f(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def render(r: dict) -> str:
    c, v = r["config"], r["variants"]
    lines = [
        "# `make bench` report",
        "",
        f"{machine.line(r['machine'])}",
        "",
        f"1-minute load average before the bench started "
        f"{_f(r['machine']['load_average_at_start'])} on {r['machine']['cores']} cores (other "
        "jobs: the higher, the noisier the rounds), when it ended "
        f"{_f(r['machine']['load_average_at_end'])}.",
        "",
        f"{'Quick run (BENCH_QUICK=1). ' if c['quick'] else ''}gunicorn with "
        f"`{r['server']['gunicorn_config']}` (2 gevent workers by default), "
        f"PostgreSQL with pg_stat_statements, Redis with the chart's maxmemory "
        f"{r['redis_limits']['maxmemory']} ({r['redis_limits']['policy']}), "
        f"wrk -t{c['wrk_threads']} -c{c['connections']}, {c['companies']} companies x "
        f"{c['services']} services, {c['rounds']} interleaved rounds of {c['seconds']:g} s; "
        f"{r['same_data']['responses_compared']} sampled responses of the variants (a first "
        f"and a cached one each) were identical to the project's. "
        f"Total {r['elapsed_seconds']:.0f} s.",
        "",
        "## One company's orderable services as JSON, same rounds",
        "",
        "| variant | x bare view | x seed's fix | req/s median (min-max) | p50 ms | p99 ms "
        "| statements/req | Redis cmds/req | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in ORDER:
        s, q = v["summary"][name], v["ratios"][name]
        label = v["labels"][name]
        if name == "project":
            label = f"**{label}**"
        lines.append(
            f"| {label} | {q['x_bare']:.2f} | {q['x_seedfix']:.2f} | "
            f"{s['rps_median']:,.0f} ({s['rps_min']:,.0f}-{s['rps_max']:,.0f}) | "
            f"{s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['statements_per_request']:.3f} | "
            f"{_f(s.get('redis_commands_per_request'))} | {s['errors']} |"
        )
    p = v["ratios"]["project"]
    lines += [
        "",
        f"Same-round ratios (median over rounds) for the project: x bare "
        f"{p['x_bare_same_round_median']:.2f}, x seed's fix {p['x_seedfix_same_round_median']:.2f}"
        f", x the floor plus one Redis round trip "
        f"{v['summary']['project']['rps_median'] / v['summary']['bare_redis']['rps_median']:.2f}."
        " Statements and Redis commands are server-side counts (pg_stat_statements, INFO "
        "commandstats) divided by the requests the server received (django-prometheus' "
        "counter, which includes the few wrk abandoned at its deadline); every command counts, "
        "also inside a pipeline or a script.",
        "",
        "![throughput and p99](throughput.png)",
        "",
    ]
    lines += hitpath.section(r) + _hit_miss(r) + _chat(r) + _streaming(r)
    lines += concurrency_report.section(r)
    lines += _stampede(r) + _server_options(r)
    lines += _outage(r)
    lines += _rss(r) + _growth(r)
    return "\n".join(lines) + "\n"


def _server_options(r: dict) -> list[str]:
    o = r["server_options"]
    rows = [
        f"| {name} | x{o['x_defaults_same_round_median'][name]:.2f} | "
        f"{s['rps_median']:,.0f} ({s['rps_min']:,.0f}-{s['rps_max']:,.0f}) | {s['p50_ms']:.2f} | "
        f"{s['p99_ms']:.2f} | {_f(s.get('redis_commands_per_request'))} |"
        for name, s in o["summary"].items()
    ]
    return [
        "## Server options on the hit path",
        "",
        "The project's `GET /api/v1/services` on servers that differ in one option, side by side, "
        "rotating rounds. *Rate limits on*: all four limits set, every counter checked by one Lua "
        "call per request, limits high enough that nothing is refused (the check's cost). "
        "*Access log off*: `GUNICORN_ACCESS_LOG=false`. *gthread workers*: the worker model "
        "before gevent (2 workers x 4 threads), for the hit path's cost of the change.",
        "",
        "| server | req/s x defaults (same-round median) | req/s median (min-max) | p50 ms | "
        "p99 ms | Redis cmds/req |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def _hit_miss(r: dict) -> list[str]:
    h, m = r["hit_miss"]["hit"], r["hit_miss"]["miss"]
    lines = [
        "## Per request, sequential probes",
        "",
        "| path | statements | catalog queries | Redis commands |",
        "|---|---|---|---|",
        f"| hit ({h['requests']} requests) | {h['statements_per_request']:.2f} | 0 | "
        f"{h['redis_commands_per_request']:.2f} |",
        f"| miss after `catalog_cache invalidate` (median of {m['probes']}, max "
        f"{m['statements_max']}) | {m['statements_median']:g} | {m['catalog_queries_median']:g} | "
        f"{m['redis_commands_median']:g} |",
        "",
        "Statements of the first miss:",
        "",
    ]
    lines += [f"- {calls} x `{_one_line(q)}`" for q, calls in m["statements_of_first_miss"]]
    return [*lines, ""]


def _chat(r: dict) -> list[str]:
    ch = r["chat"]
    lines = [
        "## A chat reply (`POST /api/v1/chat`, catalog provider)",
        "",
        f"Statements per reply, median of {ch['replies']}: new conversation "
        f"**{ch['statements_new_conversation_median']:g}**, follow-up in the same conversation "
        f"**{ch['statements_follow_up_median']:g}**.",
        "",
    ]
    for kind, statements in ch["statements"].items():
        lines.append(f"{kind.replace('_', ' ')}:")
        lines.append("")
        lines += [f"- {calls} x `{_one_line(q)}`" for q, calls in statements]
        lines.append("")
    return lines


def _streaming(r: dict) -> list[str]:
    st = r["streaming"]
    cat, oai = st["catalog"], st["openai"]

    def row(name: str, upstream: str, s: dict) -> str:
        return (
            f"| {name} | {upstream} | {s['requests']} | {s['first_content_ms_median']:,.1f} "
            f"({s['first_content_ms_p90']:,.1f}) | {s['complete_ms_median']:,.1f} "
            f"({s['complete_ms_p90']:,.1f}) | {s['first_vs_complete_median']:.3f} | "
            f"{s['content_chunks_median']:g} | {s['non_streaming_ms_median']:,.1f} "
            f"({s['non_streaming_ms_p90']:,.1f}) |"
        )

    upstream = (
        f"scripted: {oai['upstream_tokens']} tokens, one every {oai['upstream_token_ms']:g} ms "
        f"({oai['upstream_ms']:,.0f} ms in all)"
    )
    return [
        "## Streamed replies (`POST /v1/chat/completions`, `stream: true`)",
        "",
        "Time from the request's first byte to the first chunk with reply text, and to "
        "`data: [DONE]`, read on the client one request at a time (each a new conversation); the "
        "same request without `stream` (one `chat.completion` body) in the same rounds as the "
        "baseline. The openai provider runs on a gunicorn of its own against the scripted "
        "chat-completions server, which streams its tokens at a model's pace and answers a "
        "non-streaming call with the same reply after the same total time.",
        "",
        "| provider | upstream | requests | first text ms median (p90) | complete ms median "
        "(p90) | first / complete (median) | text chunks | not streamed ms median (p90) |",
        "|---|---|---|---|---|---|---|---|",
        row("catalog", "none (the reply is computed whole, then sent in chunks)", cat),
        row("openai", upstream, oai),
        "",
        f"With the openai provider the first words reach the client after "
        f"**{oai['first_content_ms_median']:,.0f} ms** instead of "
        f"**{oai['non_streaming_ms_median']:,.0f} ms** without streaming (median first / "
        f"complete {oai['first_vs_complete_median']:.3f}). The catalog provider computes its whole "
        f"reply before its first chunk: first text after {cat['first_content_ms_median']:,.1f} ms, "
        f"{cat['non_streaming_ms_median']:,.1f} ms not streamed.",
        "",
    ]


def _stampede(r: dict) -> list[str]:
    s = r["stampede"]
    on, off, control = s["true"], s["false"], s["seedfix"]
    return [
        "## Stampede",
        "",
        f"{on['concurrency']} concurrent requests for one company right after its catalog was "
        "invalidated (fresh gunicorn per setting):",
        "",
        "| WAZEN_CACHE_SINGLE_FLIGHT | catalog queries (median) | max | runs |",
        "|---|---|---|---|",
        f"| true | {on['catalog_queries_median']:g} | {on['catalog_queries_max']} | "
        f"{len(on['runs'])} |",
        f"| false | {off['catalog_queries_median']:g} | {off['catalog_queries_max']} | "
        f"{len(off['runs'])} |",
        f"| (control: the seed's fix, its key deleted) | {control['catalog_queries_median']:g} | "
        f"{control['catalog_queries_max']} | {len(control['runs'])} |",
        "",
        *(
            []
            if s["switch_present"]
            else [
                "**The project has no `WAZEN_CACHE_SINGLE_FLIGHT` setting: both project rows ran "
                "with its protection on.**",
                "",
            ]
        ),
    ]


def _outage(r: dict) -> list[str]:
    o = r["outage"]
    return [
        "## Redis stopped, same load on the project",
        "",
        "| Redis | req/s median | p50 ms | p99 ms | statements/req | errors |",
        "|---|---|---|---|---|---|",
        f"| up | {o['up']['rps_median']:,.0f} | {o['up']['p50_ms']:.2f} | {o['up']['p99_ms']:.2f} "
        f"| {o['up']['statements_per_request']:.3f} | {o['up']['errors']} |",
        f"| stopped | {o['down']['rps_median']:,.0f} | {o['down']['p50_ms']:.2f} | "
        f"{o['down']['p99_ms']:.2f} | {o['down']['statements_per_request']:.3f} | "
        f"{o['down']['errors']} |",
        "",
        f"p99 stopped / up: **{o['p99_ratio_down_vs_up']:.2f}** (ratio of the medians); median "
        f"of the same-round ratios {statistics.median(o['per_round_p99_ratio']):.2f} (each: "
        f"{', '.join(f'{x:.2f}' for x in o['per_round_p99_ratio'])}). Seconds until a pass over "
        f"every company cost no statement again after Redis came back: "
        f"{', '.join(f'{x:.1f}' for x in o['seconds_to_serve_hits_again'])}.",
        "",
        "![latency distribution](latency.png)",
        "",
    ]


def _rss(r: dict) -> list[str]:
    rss = r["rss"]
    lines = [
        "## Worker memory",
        "",
        "| worker | RSS after warm-up MiB | at the end MiB | max MiB | growth | observed s |",
        "|---|---|---|---|---|---|",
    ]
    for pid, w in rss["workers"].items():
        lines.append(
            f"| {pid} | {w['first_kib'] / 1024:.1f} | {w['last_kib'] / 1024:.1f} | "
            f"{w['max_kib'] / 1024:.1f} | {w['growth_percent']:+.2f} % | "
            f"{w['seconds_observed']:.0f} |"
        )
    lines += [
        "",
        "Largest growth of a worker within each phase (a steady load should show none; a phase "
        "with new work, such as 400-service catalogs, may step up once): "
        + ", ".join(
            f"{name} {p['max_growth_percent']:+.2f} %" for name, p in rss["by_phase"].items()
        )
        + ".",
    ]
    return [*lines, "", "![RSS over time](rss.png)", ""]


def _growth(r: dict) -> list[str]:
    sizes, scale = r["sizes"]["by_services_per_company"], r["scale"]
    lines = [
        "## How cost grows",
        "",
        "| services per company | req/s median | us/request | x cost of the smallest | p99 ms "
        "| Redis bytes per company | snapshot bytes | response bytes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size, s in sizes.items():
        lines.append(
            f"| {size} | {s['rps_median']:,.0f} | {s['us_per_request']:,.0f} | "
            f"{s['cost_vs_smallest']:.2f} | {s['p99_ms']:.2f} | "
            f"{s['redis_bytes_per_company']:,.0f} | {s['snapshot_bytes_median']:,.0f} | "
            f"{s['response_bytes_median']:,.0f} |"
        )
    lines += [
        "",
        f"Companies, with Redis maxmemory {scale['maxmemory_bytes']:,} bytes "
        f"({scale['maxmemory_policy']}), after `catalog_cache warm`:",
        "",
        "| companies | hit ratio (1 - catalog queries/requests) | requests | req/s | p99 ms "
        "| Redis used memory | keys | evicted | statements/req |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for count, s in scale["by_companies"].items():
        lines.append(
            f"| {count} | {s['hit_ratio']:.4f} | {s['requests']:,} | {s['rps']:,.0f} | "
            f"{s['p99_ms']:.2f} | {s['redis_used_memory_bytes'] / 2**20:,.1f} MiB | "
            f"{s['redis_keys']:,} | {s['evicted_keys']:,} | {s['statements_per_request']:.3f} |"
        )
    lines += [
        "",
        "Statements per request there include API keys resolved for the first time. Companies "
        "whose cache entries fit in that maxmemory, from the bytes per company above: "
        + ", ".join(
            f"{size} services: {scale['maxmemory_bytes'] / s['redis_bytes_per_company']:,.0f}"
            for size, s in sizes.items()
        )
        + " (Redis' own overhead, about 1 MiB, aside).",
    ]
    return [*lines, ""]


def _one_line(query: str) -> str:
    text = " ".join(query.split())
    return text if len(text) <= 160 else text[:157] + "..."
