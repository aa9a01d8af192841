"""Names of cached payload shapes, shared by every cached entity (no Django imports: plain data
modules such as snapshot.py use it)."""

from __future__ import annotations

import hashlib
from dataclasses import fields


def schema_version(revision: int, entry: type) -> str:
    """The revision (bumped by hand when a payload changes meaning) plus a fingerprint of the
    dataclass' field names, so adding, removing or renaming a field renames the cache entries."""
    names = ",".join(f.name for f in fields(entry))
    return f"{revision}.{hashlib.sha256(names.encode()).hexdigest()[:8]}"
