"""The catalog snapshot: plain, immutable data that is safe to cache as JSON and to hand to a
provider. A reply reads one snapshot and passes it down; nothing below re-queries the catalog.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


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

    def get(self, service_id: int) -> ServiceEntry | None:
        return next((s for s in self.services if s.id == service_id), None)

    def to_payload(self) -> dict[str, Any]:
        return {"company_id": self.company_id, "services": [asdict(s) for s in self.services]}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> CatalogSnapshot:
        return cls(
            company_id=int(payload["company_id"]),
            services=tuple(ServiceEntry(**service) for service in payload["services"]),
        )
