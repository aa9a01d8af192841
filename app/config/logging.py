"""Log formatting: one JSON object per line in containers, readable text locally."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Emit records as JSON so log pipelines index fields instead of parsing text."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = value if isinstance(value, str | int | float | bool) else repr(value)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    formatter = "json" if log_format == "json" else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": JsonFormatter},
            "text": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"},
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": formatter}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            "health_check": {"level": "ERROR"},
            # The LLM client's libraries log every HTTP request at INFO: a line per reply that
            # says nothing the reply metrics do not (failures are logged by assistant.services).
            **{name: {"level": "WARNING"} for name in ("httpx", "httpx2", "httpcore", "openai")},
            # The pool warns on every failed connection attempt; a database outage is reported
            # by the app's own 503s and logs (ops/database.py) and by the probes.
            "psycopg.pool": {"level": "ERROR"},
        },
    }
