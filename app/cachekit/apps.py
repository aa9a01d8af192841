from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CachekitConfig(AppConfig):
    name = "cachekit"
    verbose_name = "Caches"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cachekit import checks, pending  # noqa: F401 -- registers the system checks

        # After `migrate`, whatever a data migration wrote (historical models have no signals
        # and no invalidating manager) is retired: every cache's generations are bumped.
        post_migrate.connect(pending.after_migrate, dispatch_uid="cachekit-after-migrate")
