"""`manage.py catalog_cache stats | warm [slug …] | invalidate [slug …] | invalidate --all`.

`invalidate` is the repair after a write the ORM did not see (raw SQL, a restore): it retires the
named companies' catalogs and key resolutions, every company's when none is named (active or
not: a company deactivated by raw SQL must stop answering too). `--all` retires everything every
cache of this build holds. When Redis cannot be told, the invalidation is recorded in the
database and every serving process bypasses and retries it (cachekit/pending.py); the command
says so and exits non-zero.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from cachekit import pending, registry, writes
from cachekit.guard import CacheUnavailable
from catalog import cache as catalog_cache
from tenancy.models import Company


class Command(BaseCommand):
    help = (
        "Caches: `stats` (health of every cache), `warm` companies' catalogs, or `invalidate` "
        "companies' catalogs and API-key resolutions (every company by default; --all: "
        "everything the caches hold), e.g. after a raw SQL write."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["stats", "warm", "invalidate"])
        parser.add_argument(
            "companies",
            nargs="*",
            help="company slugs (default: warm every active company, invalidate every company)",
        )
        parser.add_argument(
            "--cache",
            action="append",
            choices=["catalog", "api_keys"],
            help="with invalidate: only these caches (repeatable; default: every cache)",
        )
        parser.add_argument(
            "--all",
            action="store_true",
            dest="everything",
            help="with invalidate: retire every entry of every cache of this build",
        )

    def handle(self, *args, action: str, companies: list[str], cache, everything, **options):
        if action == "stats":
            self._stats()
        elif everything:
            if action != "invalidate" or companies or cache:
                raise CommandError("--all goes with `invalidate` alone")
            self._report(pending.retire_all(), "invalidate --all: every cache entry retired")
        else:
            ids = self._company_ids(companies, active_only=action == "warm")
            if action == "warm":
                catalog_cache.warm(ids)
                self.stdout.write(f"warm: {len(ids)} companies")
                return
            scopes = writes.from_rows(Company, ids)
            chosen = [c for c in registry.caches() if not cache or c.name in cache]
            wanted = {c.name: scopes.get(c.name, set()) for c in chosen}
            failed = writes.invalidate_now(wanted)
            counts = ", ".join(f"{len(named)} {name} entries" for name, named in wanted.items())
            self._report(failed, f"invalidate: {len(ids)} companies ({counts})")

    def _company_ids(self, slugs: list[str], *, active_only: bool) -> list[int]:
        if not slugs:
            queryset = Company.objects.filter(is_active=True) if active_only else Company.objects
            return list(queryset.values_list("id", flat=True))
        found = dict(Company.objects.filter(slug__in=slugs).values_list("slug", "id"))
        missing = set(slugs) - set(found)
        if missing:
            raise CommandError(f"Unknown companies: {', '.join(sorted(missing))}")
        return list(found.values())

    def _report(self, failed: list[str], done: str) -> None:
        if failed:
            raise CommandError(
                f"Redis unavailable (or not configured); not yet invalidated for every process: "
                f"{', '.join(failed)}. Recorded in the database: serving processes bypass "
                "these entries and retry until it lands."
            )
        self.stdout.write(done)

    def _stats(self) -> None:
        latency = None
        try:
            latency = round(registry.ping() * 1000, 2)
        except CacheUnavailable as error:
            self.stderr.write(f"cache unavailable: {error}")
        stats = {c.name: c.stats() for c in registry.caches()}
        self.stdout.write(json.dumps({"ping_ms": latency, **stats}, indent=2, sort_keys=True))
