"""Bearer API keys: `Authorization: Bearer <key>` → the key's company (a Tenant)."""

from __future__ import annotations

from django.http import HttpRequest

from api.errors import ApiError
from tenancy.keys import Tenant, hash_key, tenant_for_key


def bearer_key(request: HttpRequest) -> str:
    """The raw key of a well-formed `Authorization: Bearer <key>` header; 401 otherwise."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise ApiError(
            401, "missing_api_key", "Send your API key as 'Authorization: Bearer <key>'."
        )
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401, "invalid_authorization", "Use the scheme 'Authorization: Bearer <key>'."
        )
    return token.strip()


def accept(request: HttpRequest, raw_key: str, tenant: Tenant | None) -> Tenant:
    """The tenant a key resolved to, remembered on the request; 401 for no tenant."""
    if tenant is None:
        raise ApiError(401, "invalid_api_key", "The API key is unknown or revoked.")
    request.api_key_hash = hash_key(raw_key)  # the rate limits' per-key identity
    return tenant


def authenticate(request: HttpRequest) -> Tenant:
    raw_key = bearer_key(request)
    return accept(request, raw_key, tenant_for_key(raw_key))
