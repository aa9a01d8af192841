"""Wait until the database accepts connections: the `migrate` entrypoint runs it first, because a
migration job or init container usually starts before (or together with) its database.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import OperationalError

from ops.shutdown import exit_on_sigterm


class Command(BaseCommand):
    help = "Wait until the database accepts connections (exit 1 after --timeout seconds)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--timeout", type=float, default=60.0, help="seconds to wait at most (default 60)"
        )
        parser.add_argument(
            "--interval", type=float, default=1.0, help="seconds between attempts (default 1)"
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="database alias")

    def handle(self, *args: Any, **options: Any) -> None:
        exit_on_sigterm()
        alias, timeout, interval = options["database"], options["timeout"], options["interval"]
        connection = connections[alias]
        deadline = time.monotonic() + timeout
        attempt = 0
        while True:
            attempt += 1
            try:
                connection.ensure_connection()
            except OperationalError as error:
                connection.close()
                reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
                if time.monotonic() + interval > deadline:
                    raise CommandError(
                        f"database {alias!r} not reachable after {timeout:g}s: {reason}"
                    ) from error
                if attempt == 1 or attempt % 10 == 0:
                    self.stderr.write(f"waiting for database {alias!r}: {reason}")
                time.sleep(interval)
            else:
                connection.close()
                self.stdout.write(f"database {alias!r} is reachable (attempt {attempt})")
                return
