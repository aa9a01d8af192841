import json

from django.core.management.base import BaseCommand, CommandError

from catalog import cache
from catalog.models import Company


class Command(BaseCommand):
    help = "Catalog cache: `stats` (health of the cache), `warm` or `invalidate` companies."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["stats", "warm", "invalidate"])
        parser.add_argument("companies", nargs="*", help="company slugs (default: all active)")

    def handle(self, *args, action: str, companies: list[str], **options) -> None:
        if action == "stats":
            latency = None
            try:
                latency = round(cache.ping() * 1000, 2)
            except cache.CacheUnavailable as error:
                self.stderr.write(f"cache unavailable: {error}")
            self.stdout.write(
                json.dumps({"ping_ms": latency, **cache.cache_stats()}, indent=2, sort_keys=True)
            )
            return
        queryset = Company.objects.filter(is_active=True)
        if companies:
            queryset = Company.objects.filter(slug__in=companies)
            missing = set(companies) - set(queryset.values_list("slug", flat=True))
            if missing:
                raise CommandError(f"Unknown companies: {', '.join(sorted(missing))}")
        ids = list(queryset.values_list("id", flat=True))
        if action == "warm":
            cache.warm(ids)
        else:
            failed = [cid for cid in ids if not cache.invalidate(cid)]
            if failed:
                raise CommandError(f"Redis unavailable; {len(failed)} companies not invalidated")
        self.stdout.write(f"{action}: {len(ids)} companies")
