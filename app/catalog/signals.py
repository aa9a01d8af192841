"""Per-object writes (model save/delete, the admin, cascades) → invalidation after commit.

Bulk writes on services are covered by ServiceQuerySet; API keys and companies drop the cached
key resolutions that depend on them.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from catalog import invalidation
from catalog.api_keys import forget_cached_keys
from catalog.models import ApiKey, Company, Service


@receiver(pre_save, sender=Service)
def remember_previous_company(sender, instance: Service, **kwargs) -> None:
    # A service moved to another company changes the old company's catalog too.
    instance._previous_company_id = (
        Service.objects.filter(pk=instance.pk).values_list("company_id", flat=True).first()
        if instance.pk and not kwargs.get("raw")
        else None
    )


@receiver(post_save, sender=Service)
@receiver(post_delete, sender=Service)
def service_changed(sender, instance: Service, **kwargs) -> None:
    invalidation.after_commit(
        {instance.company_id, getattr(instance, "_previous_company_id", None)}
    )


@receiver(post_save, sender=ApiKey)
@receiver(post_delete, sender=ApiKey)
def api_key_changed(sender, instance: ApiKey, **kwargs) -> None:
    forget_cached_keys([instance.key_hash])


@receiver(post_save, sender=Company)
def company_changed(sender, instance: Company, created: bool, **kwargs) -> None:
    if not created:
        forget_cached_keys(list(instance.api_keys.values_list("key_hash", flat=True)))
        invalidation.after_commit({instance.pk})
