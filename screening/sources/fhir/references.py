"""FHIR references resolved to the full identity of what they point at.

A reference may be relative (``Patient/X``, resolved against the base of the entry that
holds it), absolute (``https://ehr.example/fhir/Patient/X``), a ``urn:uuid:`` of an entry
of the bundle, and any of these may name a version (``Patient/X/_history/3``), which does
not change whom it is about. Two references are the same resource when their type and id
agree and, where both server bases are known, their bases agree too: a Patient X on another
server is another patient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_HISTORY = re.compile(r"/_history/[^/]*$")


@dataclass(frozen=True)
class Identity:
    """What a reference points at: server base (None when unknown), resource type and id; for a
    ``urn:`` reference, the urn itself as ``base`` with no type or id."""

    base: str | None
    type: str | None
    id: str | None

    @property
    def url(self) -> str:
        """The reference written in full, as far as it is known."""
        if self.type is None:
            return self.base or ""
        local = f"{self.type}/{self.id}"
        return f"{self.base}/{local}" if self.base else local

    def same_as(self, other: "Identity") -> bool:
        """The same resource? Type and id must agree, and the bases too where both are known."""
        if self.type is None or other.type is None:  # urn references: the same urn
            return self.type is None and other.type is None and self.base == other.base
        if (self.type, self.id) != (other.type, other.id):
            return False
        return self.base is None or other.base is None or self.base == other.base


def _base(url: str) -> str:
    return url.rstrip("/").lower() if "://" not in url else _lower_host(url.rstrip("/"))


def _lower_host(url: str) -> str:
    """Scheme and host are case-insensitive; the path is not."""
    scheme, rest = url.split("://", 1)
    host, _, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}" + (f"/{path}" if path else "")


def resolve_reference(reference: str, referrer: str | None = None) -> Identity:
    """The identity ``reference`` points at; ``referrer`` is the fullUrl of the entry holding it,
    whose server base a relative reference shares (none for a urn or an entry without fullUrl)."""
    ref = reference.strip()
    if ref.lower().startswith("urn:"):
        return Identity(ref, None, None)
    ref = _HISTORY.sub("", ref)
    if _ABSOLUTE.match(ref):
        parts = ref.rstrip("/").rsplit("/", 2)
        if len(parts) == 3:
            return Identity(_base(parts[0]), parts[1], parts[2])
        return Identity(ref, None, None)
    rtype, _, rid = ref.partition("/")
    base = None
    if referrer and _ABSOLUTE.match(referrer.strip()):
        parts = _HISTORY.sub("", referrer.strip()).rstrip("/").rsplit("/", 2)
        base = _base(parts[0]) if len(parts) == 3 else None
    return Identity(base, rtype or None, rid or None)
