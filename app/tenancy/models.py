"""Companies (tenants) and their API keys.

Both tables keep the names they had when they belonged to the catalog app (catalog_company,
catalog_apikey): the move to this app changed Django's state only, so builds before it and after
it read and write the same rows during a rolling upgrade.
"""

from __future__ import annotations

from django.db import models

from cachekit.writes import InvalidatingQuerySet


class Company(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = InvalidatingQuerySet.as_manager()

    class Meta:
        db_table = "catalog_company"
        verbose_name_plural = "companies"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """An API key, stored only as a SHA-256 hash.

    Keys are 256-bit random tokens, so a fast unsalted hash is enough to make a leaked table
    useless while keeping the lookup a single indexed equality.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a key.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvalidatingQuerySet.as_manager()

    class Meta:
        db_table = "catalog_apikey"
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
