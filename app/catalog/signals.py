"""Per-object writes (model save/delete, the admin, cascades, QuerySet.delete) → invalidation
after commit, through the one policy in catalog/invalidation.py.

Receivers are connected per cached model only: a receiver on every model would turn Django's
fast deletes (conversations, messages, orders) into per-object deletes.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save, pre_save

from catalog import invalidation
from catalog.models import ApiKey, Company, Service


def remember_dependents(sender, instance, raw: bool = False, update_fields=None, **kwargs) -> None:
    # What the stored row feeds now: a service moved to another company changes the old one too.
    # Not read when this save cannot move the row (its scopes are then the same after the save).
    fields = update_fields if update_fields is not None else [f.name for f in sender._meta.fields]
    movable = instance.pk and not raw and invalidation.can_move(sender, fields)
    instance._cache_scopes_before = invalidation.from_rows(sender, [instance.pk]) if movable else {}


def saved(sender, instance, **kwargs) -> None:
    before = getattr(instance, "_cache_scopes_before", {})
    invalidation.after_commit(
        invalidation.merge(before, invalidation.from_objects(sender, [instance]))
    )


def deleted(sender, instance, **kwargs) -> None:
    invalidation.after_commit(invalidation.from_objects(sender, [instance]))


for _model in (Service, ApiKey, Company):
    pre_save.connect(remember_dependents, sender=_model, dispatch_uid=f"cache-pre-{_model}")
    post_save.connect(saved, sender=_model, dispatch_uid=f"cache-save-{_model}")
    post_delete.connect(deleted, sender=_model, dispatch_uid=f"cache-delete-{_model}")
