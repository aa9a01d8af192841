"""Gunicorn settings for the container image (docs/runtime-contract.md).

Every value comes from the environment with the contract's default. The master owns the
Prometheus multiprocess directory: it empties it at start, drops the live gauges of workers that
exit, and serves the metrics of all workers on METRICS_PORT, never through Django's public port.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from gunicorn import glogging
from prometheus_client import CollectorRegistry, multiprocess, start_http_server


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# -- server ------------------------------------------------------------------------------------
# The image's supervisor (docker/supervise.py) puts nginx on PORT and gunicorn on two unix sockets
# (comma-separated): nginx passes /v1/ requests on the one named *-openai.sock (see below).
bind = [
    address.strip() for address in os.environ.get("GUNICORN_BIND", "").split(",") if address.strip()
] or [f"0.0.0.0:{_env_int('PORT', 8000)}"]
BEHIND_FRONT = all(address.startswith("unix:") for address in bind)
if BEHIND_FRONT:
    # nginx bounds what reaches gunicorn (docker/nginx.conf.template): a request line and each
    # header line within 8 KiB, the whole header block within 4 x 8 KiB. gunicorn's own limits
    # (a 4094-byte request line, 100 header fields) are below that and refuse with an HTML page
    # nginx passes on: nginx's limits are the only ones here (32768 is gunicorn's maximum field
    # count, above what 32 KiB of headers can hold).
    limit_request_line = 0
    limit_request_fields = 32768
    limit_request_field_size = 0
# gevent: a reply waits seconds on the LLM, and a thread per waiting reply capped a pod at
# workers x threads replies at once (docs/serving.md has the measurements). A greenlet per
# request is a few tens of KiB, so a worker holds hundreds of replies; the cap on replies in
# flight is the app's WAZEN_MAX_INFLIGHT_REPLIES, not this number. gthread stays selectable.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "").strip() or "gevent"
workers = _env_int("GUNICORN_WORKERS", 2)
# The app refuses a process-local cache store shared by several processes (cachekit/checks.py).
os.environ["WAZEN_SERVER_PROCESSES"] = str(workers)
threads = _env_int("GUNICORN_THREADS", 4)  # gthread only
worker_connections = _env_int("GUNICORN_WORKER_CONNECTIONS", 1000)  # gevent: open connections
# The server's database connections come from a pool per worker (app/config/settings.py), read
# when the workers load the app; DATABASE_POOL=false in the environment still turns it off.
os.environ.setdefault("DATABASE_POOL", "true")
timeout = _env_int("GUNICORN_TIMEOUT", 60)
# SIGTERM: stop accepting, let in-flight requests finish for this long, then kill. Keep it below
# the orchestrator's grace period (Kubernetes: terminationGracePeriodSeconds, 30 by default).
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 25)
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
# Worker heartbeat files on tmpfs: the root filesystem is read-only, and a disk-backed tmp dir
# can stall the heartbeat and get healthy workers killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# gunicornc's control socket would need a writable $HOME; the orchestrator manages the process.
control_socket_disable = True

# -- logging -----------------------------------------------------------------------------------
LOG_JSON = os.environ.get("LOG_FORMAT", "text").strip().lower() == "json"
loglevel = os.environ.get("LOG_LEVEL", "info").strip().lower()
# One line per request; GUNICORN_ACCESS_LOG=false turns it off (make bench states its cost).
accesslog = (
    "-" if os.environ.get("GUNICORN_ACCESS_LOG", "true").strip().lower() != "false" else None
)
errorlog = "-"


def _now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object per line for gunicorn's own messages (start-up, worker exits, errors)."""

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
        entry: dict[str, Any] = {
            "time": created.isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class JsonAtoms(glogging.SafeAtoms):
    """Access-log atoms made safe inside a JSON document, converted when the format reads them.

    Strings are JSON-escaped (quotes, backslashes, control characters), so a quoted `"%(a)s"`
    stays valid JSON whatever the client sends; numbers and `None` are rendered as JSON for the
    unquoted fields. Lookups keep SafeAtoms' rules (case-insensitive headers, "-" when absent).
    """

    def __init__(self, atoms: dict[str, Any]) -> None:
        dict.__init__(self, atoms)

    def __getitem__(self, key: str) -> str:
        value = super().__getitem__(key)
        if isinstance(value, int | float) or value is None:
            return json.dumps(value)
        return json.dumps(str(value))[1:-1]


class JsonLogger(glogging.Logger):
    """gunicorn's logger with JSON lines for both the error and the access log."""

    atoms_wrapper_class = JsonAtoms

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["t"] = _now_iso()
        atoms["p"] = os.getpid()
        return atoms


# Behind the image's nginx (a unix socket) the peer has no address: nginx's X-Real-IP, which it
# always overwrites, is the client's. Served directly, the socket's peer address is.
_REMOTE_ADDR = "%({x-real-ip}i)s" if bind[0].startswith("unix:") else "%(h)s"

if LOG_JSON:
    logger_class = JsonLogger
    # Quoted fields are strings, unquoted ones numbers (JsonAtoms escapes both kinds).
    access_log_format = (
        '{"time": "%(t)s", "level": "INFO", "logger": "gunicorn.access", "message": "%(r)s", '
        f'"remote_addr": "{_REMOTE_ADDR}", "method": "%(m)s", "path": "%(U)s", "query": "%(q)s", '
        '"status": %(s)s, "bytes": %(B)s, "duration_ms": %(M)s, "user_agent": "%(a)s", '
        '"referer": "%(f)s", "request_id": "%({x-request-id}i)s", "pid": %(p)s}'
    )

# -- Prometheus multiprocess metrics -----------------------------------------------------------
METRICS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
METRICS_PORT = _env_int("METRICS_PORT", 9100)
METRICS_ADDR = os.environ.get("METRICS_ADDR", "").strip() or "0.0.0.0"
_metrics_server: Any = None


def on_starting(server: Any) -> None:
    """Start from an empty metrics directory: files left by an earlier master are stale."""
    if not METRICS_DIR:
        return
    directory = Path(METRICS_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise RuntimeError(
            f"PROMETHEUS_MULTIPROC_DIR={directory} is not writable by uid {os.getuid()}: mount a "
            "tmpfs or emptyDir there (podman: --read-only-tmpfs=false --tmpfs /run/metrics)"
        )
    # The directory itself may be a mount point (tmpfs, emptyDir): empty it, keep it.
    for path in directory.glob("*.db"):
        path.unlink()


def when_ready(server: Any) -> None:
    """Serve the aggregate of every worker's metric files from the master on METRICS_PORT."""
    global _metrics_server
    if not METRICS_DIR:
        server.log.warning("PROMETHEUS_MULTIPROC_DIR is not set: no metrics server")
        return
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=METRICS_DIR)
    _metrics_server, _thread = start_http_server(METRICS_PORT, addr=METRICS_ADDR, registry=registry)
    server.log.info("Serving metrics on %s:%s/metrics", METRICS_ADDR, METRICS_PORT)


def post_fork(server: Any, worker: Any) -> None:
    """Workers must not hold the master's metrics socket open (it would outlive the master)."""
    if _metrics_server is not None:
        _metrics_server.socket.close()


def child_exit(server: Any, worker: Any) -> None:
    """Drop the live gauges of a worker that exited; its counters stay in the aggregate."""
    if METRICS_DIR:
        multiprocess.mark_process_dead(worker.pid, path=METRICS_DIR)


# -- gunicorn's own refusals: JSON, never its HTML page ----------------------------------------
# A request gunicorn's parser refuses (a control byte in a header value, a byte outside ASCII in
# the target …) never reaches Django: gunicorn answers it itself, with an HTML page. nginx passes
# such requests on (it checks less), so gunicorn's answer is the API's JSON error instead: in
# OpenAI's shape on the socket nginx uses for /v1/ (the path is not known when the request line
# or a header did not parse), in the /api/ shape elsewhere; served directly (no front), the
# path decides when gunicorn parsed it. app/api/errors.py builds both shapes.
OPENAI_SOCKET_SUFFIX = "-openai.sock"
_FRONT_ERRORS = {
    400: ("bad_request", "Malformed request."),
    403: ("forbidden", "This request is not allowed."),
    414: ("uri_too_long", "The request line is too long."),
    417: ("expectation_failed", "The Expect header cannot be met."),
    431: ("headers_too_large", "Too many or too large headers."),
    500: ("internal_error", "Internal error; it has been logged."),
    501: ("not_implemented", "The transfer coding is not supported."),
}
_openai_clients: dict[int, bool] = {}


def _is_openai_request(client: Any, req: Any, exc: BaseException) -> bool:
    try:
        listener = client.getsockname()
    except OSError:
        listener = None
    if isinstance(listener, str) and listener:  # a unix socket: the front chose it by path
        return listener.endswith(OPENAI_SOCKET_SUFFIX)
    request = req or getattr(exc, "req", None)
    if isinstance(request, str):  # a refused request line: the line, or its target alone
        words = request.split(" ")
        target = words[1] if len(words) > 1 else words[0]
        path = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*", "", target)  # absolute form
    else:
        path = getattr(request, "path", None) or ""
    return path.startswith("/v1/")


def _json_error(status: int, openai: bool) -> bytes:
    from api.errors import error_body  # the worker has loaded the app: its modules import

    code, message = _FRONT_ERRORS.get(
        status, ("bad_request", "Malformed request.") if status < 500 else _FRONT_ERRORS[500]
    )
    return json.dumps(error_body(status, code, message, openai=openai)).encode() + b"\n"


def _install_json_errors() -> None:
    from gunicorn import util
    from gunicorn.workers import base

    if getattr(util.write_error, "json_errors", False):  # SIGHUP re-reads this file: once only
        return
    handle_error = base.Worker.handle_error
    html_write_error = util.write_error

    def handle_error_in_json(self: Any, req: Any, client: Any, addr: Any, exc: Any) -> None:
        _openai_clients[id(client)] = _is_openai_request(client, req, exc)
        try:
            handle_error(self, req, client, addr, exc)
        finally:
            _openai_clients.pop(id(client), None)

    def write_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
        try:
            body = _json_error(status_int, _openai_clients.get(id(sock), False))
        except Exception:  # never lose the answer over its shape
            html_write_error(sock, status_int, reason, mesg)
            return
        head = (
            f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        util.write_nonblock(sock, head.encode("latin-1") + body)

    write_error.json_errors = True  # type: ignore[attr-defined]
    base.Worker.handle_error = handle_error_in_json
    util.write_error = write_error


_install_json_errors()
