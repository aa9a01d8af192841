"""Wait until every migration is applied: the app pods' and the seed Job's init container.

It replaces an inline `manage shell -c` loop, which ran as PID 1 without a SIGTERM handler and
so ignored the kubelet's SIGTERM (a deleted pod stayed Terminating for its whole grace period).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

from ops.migrations import pending_migrations
from ops.shutdown import exit_on_sigterm


class Command(BaseCommand):
    help = "Wait until no migration is pending (exits 143 on SIGTERM, 1 after --timeout)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval", type=float, default=2.0, help="seconds between checks (default 2)"
        )
        parser.add_argument(
            "--timeout", type=float, default=0.0, help="give up after this many seconds (0: never)"
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="database alias")

    def handle(self, *args: Any, **options: Any) -> None:
        exit_on_sigterm()
        alias, interval, timeout = options["database"], options["interval"], options["timeout"]
        deadline = time.monotonic() + timeout if timeout > 0 else None
        last = ""
        while True:
            try:
                pending = pending_migrations(alias)
            except Exception as error:  # any driver error means "not reachable yet"
                lines = str(error).strip().splitlines()
                state = f"database {alias!r} not ready: {lines[0] if lines else repr(error)}"
            else:
                if pending == 0:
                    self.stdout.write("wait-for-migrations: every migration is applied")
                    return
                state = f"{pending} migration(s) pending, waiting"
            if state != last:  # one line per change of state, not one per attempt
                self.stderr.write(f"wait-for-migrations: {state}")
                last = state
            if deadline is not None and time.monotonic() + interval > deadline:
                raise CommandError(f"wait-for-migrations: gave up after {timeout:g}s: {state}")
            time.sleep(interval)
