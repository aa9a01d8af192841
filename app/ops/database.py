"""A database outage answers 503 with Retry-After, not 500 with a traceback per request.

While PostgreSQL restarts, every request that needs it fails with OperationalError (connection
refused, server closed the connection, administrator shutdown) or InterfaceError (connection
already closed). Those are a state of the world, not a bug: the client should retry shortly, the
SRE needs a counter and one log line per interval (an acceptance run logged 6,735 tracebacks in
15 s). Other database errors (ProgrammingError, IntegrityError, DataError) stay 500s: they are bugs.
Requests that do not need the database (the cached catalog) keep being served.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from api.errors import error_response
from api.handlers import is_api_path
from cachekit.guard import RateLimitedLog
from ops.metrics import DATABASE_UNAVAILABLE

RETRY_AFTER_SECONDS = 5
_log = RateLimitedLog(logging.getLogger("ops.database"))


def database_unavailable_response(request: HttpRequest, error: BaseException) -> HttpResponse:
    DATABASE_UNAVAILABLE.inc()
    _log.warning(
        "Database unavailable (%s: %s); answering 503",
        type(error).__name__,
        str(error).strip().splitlines()[0] if str(error).strip() else "",
    )
    if is_api_path(request.path):
        response = error_response(
            request,
            503,
            "database_unavailable",
            "The service cannot reach its database right now; retry shortly.",
        )
    else:
        response = HttpResponse(
            "Service temporarily unavailable; retry shortly.\n",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # Logged above, once per interval: Django's own per-response 5xx line would be one per request.
    response._has_been_logged = True
    return response


class DatabaseOutageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError | InterfaceError):
            return database_unavailable_response(request, exception)
        return None
