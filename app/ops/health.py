"""Probe checks and the probe view (django-health-check 4.8).

/health/live    no external dependency: a Redis or database blip must never restart pods.
/health/ready   database + catalog cache. A cache failure is reported in the body but, unless
                WAZEN_HEALTH_CACHE_CRITICAL is set, keeps the pod ready: replies are then served
                from the database, and pulling every pod would turn a cache outage into an outage.
/health/startup database reachable and every migration applied.

These paths are public: the kubelet probes the HTTP port, and the Ingress routes every path of that
port (through the image's nginx) to the app. So the answer, in every format, holds the overall
status and each check's name with `ok` or `failed`, nothing else: no error text (a Redis or
database error names hosts, ports and users), no cache statistics. The details are where only
operators look: the log (each failure at WARNING with its error) and the metrics port
(wazen_cache_available, wazen_database_unavailable_total, wazen_migrations_pending, the cache
counters); `manage.py catalog_cache stats` prints the cache's statistics.
"""

from __future__ import annotations

import dataclasses
import logging
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.http import HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.views import View
from health_check.base import HealthCheck, HealthCheckResult
from health_check.checks import Database
from health_check.exceptions import HealthCheckException, ServiceUnavailable
from health_check.views import HealthCheckView, MediaType

from cachekit import registry
from cachekit.guard import CacheUnavailable
from ops.metrics import MIGRATIONS_PENDING
from ops.migrations import pending_migrations

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class CatalogCache(HealthCheck):
    """Round-trips the catalog cache; fails only when the cache is critical for readiness."""

    state: str = dataclasses.field(default="unknown", repr=False)
    detail: str = dataclasses.field(default="", repr=False)
    latency_ms: float | None = dataclasses.field(default=None, repr=False)

    def run(self) -> None:
        try:
            self.latency_ms = round(registry.ping() * 1000, 2)
            self.state = "up"
        except CacheUnavailable as error:
            self.state, self.detail = "down", str(error)
            if settings.WAZEN_HEALTH_CACHE_CRITICAL:
                raise ServiceUnavailable(f"catalog cache unavailable: {error}") from error

    @property
    def ok(self) -> bool:
        return self.state != "down"


@dataclasses.dataclass
class Migrations(HealthCheck):
    """Fails while migrations are pending, so pods never serve a schema they do not expect."""

    alias: str = DEFAULT_DB_ALIAS

    def run(self) -> None:
        try:
            pending = pending_migrations(self.alias)
        except Exception as error:
            raise ServiceUnavailable(f"cannot read migrations: {type(error).__name__}") from error
        MIGRATIONS_PENDING.set(pending)
        if pending:
            raise ServiceUnavailable(f"{pending} migration(s) not applied")


class PublicFailure(HealthCheckException):
    """A failed check as the public answer shows it: the word, not the error."""

    def __str__(self) -> str:
        return "failed"


# django-health-check answers 500 when a check fails; probes and load balancers expect 503.
UNHEALTHY_STATUS = 503


def run_check(check: HealthCheck) -> HealthCheckResult:
    """One check, timed; its failure as the result's error (as django-health-check reports it),
    an unexpected exception logged and reported without its text."""
    started = time.perf_counter()
    error: HealthCheckException | None = None
    try:
        check.run()
    except HealthCheckException as failure:
        error = failure
        logger.warning("Health check %r failed", check, exc_info=True)
    except Exception:
        logger.exception("Unexpected exception during health check")
        error = HealthCheckException("unknown error")
    return HealthCheckResult(check=check, error=error, time_taken=time.perf_counter() - started)


class ProbeView(HealthCheckView):
    """JSON by default (probes and curl send */*), with the cache's state and statistics.

    A failing check answers 503, not django-health-check's 500: load balancers and monitors read
    503 as "not ready, try elsewhere", while 500 reads as a bug in the app.

    The checks run synchronously, one after the other, in the request's own thread or greenlet.
    django-health-check's view is async and hands sync checks to an executor; under gunicorn's
    gevent workers that runs an asyncio loop whose "running" mark is per OS thread, so every
    greenlet of the worker (this probe's database check, and any reply's ORM call meanwhile)
    would see a running loop and get SynchronousOnlyOperation. Each check keeps its own client
    timeouts (the database's connect_timeout, Redis' socket timeout).
    """

    def dispatch(self, request, *args, **kwargs):
        response = View.dispatch(self, request, *args, **kwargs)
        patch_vary_headers(response, ["Accept"])
        add_never_cache_headers(response)
        return response

    def get(self, request, *args, **kwargs):
        self.results = [run_check(check) for check in self.get_checks()]
        status = UNHEALTHY_STATUS if any(r.error for r in self.results) else 200
        accept = request.headers.get("accept", "*/*")
        wanted = request.GET.get("format") or ("json" if accept in ("*/*", "") else None)
        if wanted is None:
            try:
                mime = next(MediaType.parse_header(accept), None)
            except ValueError:  # a malformed Accept header gets the default
                mime = None
            formats = {"text/plain": "text", "text/html": "html", "text/*": "html"}
            wanted = formats.get(mime.mime_type if mime else "", "json")
        if wanted == "text":
            return self.render_to_response_text(status)
        if wanted == "html":
            # django-health-check's page, from the public results (no error text in them).
            self.results = self.public_results()
            return self.render_to_response(self.get_context_data(**kwargs), status=status)
        return self.render_to_response_json(status)

    def public_checks(self) -> dict[str, str]:
        """Each check's name and `ok`/`failed`: a cache that is down counts as failed even when it
        keeps the pod ready."""
        return {
            type(r.check).__name__: "ok" if r.error is None and getattr(r.check, "ok", True)
            else "failed"
            for r in self.results
        }  # fmt: skip

    def public_results(self) -> list[HealthCheckResult]:
        failed = {name for name, state in self.public_checks().items() if state == "failed"}
        return [
            HealthCheckResult(
                check=r.check,
                error=PublicFailure("failed") if type(r.check).__name__ in failed else None,
                time_taken=r.time_taken,
            )
            for r in self.results
        ]

    @staticmethod
    def public_status(status: int, checks: dict[str, str]) -> str:
        if status != 200:
            return "unavailable"
        return "ok" if all(v == "ok" for v in checks.values()) else "degraded"

    def render_to_response_text(self, status: int) -> HttpResponse:
        checks = self.public_checks()
        lines = [f"status: {self.public_status(status, checks)}"]
        lines += [f"{name}: {state}" for name, state in checks.items()]
        return HttpResponse(
            "\n".join(lines) + "\n", content_type="text/plain; charset=utf-8", status=status
        )

    def render_to_response_json(self, status: int) -> JsonResponse:
        # django-health-check answers a failed check with 500; a dependency being down is a 503
        # (Service Unavailable), like the API's own answer while the database is unreachable.
        status = 503 if status == 500 else status
        checks = self.public_checks()
        body = {"status": self.public_status(status, checks), "checks": checks}
        return JsonResponse(body, status=status)


LIVE_CHECKS: list = []
READY_CHECKS = [Database, CatalogCache]
STARTUP_CHECKS = [Database, Migrations]
