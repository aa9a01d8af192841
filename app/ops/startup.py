"""Start-up guard for the WSGI server, which (unlike manage.py) never runs system checks."""

from __future__ import annotations

from django.core import checks
from django.core.management.base import SystemCheckError


def fail_on_system_check_errors() -> None:
    errors = [m for m in checks.run_checks() if m.level >= checks.ERROR and not m.is_silenced()]
    if errors:
        raise SystemCheckError(
            "System check errors, refusing to start:\n" + "\n".join(str(e) for e in errors)
        )
