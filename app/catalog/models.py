"""A company's orderable services.

Every write path that can change a cached catalog ends in an invalidation after commit
(cachekit/writes.py): per-object writes through the receivers `track` connects, bulk writes
through the invalidating manager.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower

from cachekit.writes import InvalidatingQuerySet
from tenancy.models import Company

currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. SAR.")


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

    objects = InvalidatingQuerySet.as_manager()

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
