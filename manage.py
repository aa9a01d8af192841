#!/usr/bin/env python
"""Django's manage.py from the repository root, for a local checkout (the image runs app/'s).

    ./manage.py createsuperuser        (or: .venv/bin/python manage.py …, make manage ARGS=…)

Local runs default to DJANGO_DEBUG=true, as `make run` does, so the development secret key is
accepted and commands such as `createsuperuser` need no DJANGO_SECRET_KEY; set DJANGO_DEBUG=false
and DJANGO_SECRET_KEY to act on a production-like configuration. The database is app/'s default
(app/db.sqlite3) unless DATABASE_URL says otherwise. While `make run` serves, its Redis (a unix
socket in .run/) is this process' cache too, so a write made here (a shell, a command) reaches the
server's workers at once.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
APP_DIR = ROOT / "app"
LOCAL_REDIS = ROOT / ".run" / "redis.sock"  # started by `make run`

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if LOCAL_REDIS.is_socket() and not os.environ.get("REDIS_URL"):
        os.environ.setdefault("DJANGO_CACHE_BACKEND", "redis")
        if os.environ["DJANGO_CACHE_BACKEND"] == "redis":
            os.environ["REDIS_URL"] = f"unix://{LOCAL_REDIS}"
    sys.path.insert(0, str(APP_DIR))
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
