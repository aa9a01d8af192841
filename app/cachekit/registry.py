"""The app's cache instances and what each one depends on, in one place.

Each room registers its cache (a factory) and the models its values are read from at
`AppConfig.ready()`: tenancy the API-key resolutions, catalog the company catalogs. Everything
that acts on "every cache" (the write path, the pending-invalidation sweep, probes, stats, the
management command, post-migrate) asks this registry, so no lower room needs to know the rooms
above it.

Tests call `reset()` (a fixture) to start like a fresh process: new instances, counters,
breakers and local entries, and an empty process-local store.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from cachekit.component import GenerationalCache
from cachekit.stores import forget_local_memory

Scopes = dict[str, set[Hashable]]  # cache name → scopes


@dataclass(frozen=True)
class Dependents:
    """Which scopes of one cache a model's rows feed.

    rows:     scopes read from stored rows (before a write, to catch what moves away);
    objects:  scopes read from objects in memory (after it);
    moved_by: the fields whose change moves a row to other scopes; a write that changes none of
              them has the same scopes before and after, so they are read once.
    """

    rows: Callable[[Any, list[Any]], set[Hashable]]
    objects: Callable[[Iterable[Any]], set[Hashable]]
    moved_by: frozenset[str] = frozenset()


_factories: dict[str, Callable[[], GenerationalCache]] = {}
_instances: dict[str, GenerationalCache] = {}
_dependents: dict[str, dict[str, Dependents]] = {}  # model label → cache name → dependents
_built: weakref.WeakSet[GenerationalCache] = weakref.WeakSet()  # build()'s, for reset()


def register(name: str, factory: Callable[[], GenerationalCache]) -> GenerationalCache:
    """Register a cache by name (idempotent: `ready()` may run twice in tests)."""
    _factories[name] = factory
    if name not in _instances:
        _instances[name] = factory()
    return _instances[name]


def depends(cache_name: str, model_label: str, dependents: Dependents) -> None:
    """Declare that `cache_name`'s values are read from rows of `model_label`."""
    _dependents.setdefault(model_label, {})[cache_name] = dependents


def cache(name: str) -> GenerationalCache:
    return _instances[name]


def caches() -> list[GenerationalCache]:
    return list(_instances.values())


def dependents_of(model_label: str) -> dict[str, Dependents]:
    return _dependents.get(model_label, {})


def replace(instances: dict[str, GenerationalCache]) -> dict[str, GenerationalCache]:
    """Serve these instances under their names; returns the ones they replace (to put back).

    The property test uses it to act as one process or another over one Redis and database."""
    previous = {name: _instances[name] for name in instances}
    _instances.update(instances)
    return previous


def build(name: str) -> GenerationalCache:
    """A new, independent instance of a registered cache (another process' copy of it)."""
    instance = _factories[name]()
    _built.add(instance)
    return instance


def reset() -> None:
    """Start like a fresh process: new instances (the re-probe timers of every instance so far
    cancelled, built ones too: a timer left running would talk to Redis during later work), an
    empty process-local store."""
    for instance in [*_instances.values(), *_built]:
        instance.guard.cancel_reprobe()
    for name, factory in _factories.items():
        _instances[name] = factory()
    forget_local_memory()


def ping() -> float:
    """Round-trip Redis for every cache (closing their breakers on success); the slowest."""
    return max(instance.ping() for instance in caches())
