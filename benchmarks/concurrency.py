"""The concurrent-replies phase: how many streamed replies one pod's server holds at once.

Each level (N clients, an upstream reply of a given length) runs against every server in turn,
in the same minute, against the same scripted model (benchmarks/upstream.py):

- `gthread`: the project as it was served before, gunicorn 2 workers x 4 threads (a thread per
  reply);
- `asgi`: the project's views and middleware as they are, under uvicorn (2 workers) as an ASGI
  application: Django runs the sync code in threads (benchmarks/project_asgi.py);
- `gevent`: the project as it is served now (docker/gunicorn.conf.py: 2 gevent workers);
- `floor`: a bare async Django view streaming through AsyncOpenAI under uvicorn, 2 workers, no
  middleware, no database, no authentication (benchmarks/floor/): what any Django server can do
  on this machine.

Each server starts fresh for each level, so a level's leftover queue never reaches the next. The
harness samples the workers' RSS and the PostgreSQL client connections while the level runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import streamload
from benchmarks.config import Config
from benchmarks.dataset import Tenant
from benchmarks.phases import log
from benchmarks.probes import PgStats, request, rss_kib, worker_pids
from benchmarks.stack import REPO, Gunicorn, free_port, stop_process
from benchmarks.upstream import reply_text

SERVERS = ("gthread", "asgi", "gevent", "floor")
TOKENS = 20  # the scripted reply: 20 tokens; its length decides the pace


@dataclass(frozen=True)
class Level:
    concurrency: int
    reply_s: float
    window_s: float

    @property
    def ideal_replies_per_s(self) -> float:
        return self.concurrency / self.reply_s


def levels(config: Config) -> list[Level]:
    if config.quick:
        return [Level(8, 1.0, 4.0), Level(64, 1.0, 5.0)]
    return [
        Level(8, 1.0, 8.0),
        Level(32, 1.0, 8.0),
        Level(128, 1.0, 11.0),
        Level(1000, 10.0, 31.0),
    ]


class Upstream:
    """The scripted model in a process of its own (it must not share the harness' GIL)."""

    def __init__(self, reply_s: float) -> None:
        self.port = free_port()
        token_ms = reply_s * 1e3 / TOKENS
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.upstream",
             str(self.port), str(TOKENS), str(token_ms)],
            cwd=REPO, stdout=subprocess.PIPE,
        )  # fmt: skip
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != b"ready":
            raise RuntimeError("the scripted upstream did not start")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stats(self, reset: bool = False) -> dict:
        """What the model saw: streams served, the most open at once (the server's real
        concurrency, whatever its clients tried), streams whose caller hung up."""
        return request(self.port, "/stats/reset" if reset else "/stats").json()

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@dataclass
class Uvicorn:
    """uvicorn with 2 workers, like the project's 2 gunicorn workers: the floor's bare async
    app, or the project's own ASGI application."""

    app: str
    env: dict[str, str]
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def start(self, attempts: int = 3) -> Uvicorn:
        """Start and wait until it answers; a port taken meanwhile by another process: a new
        one, up to `attempts`."""
        for _ in range(attempts):
            if self._launch():
                return self
            self.port = free_port()
        raise RuntimeError(f"{self.app} did not start; see {self.workdir}/uvicorn-*.log")

    def _launch(self) -> bool:
        env = {**os.environ, **self.env}
        log_file = (self.workdir / f"uvicorn-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", self.app,
             "--host", "127.0.0.1", "--port", str(self.port), "--workers", "2",
             "--no-access-log", "--lifespan", "off", "--backlog", "4096"],
            cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log_file.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if request(self.port, "/health/live").status in (200, 404):
                    return True
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.app} does not answer")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        stop_process(self.process, timeout=10)


def quick_stop(server: Gunicorn) -> None:
    """SIGQUIT: gunicorn's immediate shutdown (the queue left by a gthread level can hold
    minutes of replies that nobody waits for)."""
    if server.process and server.process.poll() is None:
        server.process.send_signal(signal.SIGQUIT)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    server.process = None


def cpu_seconds(master_pid: int) -> float:
    """User + system CPU time of the server's workers so far (/proc/<pid>/stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in worker_pids(master_pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


class Sampler:
    """While a level runs: the server's worker RSS (sum over workers) and PostgreSQL's client
    connections, every half second."""

    def __init__(self, master_pid: int, pg: PgStats, application_name: str) -> None:
        self.master_pid, self.pg, self.application_name = master_pid, pg, application_name
        self.rss_kib: list[int] = []
        self.db_connections: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            sizes = [rss_kib(pid) for pid in worker_pids(self.master_pid)]
            self.rss_kib.append(sum(s for s in sizes if s))
            self.db_connections.append(self.pg.client_connections(self.application_name))
            self._stop.wait(0.5)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _start(name: str, env: dict, workdir: Path, upstream: Upstream, tenants: list[Tenant]):
    if name == "floor":
        floor_env = {"FLOOR_UPSTREAM": upstream.base_url,
                     "DJANGO_SETTINGS_MODULE": "benchmarks.floor.settings"}  # fmt: skip
        return Uvicorn("benchmarks.floor.app:application", floor_env, workdir).start()
    server_env = {
        **env,
        # The project's own settings: the bench's add django-cachalot, whose ORM patches run on
        # every write (and a reply writes), which the product never pays.
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # Its connections carry its name: the sampler counts this server's alone.
        "DATABASE_URL": f"{env['DATABASE_URL']}?application_name=bench-{name}",
        "LLM_PROVIDER": "openai",
        "OPENAI_BASE_URL": upstream.base_url,
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_MODEL": "bench-model",
        "OPENAI_MAX_RETRIES": "0",
        "GUNICORN_WORKER_CLASS": name,
        "GUNICORN_ACCESS_LOG": "false",  # both servers alike; the floor logs nothing either
        "WAZEN_MAX_INFLIGHT_REPLIES": "1000",  # the level, not the limit, is measured
    }
    if name == "asgi":
        return Uvicorn("benchmarks.project_asgi:application", server_env, workdir).start()
    return Gunicorn(server_env, workdir).start("/health/live")


def run(config: Config, env: dict, workdir: Path, pg: PgStats, tenants: list[Tenant]) -> dict:
    pairs = [(t.key, t.slug) for t in tenants]
    from django.conf import settings  # the harness runs the project's settings

    pool = settings.DATABASE_POOL_MAX_SIZE  # the servers' pools (gunicorn.conf.py turns them on)
    results: dict = {"servers": list(SERVERS), "tokens": TOKENS, "levels": [],
                     "db_pool_max_size_per_worker": pool}  # fmt: skip
    for level in levels(config):
        upstream = Upstream(level.reply_s)
        row: dict = {"concurrency": level.concurrency, "reply_s": level.reply_s,
                     "ideal_replies_per_s": level.ideal_replies_per_s,
                     "db_pool_limit": 2 * pool}  # fmt: skip
        try:
            for name in SERVERS:
                log(f"concurrent replies: N={level.concurrency}, {level.reply_s:g} s, {name}")
                server = _start(name, env, workdir, upstream, tenants)
                try:
                    streamload.measure(  # warm-up: imports, pools, the first connections
                        port=server.port, tenants=pairs, concurrency=4, window_s=2.0,
                        expected_text=reply_text(TOKENS), probe_path="/api/v1/services",
                        timeout_s=level.reply_s * 3 + 5,
                    )  # fmt: skip
                    idle_kib = sum(rss_kib(p) or 0 for p in worker_pids(server.pid))
                    upstream.stats(reset=True)
                    cpu_before = cpu_seconds(server.pid)
                    with Sampler(server.pid, pg, f"bench-{name}") as sampler:
                        summary = streamload.measure(
                            port=server.port, tenants=pairs, concurrency=level.concurrency,
                            window_s=level.window_s, expected_text=reply_text(TOKENS),
                            probe_path="/api/v1/services", timeout_s=level.reply_s * 3 + 20,
                            at_window_end=upstream.stats,
                        )  # fmt: skip
                    cpu = cpu_seconds(server.pid) - cpu_before
                    peak_kib = max(sampler.rss_kib, default=idle_kib)
                    summary |= {
                        "worker_rss_idle_kib": idle_kib,
                        "worker_rss_peak_kib": peak_kib,
                        "worker_rss_growth_per_stream_kib": (peak_kib - idle_kib)
                        / level.concurrency,
                        "db_connections_max": max(sampler.db_connections, default=0),
                        "upstream_max_open": summary.pop("window_end")["max_open"],
                        # The window's CPU over the replies completed in it: each reply's own
                        # cost, whatever else shares the machine.
                        "worker_cpu_ms_per_reply": cpu * 1e3 / max(summary["replies"], 1),
                    }
                    row[name] = summary
                finally:
                    server.stop() if isinstance(server, Uvicorn) else quick_stop(server)
        finally:
            upstream.stop()
        results["levels"].append(row)
    return results
