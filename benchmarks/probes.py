"""Counters read from the servers themselves: PostgreSQL's pg_stat_statements, Redis' INFO,
and the kernel's view of the gunicorn workers' memory. Nothing here trusts the app's word.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

# Commands the harness itself sends to Redis; they never count as the app's round trips.
_HARNESS_COMMANDS = {
    "info", "config|set", "config|get", "memory|usage", "scan", "strlen", "type", "flushdb",
    "client|setinfo", "dbsize", "hello", "select",
}  # fmt: skip


class PgStats:
    """Statement counts of the benchmark database, from pg_stat_statements (utility included)."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def reset(self) -> None:
        self.conn.execute("SELECT pg_stat_statements_reset()")

    def statements(self) -> list[tuple[str, int]]:
        """(normalised statement, calls) since the last reset, most frequent first."""
        rows = self.conn.execute(
            "SELECT query, calls FROM pg_stat_statements "
            "WHERE query NOT ILIKE '%pg_stat_statements%' ORDER BY calls DESC, query"
        ).fetchall()
        return [(query, int(calls)) for query, calls in rows]

    def total(self) -> int:
        return sum(calls for _, calls in self.statements())

    def catalog_queries(self) -> int:
        """SELECTs that read the catalog (the services table): one per cache miss."""
        return sum(
            calls
            for query, calls in self.statements()
            if query.lstrip().upper().startswith("SELECT") and '"catalog_service"' in query
        )

    def client_connections(self, application_name: str | None = None) -> int:
        """Client connections open on the server now (of one application, when named), this
        one excluded."""
        row = self.conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() "
            "AND (%(name)s::text IS NULL OR application_name = %(name)s)",
            {"name": application_name},
        ).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self.conn.close()


class RedisStats:
    """Server-side command counts and memory, read over one dedicated connection."""

    def __init__(self, port: int) -> None:
        self.client = redis.Redis(port=port, socket_timeout=5)

    def reconnect(self) -> None:
        self.client.connection_pool.disconnect()

    def commands(self) -> int:
        stats = self.client.info("commandstats")
        return sum(
            entry["calls"]
            for name, entry in stats.items()
            if name.removeprefix("cmdstat_") not in _HARNESS_COMMANDS
        )

    def info(self, section: str) -> dict:
        return self.client.info(section)

    def keys_memory(self, db: int = 0) -> tuple[int, int, list[int]]:
        """(keys, total MEMORY USAGE bytes, string value sizes) of one database."""
        client = redis.Redis(port=self.client.connection_pool.connection_kwargs["port"], db=db)
        try:
            count, total, sizes = 0, 0, []
            for key in client.scan_iter(count=1000):
                count += 1
                total += int(client.memory_usage(key, samples=0) or 0)
                if client.type(key) == b"string":
                    sizes.append(int(client.strlen(key)))
            return count, total, sizes
        finally:
            client.close()

    def flushdb(self, db: int = 0) -> None:
        client = redis.Redis(port=self.client.connection_pool.connection_kwargs["port"], db=db)
        try:
            client.flushdb()
        finally:
            client.close()


@dataclass
class Response:
    status: int
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def request(port: int, path: str, key: str | None = None, body: dict | None = None) -> Response:
    """One HTTP request on a fresh connection (GET, or POST with a JSON body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        if body is None:
            conn.request("GET", path, headers=headers)
        else:
            headers["Content-Type"] = "application/json"
            conn.request("POST", path, body=json.dumps(body), headers=headers)
        response = conn.getresponse()
        return Response(response.status, response.read())
    finally:
        conn.close()


def concurrent_requests(port: int, path: str, key: str | None, count: int) -> list[Response]:
    """`count` requests released at once by a barrier, each on its own connection."""
    barrier = threading.Barrier(count)
    results: list[Response | None] = [None] * count

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.connect()  # connect first: the barrier then releases the requests themselves
        try:
            barrier.wait()
            conn.request("GET", path, headers={"Authorization": f"Bearer {key}"} if key else {})
            response = conn.getresponse()
            results[index] = Response(response.status, response.read())
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [r if r is not None else Response(0, b"") for r in results]


def server_requests(metrics_port: int) -> int | None:
    """Requests the server received (django-prometheus' before-middleware counter, all workers).

    wrk counts only the responses it read before its deadline; requests still in flight then are
    served (and run their statements) anyway, so per-request costs divide by the server's count.
    None when the metric is not exposed.
    """
    from prometheus_client.parser import text_string_to_metric_families

    url = f"http://127.0.0.1:{metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        if family.name == "django_http_requests_before_middlewares":
            return int(sum(s.value for s in family.samples if s.name.endswith("_total")))
    return None


def worker_pids(master_pid: int) -> list[int]:
    """The gunicorn master's children (its workers), from /proc."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    try:
        return [int(pid) for pid in children.read_text().split()]
    except OSError:
        return []


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


@dataclass
class RssSampler:
    """Samples every worker's VmRSS in a background thread: (seconds since start, pid, KiB)."""

    master_pid: int
    interval: float = 1.0
    samples: list[tuple[float, int, int]] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _started: float = 0.0

    def start(self) -> RssSampler:
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def mark(self, name: str) -> None:
        self.marks[name] = round(time.monotonic() - self._started, 2)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = round(time.monotonic() - self._started, 2)
            for pid in worker_pids(self.master_pid):
                kib = rss_kib(pid)
                if kib is not None:
                    self.samples.append((now, pid, kib))
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
