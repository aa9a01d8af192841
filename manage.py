#!/usr/bin/env python
"""Django's manage.py from the repository root, for a local checkout (the image runs app/'s).

    ./manage.py createsuperuser        (or: .venv/bin/python manage.py …, make manage ARGS=…)

Local runs default to DJANGO_DEBUG=true, as `make run` does, so the development secret key is
accepted and commands such as `createsuperuser` need no DJANGO_SECRET_KEY; set DJANGO_DEBUG=false
and DJANGO_SECRET_KEY to act on a production-like configuration. The database is app/'s default
(app/db.sqlite3) unless DATABASE_URL says otherwise.
"""

import os
import sys
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent / "app"

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(APP_DIR))
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
