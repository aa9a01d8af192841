from django.core.management.base import BaseCommand, CommandError

from tenancy.keys import api_key_issue
from tenancy.models import Company


class Command(BaseCommand):
    help = "Issue an API key for a company and print it once (only its hash is stored)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("company_slug")
        parser.add_argument("--name", default="cli")

    def handle(self, *args, company_slug: str, name: str, **options) -> None:
        try:
            company = Company.objects.get(slug=company_slug)
        except Company.DoesNotExist:
            raise CommandError(f"No company with slug {company_slug!r}") from None
        _, raw_key = api_key_issue(company=company, name=name)
        self.stdout.write(raw_key)
