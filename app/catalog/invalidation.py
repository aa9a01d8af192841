"""Schedules catalog invalidation for after the current transaction commits.

Invalidating before commit would let a concurrent reader refill the cache from the still
uncommitted (old) rows; after commit, the generation bump makes any such late fill unreachable.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction


def after_commit(company_ids: Iterable[int | None]) -> None:
    from catalog import cache  # cache imports the models; import late to keep models import-light

    for company_id in {cid for cid in company_ids if cid is not None}:
        transaction.on_commit(lambda cid=company_id: cache.invalidate(cid), robust=True)
