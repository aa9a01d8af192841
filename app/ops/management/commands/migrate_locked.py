"""`migrate` under a PostgreSQL advisory lock, so that concurrent runs (several replicas' init
containers, a job and a deploy hook) apply each migration once: the others wait, then find
nothing left to do. On other databases (SQLite locally) it is a plain `migrate`.

The lock is held by a separate session, not the one migrate uses: if a migration closes or
resets its connection, the lock must not silently go with it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import connections

# A stable 64-bit key for pg_advisory_lock, derived from a readable name.
LOCK_NAME = "wazen-ai:migrate"
LOCK_KEY = int.from_bytes(hashlib.sha256(LOCK_NAME.encode()).digest()[:8], "big", signed=True)


class Command(MigrateCommand):
    help = (
        "Run migrate while holding a PostgreSQL advisory lock (concurrent runs are safe); "
        "a plain migrate on other databases. Takes every migrate option."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--lock-timeout",
            type=float,
            default=300.0,
            help="seconds to wait for another migrate to finish (default 300)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["database"]
        with self._advisory_lock(alias, timeout=options["lock_timeout"]):
            super().handle(*args, **options)

    @contextmanager
    def _advisory_lock(self, alias: str, *, timeout: float) -> Iterator[None]:
        if connections[alias].vendor != "postgresql":
            yield
            return
        lock_connection = connections.create_connection(alias)
        try:
            with lock_connection.cursor() as cursor:
                deadline = time.monotonic() + timeout
                waiting = False
                while True:
                    cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
                    if cursor.fetchone()[0]:
                        break
                    if time.monotonic() > deadline:
                        raise CommandError(
                            f"another migrate holds the lock {LOCK_NAME!r} for over {timeout:g}s"
                        )
                    if not waiting:
                        self.stdout.write(f"waiting for another migrate ({LOCK_NAME!r})")
                        waiting = True
                    time.sleep(0.5)
                self.stdout.write(f"advisory lock {LOCK_NAME!r} taken")
                try:
                    yield
                finally:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
        finally:
            lock_connection.close()
