"""How many migrations the database still lacks: read by the startup probe and by the init
containers' wait (`manage.py wait_for_migrations`)."""

from __future__ import annotations

from django.db import connections
from django.db.migrations.executor import MigrationExecutor


def pending_migrations(alias: str) -> int:
    """Migrations not applied yet on the database `alias` (raises if it is unreachable).

    Opens a connection only for the check and closes it again if it was not open before.
    """
    connection = connections[alias]
    with connection.temporary_connection():
        executor = MigrationExecutor(connection)
        return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
