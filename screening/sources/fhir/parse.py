"""Reading a FHIR R4 Bundle: its structure, then every resource validated with the
fhir.resources R4B models (R4 data reads with them).

Each resource is validated on its own, by its own model, so that a problem names the
entry index, the resource (type/id) and the field: ``Bundle.entry[3] (Observation/upcr-1):
valueQuantity.value: Decimal value string does not match spec regex``. All problems are
collected before raising.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import PatientError, Problem
from ..location import error_message, error_path, locate

# Bundles that hold current resources once each (document: e.g. an International Patient
# Summary). history (several versions of one resource), message and the *-response types
# would count records twice or hold no patient data.
BUNDLE_TYPES = ("collection", "searchset", "document", "transaction", "batch")


@dataclass(frozen=True)
class Entry:
    """One validated entry: its index in Bundle.entry, fullUrl, search mode and resource model."""

    index: int
    full_url: str | None
    mode: str | None
    resource: Any  # a fhir.resources R4B model, or None for an entry without a (valid) resource
    invalid: str | None = None  # why the resource failed validation (not strict): it is listed, not used
    raw: Any = None  # the resource as written, when it is invalid

    @property
    def type(self) -> str:
        if self.resource is not None:
            return self.resource.get_resource_type()
        if isinstance(self.raw, dict) and isinstance(self.raw.get("resourceType"), str):
            return self.raw["resourceType"]
        return "(none)"

    @property
    def ref(self) -> str:
        """How records cite it: 'Observation/abc', else its place in the bundle."""
        rid = getattr(self.resource, "id", None) if self.resource is not None else \
            (self.raw.get("id") if isinstance(self.raw, dict) and isinstance(self.raw.get("id"), str) else None)
        if rid:
            return f"{self.type}/{rid}"
        return f"Bundle.entry[{self.index}]" + (f" ({self.type})" if self.type != "(none)" else "")


@dataclass(frozen=True)
class ParsedBundle:
    id: str | None
    type: str
    has_next_page: bool
    entries: list[Entry]


def parse_bundle(data: dict, file: str | None = None, text: str | None = None, strict: bool = False) -> ParsedBundle:
    """Validate a decoded Bundle; PatientError listing every problem found.

    With ``text`` (the JSON the bundle was decoded from) each problem has its line and column.
    A resource that fails its own validation is kept as an invalid entry (the mapper lists it
    as unmapped with its problems and screens the rest); with ``strict`` it is an error, as is
    any problem with the bundle itself.
    """
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    problems: list[Problem] = []

    def problem(message: str, loc: tuple = ()) -> None:
        where = locate(text, loc) if text is not None else None
        problems.append(Problem(message, file, *(where or (None, None))))

    btype = data.get("type")
    if btype is None:
        problem(f"Bundle.type: missing (expected one of {', '.join(BUNDLE_TYPES)})")
    elif btype not in BUNDLE_TYPES:
        problem(f"Bundle.type: {btype!r} is not supported (expected one of {', '.join(BUNDLE_TYPES)})", ("type",))
    raw_entries = data.get("entry", [])
    if not isinstance(raw_entries, list):
        problem("Bundle.entry: must be a list", ("entry",))
        raise PatientError(problems)
    shell = dict(data)
    shell["entry"] = [{k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e
                      for e in raw_entries]
    bundle = None
    try:
        bundle = Bundle.model_validate(shell)
    except ValidationError as err:
        for e in err.errors():
            if tuple(e["loc"]) == ("type",) and btype is None:
                continue  # reported above
            problem(f"Bundle.{error_path(e['loc'], '(resource)')}: {error_message(e)}", tuple(e["loc"]))

    entries: list[Entry] = []
    for i, raw in enumerate(raw_entries):
        if not isinstance(raw, dict):
            continue  # reported by the shell validation
        res = raw.get("resource")
        where = f"Bundle.entry[{i}]"
        model = None
        if res is not None:
            at = ("entry", i, "resource")
            if not isinstance(res, dict):
                problem(f"{where}.resource: must be a JSON object", at)
                continue
            rtype = res.get("resourceType")
            label = f"{rtype}/{res['id']}" if isinstance(res.get("id"), str) else str(rtype)
            if not isinstance(rtype, str):
                problem(f"{where}: resource has no resourceType", at)
                continue
            try:
                cls = get_fhir_model_class(rtype)
            except (ValueError, KeyError):
                problem(f"{where} ({label}): unknown resourceType {rtype!r}", at + ("resourceType",))
                continue
            found: list[tuple[str, tuple]] = []
            try:
                model = cls.model_validate(res)
            except ValidationError as err:
                found = [(f"{error_path(e['loc'], '(resource)')}: {error_message(e)}", at + tuple(e["loc"]))
                         for e in err.errors()]
            except (KeyError, ValueError, TypeError) as err:  # fhir.resources raises these for bad nested types
                found = [(str(err), at)]
            if found:
                if strict or rtype == "Patient":  # without its Patient a bundle cannot be screened
                    for message, loc in found:
                        problem(f"{where} ({label}): {message}", loc)
                    continue
                search = raw.get("search") if isinstance(raw.get("search"), dict) else {}
                entries.append(Entry(i, raw.get("fullUrl"), search.get("mode"), None,
                                     "; ".join(m for m, _ in found), res))
                continue
        search = raw.get("search") if isinstance(raw.get("search"), dict) else {}
        entries.append(Entry(i, raw.get("fullUrl"), search.get("mode"), model))
    if problems:
        raise PatientError(problems)
    next_page = any(getattr(link, "relation", None) == "next" for link in (bundle.link or ())) if bundle else False
    return ParsedBundle(data.get("id"), btype, next_page, entries)

