"""The project as an ASGI application (Django's ASGIHandler), for the concurrent-replies phase's
`asgi` candidate: the same views and middleware under uvicorn, with the sync code run by Django
in worker threads. Not how the product is served (docs/serving.md says why); measured beside it.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()
