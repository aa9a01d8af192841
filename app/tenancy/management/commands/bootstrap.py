"""First use of an installation: the first company, its API key and the first admin user.

Idempotent (run after every install and upgrade by the chart's bootstrap Job): the company is
created once (its name updated), the key is registered once by its hash, the admin user is
created once and its password set from the Secret only when it has none yet, so a password
changed in the admin later is never reset. Secrets come from the environment (the chart maps
them from Kubernetes Secrets) and are never printed: the output names what was done only.
"""

from __future__ import annotations

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tenancy.keys import hash_key, is_well_formed
from tenancy.models import ApiKey, Company


class Command(BaseCommand):
    help = "Create the first company, register its API key and the first admin user (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--company-slug", required=True)
        parser.add_argument("--company-name", default="")
        parser.add_argument(
            "--api-key-env",
            default="WAZEN_BOOTSTRAP_API_KEY",
            help="Environment variable holding the company's first API key (wz_…); empty: none.",
        )
        parser.add_argument("--key-name", default="bootstrap")
        parser.add_argument("--admin-username", default="")
        parser.add_argument("--admin-email", default="")
        parser.add_argument(
            "--admin-password-env",
            default="WAZEN_BOOTSTRAP_ADMIN_PASSWORD",
            help="Environment variable holding the admin's initial password.",
        )

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        slug = options["company_slug"]
        company, created = Company.objects.get_or_create(
            slug=slug, defaults={"name": options["company_name"] or slug}
        )
        if not created and options["company_name"] and company.name != options["company_name"]:
            company.name = options["company_name"]
            company.save(update_fields=["name"])
        self.stdout.write(f"company {slug}: {'created' if created else 'present'}")

        raw_key = os.environ.get(options["api_key_env"], "").strip()
        if raw_key:
            if not is_well_formed(raw_key) or len(raw_key) < 32:
                raise CommandError(
                    f"{options['api_key_env']} must start with wz_ and hold at least 32 characters"
                )
            key_hash = hash_key(raw_key)
            existing = ApiKey.objects.filter(key_hash=key_hash).first()
            if existing is not None and existing.company_id != company.id:
                raise CommandError("the bootstrap API key belongs to another company")
            if existing is None:
                ApiKey.objects.create(
                    company=company, name=options["key_name"], prefix=raw_key[:10],
                    key_hash=key_hash,
                )  # fmt: skip
            self.stdout.write(
                f"api key ({options['key_name']}): {'present' if existing else 'registered'}"
            )

        username = options["admin_username"]
        if username:
            password = os.environ.get(options["admin_password_env"], "")
            if len(password) < 12:
                raise CommandError(
                    f"{options['admin_password_env']} must hold the admin password (12+ characters)"
                )
            user_model = get_user_model()
            user, created = user_model.objects.get_or_create(
                username=username,
                defaults={"email": options["admin_email"], "is_staff": True, "is_superuser": True},
            )
            if created or not user.has_usable_password():
                user.set_password(password)
                user.save()
            self.stdout.write(f"admin user {username}: {'created' if created else 'present'}")
