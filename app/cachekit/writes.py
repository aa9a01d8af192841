"""One invalidation path for every ORM write of every tracked model.

A cached value depends on rows: the registry (cachekit/registry.py) says, per model, which
scopes of which caches its rows feed. Every write path ends in `after_commit`:

- `save` / `delete` of one object, the admin, cascades, and `QuerySet.delete` (which sends
  per-object delete signals because receivers exist): the receivers `track` connects;
- `QuerySet.update`, `bulk_create`, `bulk_update`: `InvalidatingQuerySet` below;
- data migrations (historical models have neither): cachekit/pending.py, after `migrate`;
- raw SQL cannot be seen: `manage.py catalog_cache invalidate [slug …] | --all` repairs.

`after_commit` records the scopes in the database inside the writer's transaction, then bumps
them in Redis after commit and deletes the record; a bump that fails leaves the record for
every process to honour and retry (cachekit/pending.py). After commit, not before: a concurrent
reader could otherwise refill from the still uncommitted (old) rows under the new generation.
A rollback invalidates nothing, and its record rolls back with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.db.models.signals import post_delete, post_save, pre_save

from cachekit import pending, registry
from cachekit.registry import Scopes


def from_rows(model, pks: Iterable[Any]) -> Scopes:
    """The scopes the stored rows feed now."""
    pks = [pk for pk in pks if pk is not None]
    if not pks:
        return {}
    deps = registry.dependents_of(model._meta.label).items()
    return {name: dependents.rows(model, pks) for name, dependents in deps}


def from_objects(model, objs: Iterable[Any]) -> Scopes:
    """The scopes the objects in memory feed."""
    objs = list(objs)
    deps = registry.dependents_of(model._meta.label).items()
    return {name: dependents.objects(objs) for name, dependents in deps} if objs else {}


def can_move(model, fields: Iterable[str]) -> bool:
    """Does writing these fields (names or attnames) possibly move rows to other scopes?"""
    moved_by = set().union(
        *(deps.moved_by for deps in registry.dependents_of(model._meta.label).values())
    )
    return any(model._meta.get_field(name).name in moved_by for name in fields)


def merge(*parts: Scopes) -> Scopes:
    merged: Scopes = defaultdict(set)
    for part in parts:
        for name, scopes in part.items():
            merged[name] |= scopes
    return merged


def after_commit(scopes: Scopes, using: str = DEFAULT_DB_ALIAS) -> None:
    """Invalidate every scope after the current transaction commits (at once outside one)."""
    wanted = _wanted(scopes)
    if wanted:
        recorded = pending.record(wanted, using)
        transaction.on_commit(lambda: _tell(wanted, recorded, using), using=using, robust=True)


def invalidate_now(scopes: Scopes, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Outside a transaction (a repair): record, bump, clear. The caches not told."""
    wanted = _wanted(scopes)
    return _tell(wanted, pending.record(wanted, using), using)


def _wanted(scopes: Scopes) -> dict[str, set[Hashable]]:
    wanted = {name: {s for s in named if s is not None} for name, named in scopes.items()}
    return {name: named for name, named in wanted.items() if named}


def _tell(wanted: dict[str, set[Hashable]], recorded: dict[str, list[int]], using) -> list[str]:
    """Bump each cache's scopes and delete the records of those that reached every process.

    A bump in a process-local store reaches this process only: its record stays for the serving
    processes' sweep (e.g. a command without REDIS_URL writing to the servers' database)."""
    caches = {name: registry.cache(name) for name in wanted}
    landed = [name for name, named in wanted.items() if caches[name].invalidate(*named)]
    landed = [name for name in landed if caches[name].store().shared]
    pending.clear([pk for name in landed for pk in recorded.get(name, [])], using)
    return [name for name in wanted if name not in landed]


class InvalidatingQuerySet(models.QuerySet):
    """Bulk writes skip model signals, so they schedule the invalidation themselves: for the
    rows as they were (a service moved away changes its old company) and as they are now."""

    def update(self, **kwargs) -> int:
        pks = list(self.order_by().values_list("pk", flat=True))
        before = from_rows(self.model, pks)
        rows = super().update(**kwargs)
        after = from_rows(self.model, pks) if can_move(self.model, kwargs) else {}
        after_commit(merge(before, after), self.db)
        return rows

    def bulk_create(self, objs: Iterable[models.Model], *args, **kwargs) -> list[models.Model]:
        created = super().bulk_create(objs, *args, **kwargs)
        after_commit(from_objects(self.model, created), self.db)
        return created

    def bulk_update(self, objs: Iterable[models.Model], fields, *args, **kwargs) -> int:
        objs = list(objs)
        before = from_rows(self.model, [obj.pk for obj in objs])
        rows = super().bulk_update(objs, fields, *args, **kwargs)
        after_commit(merge(before, from_objects(self.model, objs)), self.db)
        return rows


def _remember_dependents(sender, instance, raw=False, update_fields=None, using=None, **kw):
    # What the stored row feeds now: a service moved to another company changes the old one too.
    # Not read when this save cannot move the row (its scopes are then the same after the save).
    fields = update_fields if update_fields is not None else [f.name for f in sender._meta.fields]
    movable = instance.pk and not raw and can_move(sender, fields)
    instance._cache_scopes_before = from_rows(sender, [instance.pk]) if movable else {}


def _saved(sender, instance, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    before = getattr(instance, "_cache_scopes_before", {})
    after_commit(merge(before, from_objects(sender, [instance])), using)


def _deleted(sender, instance, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    after_commit(from_objects(sender, [instance]), using)


def track(cache_name: str, model: type[models.Model], dependents: registry.Dependents) -> None:
    """Declare that the cache reads `model`'s rows, and invalidate it on every write of one.

    Receivers are connected per tracked model only: a receiver on every model would turn
    Django's fast deletes (conversations, messages, orders) into per-object deletes."""
    registry.depends(cache_name, model._meta.label, dependents)
    uid = model._meta.label
    pre_save.connect(_remember_dependents, sender=model, dispatch_uid=f"cachekit-pre-{uid}")
    post_save.connect(_saved, sender=model, dispatch_uid=f"cachekit-save-{uid}")
    post_delete.connect(_deleted, sender=model, dispatch_uid=f"cachekit-delete-{uid}")
