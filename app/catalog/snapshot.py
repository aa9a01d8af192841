"""The catalog snapshot: plain, immutable data that is safe to cache as JSON and to hand to a
provider. A reply reads one snapshot and passes it down; nothing below re-queries the catalog.

Each service carries its English and (optional) Arabic texts, so one cached snapshot serves
customers of both languages; `name_in`/`description_in` fall back to English where a company
left the Arabic text empty.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from cachekit.schema import schema_version

LANGUAGES = ("en", "ar")
# Bump when the payload changes meaning without changing its fields (e.g. a price format);
# adding, removing or renaming a field changes the schema version by itself.
PAYLOAD_REVISION = 1

# How a price's currency reads in each language; codes without a name here read as the code.
_CURRENCY_NAMES = {"ar": {"SAR": "ريال", "AED": "درهم", "USD": "دولار", "EUR": "يورو"}}


def price_in(price: str, currency: str, language: str) -> str:
    """A price with its currency as a reader of `language` expects ("950.00 ريال")."""
    return f"{price} {_CURRENCY_NAMES.get(language, {}).get(currency, currency)}"


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    id: int
    name: str
    description: str
    price: str  # decimal as text: exact, and JSON has no decimal type
    currency: str
    category: str
    name_ar: str = ""
    description_ar: str = ""

    @property
    def price_label(self) -> str:
        return f"{self.price} {self.currency}"

    def name_in(self, language: str) -> str:
        return self.name_ar if language == "ar" and self.name_ar else self.name

    def description_in(self, language: str) -> str:
        return self.description_ar if language == "ar" and self.description_ar else self.description

    def price_in(self, language: str) -> str:
        return price_in(self.price, self.currency, language)

    def listing(self, language: str) -> dict[str, Any]:
        """The service as a list shows it to a reader of `language`, with both languages' texts
        beside it (an Arabic text is "" where the company has not written one)."""
        return {
            "id": self.id,
            "name": self.name_in(language),
            "description": self.description_in(language),
            "price": self.price,
            "currency": self.currency,
            "category": self.category,
            "names": {"en": self.name, "ar": self.name_ar},
            "descriptions": {"en": self.description, "ar": self.description_ar},
        }

    def names(self) -> tuple[str, ...]:
        """Every name the service is known by (for matching what a customer typed)."""
        return (self.name, self.name_ar) if self.name_ar else (self.name,)


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

    def listing_json(self, language: str) -> bytes:
        """The services as a list shows them in `language`, as a JSON array encoded once per
        snapshot and language: a cache hit answers without building or encoding anything."""
        encoded = self._encoded.get(language)
        if encoded is None:
            listing = [service.listing(language) for service in self.services]
            encoded = json.dumps(listing, ensure_ascii=False, separators=(",", ":")).encode()
            self._encoded[language] = encoded
        return encoded

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> CatalogSnapshot:
        """Strict: a payload of another shape raises, and the cache counts it as a miss
        (`undecodable`). Builds with different shapes use different cache entries anyway (the
        schema version below is part of the key), so this only meets corrupt or foreign data."""
        return cls(
            company_id=int(payload["company_id"]),
            services=tuple(ServiceEntry(**service) for service in payload["services"]),
        )


def payload_schema_version() -> str:
    """Names the payload's shape (part of the cache key)."""
    return schema_version(PAYLOAD_REVISION, ServiceEntry)
