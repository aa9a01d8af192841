"""WSGI entry point. Runs Django's system checks first, because gunicorn never does: an invalid
cache configuration must stop the process at start-up, not at the first cache call. Then starts
this process' sweep of pending invalidations (cachekit/pending.py): a serving process honours
what another process could not bring to Redis.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

from ops.startup import fail_on_system_check_errors  # noqa: E402 -- needs Django set up

fail_on_system_check_errors()

from cachekit.pending import start_sweeping  # noqa: E402

sweeper = start_sweeping()
