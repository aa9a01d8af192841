"""PID 1 of the web container: nginx in front (PORT), gunicorn behind it (a unix socket).

Why two processes: nginx reads whole requests on an event loop and passes only complete ones to
gunicorn, with client timeouts, buffering for slow readers and JSON refusals (docker/README.md).
It was built when gunicorn ran gthread workers, where a client stalling mid-headers or mid-body
held a thread (8 such connections starved a pod); the gevent workers hold such a client in a
greenlet, and the front still bounds how long.

Supervision stays minimal and predictable:
- both start; if either exits, the other is stopped and the container exits with that code
  (the kubelet restarts it);
- SIGHUP is passed to both (gunicorn replaces its workers gracefully, nginx reloads);
- SIGTERM/SIGINT: nginx first, gracefully (SIGQUIT: stop accepting, finish every request it
  holds, within GUNICORN_GRACEFUL_TIMEOUT), then gunicorn (SIGTERM: its own graceful stop), so a
  request already accepted is never cut off by gunicorn closing its socket under nginx.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
RUN_DIR = Path("/tmp/nginx")  # /tmp: the container's only writable place
SOCKET = "/tmp/gunicorn.sock"
# nginx passes /v1/ requests (the OpenAI-compatible API) on this one: gunicorn's own refusals,
# written before the path is known, take that API's error shape (docker/gunicorn.conf.py).
OPENAI_SOCKET = "/tmp/gunicorn-openai.sock"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _relay(stream: IO[str]) -> None:
    for line in stream:
        if line.strip():
            log(line.rstrip(), logger="nginx", level="WARNING")


def log(message: str, *, logger: str = "supervise", level: str = "INFO") -> None:
    """One line in the container's log format (LOG_FORMAT=json in the image)."""
    if os.environ.get("LOG_FORMAT", "text").strip().lower() == "json":
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": level,
            "logger": logger,
            "message": message,
            "pid": os.getpid(),
        }
        line = json.dumps(entry)
    else:
        line = f"[{logger}] {message}"
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def render_nginx_conf() -> Path:
    grace = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 25)
    values = {
        "PORT": str(_env_int("PORT", 8000)),
        "SOCKET": SOCKET,
        "OPENAI_SOCKET": OPENAI_SOCKET,
        "GRACEFUL_TIMEOUT": str(grace),
        "CLIENT_TIMEOUT": str(_env_int("WAZEN_CLIENT_TIMEOUT", 10)),
        "KEEPALIVE": str(_env_int("GUNICORN_KEEPALIVE", 5)),
        "UPSTREAM_TIMEOUT": str(_env_int("GUNICORN_TIMEOUT", 60) + 5),
    }
    text = (HERE / "nginx.conf.template").read_text()
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    conf = RUN_DIR / "nginx.conf"
    conf.write_text(text)
    return conf


def main(gunicorn_args: list[str]) -> int:
    conf = render_nginx_conf()
    env = {**os.environ, "GUNICORN_BIND": f"unix:{SOCKET},unix:{OPENAI_SOCKET}"}
    # Fixed argument lists of binaries on the image's PATH; the extra arguments are the
    # container command's own (as `exec gunicorn "$@"` passed them before).
    gunicorn = subprocess.Popen(  # noqa: S603
        ["gunicorn", "--config", str(HERE / "gunicorn.conf.py"), *gunicorn_args,  # noqa: S607
         "config.wsgi:application"],
        env=env,
    )  # fmt: skip
    nginx = subprocess.Popen(  # noqa: S603
        ["nginx", "-e", "stderr", "-c", str(conf), "-g", "daemon off;"],  # noqa: S607
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    # nginx's own messages in the container's log format (one JSON object per line).
    threading.Thread(target=_relay, args=(nginx.stderr,), daemon=True).start()
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        log(f"{signal.Signals(signum).name}: stopping nginx gracefully, then gunicorn")
        if nginx.poll() is None:
            nginx.send_signal(signal.SIGQUIT)

    def reload(_signum: int, _frame: object) -> None:
        """SIGHUP as gunicorn alone would take it: workers replaced gracefully (and nginx's
        workers too, keeping every connection it holds)."""
        log("SIGHUP: reloading gunicorn workers and nginx")
        for process in (gunicorn, nginx):
            if process.poll() is None:
                process.send_signal(signal.SIGHUP)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)

    while True:
        if nginx.poll() is not None:
            break
        if gunicorn.poll() is not None:
            break
        time.sleep(0.1)

    if not stopping:
        failed = "nginx" if nginx.poll() is not None else "gunicorn"
        log(f"{failed} exited unexpectedly; stopping the container")
    if nginx.poll() is None:
        nginx.send_signal(signal.SIGQUIT)
        _wait(nginx, _env_int("GUNICORN_GRACEFUL_TIMEOUT", 25) + 2)
    if gunicorn.poll() is None:
        gunicorn.send_signal(signal.SIGTERM)
        _wait(gunicorn, _env_int("GUNICORN_GRACEFUL_TIMEOUT", 25) + 2)
    codes = [nginx.returncode, gunicorn.returncode]
    if stopping:
        return 0 if all(code == 0 for code in codes) else 1
    return next((code for code in codes if code), 1)


def _wait(process: subprocess.Popen, timeout: float) -> None:
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
