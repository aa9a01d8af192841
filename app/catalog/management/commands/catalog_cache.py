import json

from django.core.management.base import BaseCommand, CommandError

from catalog import cache as caches
from catalog import invalidation
from catalog.models import Company


class Command(BaseCommand):
    help = (
        "Caches: `stats` (health of every cache), `warm` companies' catalogs, or `invalidate` "
        "companies' catalogs and API-key resolutions (e.g. after a raw SQL write)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["stats", "warm", "invalidate"])
        parser.add_argument("companies", nargs="*", help="company slugs (default: all active)")
        parser.add_argument(
            "--cache",
            action="append",
            choices=["catalog", "api_keys"],
            help="with invalidate: only these caches (repeatable; default: every cache)",
        )

    def handle(
        self, *args, action: str, companies: list[str], cache: list[str] | None, **options
    ) -> None:
        if action == "stats":
            latency = None
            try:
                latency = round(caches.ping() * 1000, 2)
            except caches.CacheUnavailable as error:
                self.stderr.write(f"cache unavailable: {error}")
            stats = {c.name: c.stats() for c in caches.all_caches()}
            self.stdout.write(json.dumps({"ping_ms": latency, **stats}, indent=2, sort_keys=True))
            return
        queryset = Company.objects.filter(is_active=True)
        if companies:
            queryset = Company.objects.filter(slug__in=companies)
            missing = set(companies) - set(queryset.values_list("slug", flat=True))
            if missing:
                raise CommandError(f"Unknown companies: {', '.join(sorted(missing))}")
        ids = list(queryset.values_list("id", flat=True))
        if action == "warm":
            caches.warm(ids)
        else:
            scopes = invalidation.from_rows(Company, ids)
            chosen = [c for c in caches.all_caches() if not cache or c.name in cache]
            failed = [c.name for c in chosen if not c.invalidate(*scopes.get(c.name, ()))]
            if failed:
                raise CommandError(f"Redis unavailable; not invalidated: {', '.join(failed)}")
        self.stdout.write(f"{action}: {len(ids)} companies")
