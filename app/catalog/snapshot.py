"""The catalog snapshot: plain, immutable data that is safe to cache as JSON and to hand to a
provider. A reply reads one snapshot and passes it down; nothing below re-queries the catalog.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# Bump when the payload changes meaning without changing its fields (e.g. a price format);
# adding, removing or renaming a field changes the schema version by itself.
PAYLOAD_REVISION = 1


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    id: int
    name: str
    description: str
    price: str  # decimal as text: exact, and JSON has no decimal type
    currency: str
    category: str

    @property
    def price_label(self) -> str:
        return f"{self.price} {self.currency}"


@dataclass(frozen=True, slots=True)
class CatalogSnapshot:
    company_id: int
    services: tuple[ServiceEntry, ...]
    # Encodings derived from this immutable value, computed once per snapshot (not cached data).
    _encoded: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    def get(self, service_id: int) -> ServiceEntry | None:
        return next((s for s in self.services if s.id == service_id), None)

    def to_payload(self) -> dict[str, Any]:
        return {"company_id": self.company_id, "services": [asdict(s) for s in self.services]}

    def services_json(self) -> bytes:
        """The services as a JSON array, encoded once: a cache hit answers without re-encoding."""
        encoded = self._encoded.get("services")
        if encoded is None:
            encoded = json.dumps(
                [asdict(s) for s in self.services], ensure_ascii=False, separators=(",", ":")
            ).encode()
            self._encoded["services"] = encoded
        return encoded

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> CatalogSnapshot:
        return cls(
            company_id=int(payload["company_id"]),
            services=tuple(ServiceEntry(**service) for service in payload["services"]),
        )


def payload_schema_version() -> str:
    """Names the payload's shape: the revision plus a fingerprint of the entry's fields."""
    names = ",".join(f.name for f in fields(ServiceEntry))
    return f"{PAYLOAD_REVISION}.{hashlib.sha256(names.encode()).hexdigest()[:8]}"
