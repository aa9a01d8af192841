"""Bearer API keys: `Authorization: Bearer <key>` → the key's company (a Tenant)."""

from __future__ import annotations

from django.http import HttpRequest

from api.errors import ApiError
from catalog.api_keys import Tenant, hash_key, tenant_for_key


def authenticate(request: HttpRequest) -> Tenant:
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
    tenant = tenant_for_key(token.strip())
    if tenant is None:
        raise ApiError(401, "invalid_api_key", "The API key is unknown or revoked.")
    request.api_key_hash = hash_key(token.strip())  # the rate limits' per-key identity
    return tenant
