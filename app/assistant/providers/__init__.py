"""LLM providers: a tiny interface (base.py) and one module per implementation, chosen by the
LLM_PROVIDER setting. Providers never touch the ORM."""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from assistant.providers.base import Intent, Provider, ProviderError, ProviderReply, Turn
from ops.metrics import start_provider_series

__all__ = ["Intent", "Provider", "ProviderError", "ProviderReply", "Turn", "get_provider"]


@cache
def _provider(name: str) -> Provider:
    provider = import_string(settings.WAZEN_LLM_PROVIDERS[name])()
    start_provider_series(provider.name)
    return provider


def get_provider() -> Provider:
    return _provider(settings.LLM_PROVIDER)
