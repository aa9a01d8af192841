from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "tenancy"
    verbose_name = "Companies and API keys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tenancy import keys

        keys.register_cache()
