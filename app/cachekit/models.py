"""The component's own bookkeeping: invalidations not yet known to have reached Redis."""

from django.db import models


class PendingInvalidation(models.Model):
    """One scope of one cache whose generation bump has not been confirmed.

    Written in the writer's transaction and deleted once the bump succeeded; a row that stays
    (Redis was unreachable for the writer) is honoured and retried by every process
    (cachekit/pending.py).
    """

    cache = models.CharField(max_length=64)
    scope = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["cache", "scope"])]

    def __str__(self) -> str:
        return f"{self.cache}:{self.scope}"
