"""One invalidation policy for every write path of every cached entity.

A cached value depends on rows: a company's catalog on its services, an API-key resolution on the
key and its company. For each model, `DEPENDENTS` says which cache scopes its rows feed, read from
the rows themselves (before a write, to catch what moves away) or from the objects being written
(after). Every write path ends here:

- `save` / `delete` of one object, the admin, cascades, and `QuerySet.delete` (which sends
  per-object delete signals because receivers exist): catalog/signals.py;
- `QuerySet.update`, `bulk_create`, `bulk_update`: `InvalidatingQuerySet` below.

Invalidation runs after commit (see GenerationalCache.invalidate_on_commit). Raw SQL bypasses the
ORM and cannot be seen; after one, run `manage.py catalog_cache invalidate [slug …]`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models

Scopes = dict[str, set[Hashable]]  # cache name → scopes


def _service_rows(model, pks: list[Any]) -> Scopes:
    ids = model._base_manager.filter(pk__in=pks).values_list("company_id", flat=True)
    return {"catalog": set(ids)}


def _service_objects(objs: Iterable[Any]) -> Scopes:
    return {"catalog": {obj.company_id for obj in objs}}


def _api_key_rows(model, pks: list[Any]) -> Scopes:
    hashes = model._base_manager.filter(pk__in=pks).values_list("key_hash", flat=True)
    return {"api_keys": set(hashes)}


def _api_key_objects(objs: Iterable[Any]) -> Scopes:
    return {"api_keys": {obj.key_hash for obj in objs}}


def _company_rows(model, pks: list[Any]) -> Scopes:
    from catalog.models import ApiKey

    hashes = ApiKey._base_manager.filter(company_id__in=pks).values_list("key_hash", flat=True)
    return {"catalog": set(pks), "api_keys": set(hashes)}


def _company_objects(objs: Iterable[Any]) -> Scopes:
    objs = list(objs)
    return _company_rows(type(objs[0]), [obj.pk for obj in objs]) if objs else {}


@dataclass(frozen=True)
class Dependents:
    """Which cache scopes a model's rows feed: read from stored rows (before a write, to catch
    what moves away) or from objects in memory (after it). `moved_by`: the fields whose change
    moves a row to other scopes; a write that changes none of them has the same scopes before
    and after, so they are read once."""

    rows: Callable[[Any, list[Any]], Scopes]
    objects: Callable[[Iterable[Any]], Scopes]
    moved_by: frozenset[str]


DEPENDENTS: dict[str, Dependents] = {
    "catalog.Service": Dependents(_service_rows, _service_objects, frozenset({"company"})),
    "catalog.ApiKey": Dependents(_api_key_rows, _api_key_objects, frozenset({"company"})),
    "catalog.Company": Dependents(_company_rows, _company_objects, frozenset()),
}


def from_rows(model, pks: Iterable[Any]) -> Scopes:
    pks = [pk for pk in pks if pk is not None]
    return DEPENDENTS[model._meta.label].rows(model, pks) if pks else {}


def from_objects(model, objs: Iterable[Any]) -> Scopes:
    return DEPENDENTS[model._meta.label].objects(objs)


def can_move(model, fields: Iterable[str]) -> bool:
    """Does writing these fields (names or attnames) possibly move rows to other scopes?"""
    moved_by = DEPENDENTS[model._meta.label].moved_by
    return any(model._meta.get_field(name).name in moved_by for name in fields)


def merge(*parts: Scopes) -> Scopes:
    merged: Scopes = defaultdict(set)
    for part in parts:
        for name, scopes in part.items():
            merged[name] |= scopes
    return merged


def after_commit(scopes: Scopes) -> None:
    """Schedule the invalidation of every scope, per cache, for after the current commit."""
    from catalog.cache import all_caches  # the caches import the models: import late

    for cache in all_caches():
        cache.invalidate_on_commit(scopes.get(cache.name, ()))


class InvalidatingQuerySet(models.QuerySet):
    """Bulk writes skip model signals, so they schedule the invalidation themselves: for the
    rows as they were (a service moved away changes its old company) and as they are now."""

    def update(self, **kwargs) -> int:
        pks = list(self.order_by().values_list("pk", flat=True))
        before = from_rows(self.model, pks)
        rows = super().update(**kwargs)
        after = from_rows(self.model, pks) if can_move(self.model, kwargs) else {}
        after_commit(merge(before, after))
        return rows

    def bulk_create(self, objs: Iterable[models.Model], *args, **kwargs) -> list[models.Model]:
        created = super().bulk_create(objs, *args, **kwargs)
        after_commit(from_objects(self.model, created))
        return created

    def bulk_update(self, objs: Iterable[models.Model], fields, *args, **kwargs) -> int:
        objs = list(objs)
        before = from_rows(self.model, [obj.pk for obj in objs])
        rows = super().bulk_update(objs, fields, *args, **kwargs)
        after_commit(merge(before, from_objects(self.model, objs)))
        return rows
