"""Tenants (companies), their API keys and their orderable services.

Every write path that can change what a company's catalog shows ends in a cache invalidation after
commit: per-object saves and deletes through signals (catalog/signals.py), bulk writes through
ServiceQuerySet below.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower

from catalog import invalidation


class Company(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. SAR.")


class ServiceQuerySet(models.QuerySet):
    """Bulk writes skip model signals, so they schedule the invalidation themselves."""

    def _company_ids(self) -> set[int]:
        return set(self.order_by().values_list("company_id", flat=True).distinct())

    def update(self, **kwargs) -> int:
        company_ids = self._company_ids()
        rows = super().update(**kwargs)
        if "company" in kwargs or "company_id" in kwargs:
            moved_to = kwargs.get("company_id", kwargs.get("company"))
            company_ids.add(getattr(moved_to, "pk", moved_to))
        invalidation.after_commit(company_ids)
        return rows

    def delete(self) -> tuple[int, dict[str, int]]:
        company_ids = self._company_ids()
        result = super().delete()
        invalidation.after_commit(company_ids)
        return result

    def bulk_create(self, objs: Iterable[Service], *args, **kwargs) -> list[Service]:
        created = super().bulk_create(objs, *args, **kwargs)
        invalidation.after_commit({obj.company_id for obj in created})
        return created

    def bulk_update(self, objs: Iterable[Service], fields, *args, **kwargs) -> int:
        objs = list(objs)
        # A bulk_update may move services between companies: the old owners change too.
        before = set(
            Service.objects.filter(pk__in=[obj.pk for obj in objs]).values_list(
                "company_id", flat=True
            )
        )
        rows = super().bulk_update(objs, fields, *args, **kwargs)
        invalidation.after_commit(before | {obj.company_id for obj in objs})
        return rows


class Service(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="services")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Arabic texts, optional: where one is empty the English text is shown to Arabic readers.
    name_ar = models.CharField("name (Arabic)", max_length=200, blank=True, default="")
    description_ar = models.TextField("description (Arabic)", blank=True, default="")
    price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, default="SAR", validators=[currency_validator])
    category = models.CharField(max_length=100, blank=True)
    is_orderable = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = ["company_id", "category", "name"]
        constraints = [
            models.UniqueConstraint(
                "company", Lower("name"), name="service_name_unique_per_company"
            ),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="service_price_gte_0"),
        ]
        indexes = [models.Index(fields=["company", "is_active", "is_orderable"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.company})"
