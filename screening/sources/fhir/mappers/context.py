"""What every FHIR resource mapper shares: the bundle being mapped, the records and
unmapped notes collected so far, and the helpers that read codes, dates and subjects.

A mapper raises ``Skip`` when its resource cannot be used; the bundle loop lists the
resource as unmapped with that reason.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from decimal import Decimal
from typing import Any

from ....model.patient import MAX_TEXT, UnmappedRecord
from ..parse import Entry, ParsedBundle
from ..references import Identity, resolve_reference
from ..tables import tables

UCUM = "http://unitsofmeasure.org"
MEDICATION_TYPES = ("MedicationStatement", "MedicationRequest", "MedicationAdministration")
SUBJECT_FIELD = {"Immunization": "patient", "Consent": "patient", "AllergyIntolerance": "patient",
                 "FamilyMemberHistory": "patient"}
# the part of the native profile each resource type feeds (for a resource listed as unmapped)
CATEGORY = {"Observation": "observations", "Condition": "conditions", "Procedure": "procedures",
            "Immunization": "immunizations", "MedicationStatement": "medications",
            "MedicationRequest": "medications", "MedicationAdministration": "medications",
            "Consent": "facts", "QuestionnaireResponse": "facts", "AllergyIntolerance": "allergies",
            "FamilyMemberHistory": "family_history"}
CODE_FIELD = {"Immunization": "vaccineCode", "MedicationStatement": "medicationCodeableConcept",
              "MedicationRequest": "medicationCodeableConcept", "MedicationAdministration": "medicationCodeableConcept"}


class Skip(Exception):
    """The resource (or component) cannot be used; the message says why."""


def clip(text: Any) -> Any:
    """A chart string quoted in a note, cut to what a note holds (MAX_TEXT), its length said."""
    if not isinstance(text, str) or len(text) <= MAX_TEXT:
        return text
    tail = f"... ({len(text)} characters)"
    return text[:MAX_TEXT - len(tail)] + tail


def num(d: Decimal | float | int) -> int | float:
    if isinstance(d, Decimal):
        return int(d) if d == d.to_integral_value() and d.as_tuple().exponent >= 0 else float(d)
    return d


_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


def shown_date(value: Any) -> str:
    """A FHIR date or dateTime as the reasons show it: its day ('2012-06-15'), or as written when partial ('2012-06')."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def date_span(value: Any) -> tuple[dt.date, dt.date] | None:
    """The first and last day of a FHIR date or dateTime: one day, or the whole month ('2012-06') or year
    ('2012') a partial date gives; None when it is none of these."""
    if isinstance(value, dt.datetime):
        return value.date(), value.date()
    if isinstance(value, dt.date):
        return value, value
    m = _PARTIAL_DATE.match(str(value).strip())
    if m is None:
        return None
    year = int(m[1])
    if m[2] is None:
        return (dt.date(year, 1, 1), dt.date(year, 12, 31)) if year >= 1 else None
    month = int(m[2])
    if not (1 <= month <= 12) or year < 1:
        return None
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def status_code(cc: Any) -> str | None:
    """The code of a status-like CodeableConcept (clinicalStatus, verificationStatus)."""
    for c in (cc.coding or ()) if cc is not None else ():
        if c.code:
            return c.code
    return None


class MappingContext:
    """The state of mapping one parsed bundle: records and unmapped notes collected so far."""

    def __init__(self, bundle: ParsedBundle, file: str | None):
        self.t = tables()
        self.m = self.t.mapping
        self.bundle, self.file = bundle, file
        self.unmapped: list[UnmappedRecord] = []
        self.lists: dict[str, list] = {k: [] for k in
                                       ("observations", "conditions", "medications", "procedures", "immunizations",
                                        "facts", "allergies", "family_history")}
        self.by_ref: dict[str, Entry] = {}
        for e in bundle.entries:
            if e.resource is None:
                continue
            if getattr(e.resource, "id", None):
                self.by_ref[f"{e.type}/{e.resource.id}"] = e
            if e.full_url:
                self.by_ref[e.full_url] = e
        self.used: set[int] = set()  # entries consumed by others (referenced Medications)
        self.birth: dt.date | None = None
        self.patient_entry: Entry | None = None
        self.patient_ids: list[Identity] = []  # the patient's identities (by id, by fullUrl)
        self.patient_label = ""

    def note(self, where: str, reason: str, **what: Any) -> None:
        self.unmapped.append(UnmappedRecord(resource=clip(where), reason=clip(reason),
                                            **{k: clip(v) for k, v in what.items()}))

    def drop(self, e: Entry, reason: str, day: dt.date | None = None) -> None:
        """List a whole resource of a part screening uses as unmapped, with what it could be."""
        self.note(e.ref, reason, **self.sketch(e, day))

    def sketch(self, e: Entry, day: dt.date | None = None) -> dict:
        """Part, code, name and date of a resource not used, read leniently (it may be invalid)."""
        category = CATEGORY.get(e.type)
        if category is None:
            return {}
        raw = e.raw if e.resource is None else e.resource.model_dump(mode="json", exclude_none=True)
        cc = raw.get(CODE_FIELD.get(e.type, "code")) if isinstance(raw, dict) else None
        code = name = None
        if isinstance(cc, dict):
            for c in cc.get("coding") or ():
                if not isinstance(c, dict):
                    continue
                prefix = self.t.prefix_of.get(c.get("system") or "")
                if prefix and c.get("code") and code is None:
                    code = f"{prefix}:{c['code']}"
                name = name or c.get("display")
            name = cc.get("text") or name
        return {"category": category, "code": code, "name": name if isinstance(name, str) else None, "date": day}

    def concept(self, cc: Any, where: str, what: str = "code") -> tuple[list[str], str | None]:
        """Known codes (in order, deduplicated) and a name of a CodeableConcept.

        Codings from systems not in the table are noted when the concept has no known coding
        (it is then kept by its name only, or not at all); beside a known coding they are
        the EHR's own codes for the same thing and are left out of the record.
        """
        known, unknown = [], []
        display_known = display_any = None
        for c in (cc.coding or ()) if cc is not None else ():
            prefix = self.t.prefix_of.get(c.system or "")
            if prefix and c.code:
                known.append(f"{prefix}:{c.code}")
                display_known = display_known or c.display
            else:
                unknown.append(f"{c.system or '(no system)'}|{c.code or '(no code)'}")
            display_any = display_any or c.display
        name = (cc.text if cc is not None else None) or display_known or display_any
        known = list(dict.fromkeys(known))
        if unknown and not known:  # beside a known coding, a local code adds nothing screening could match
            if name:
                self.note(where, f"{what}: no coding from a known code system ({', '.join(unknown)}); "
                                 f"kept under its name {name!r} only")
        if not known and not name:
            raise Skip(f"{what}: no coding from a known code system"
                       + (f" ({', '.join(unknown)})" if unknown else "") + " and no text")
        return known, name

    def identity(self, cc: Any, where: str, what: str = "code") -> dict:
        codes, name = self.concept(cc, where, what)
        return {"code": codes[0] if codes else None, "codes": codes[1:], "name": name, "source": where}

    def day(self, value: Any, where: str, field: str) -> dt.date | None:
        """The calendar day of a FHIR date/dateTime as written (in its own UTC offset); partial dates -> None, noted."""
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        self.note(where, f"{field} {value!r} is not a full date: not used")
        return None

    def span(self, value: Any, where: str, field: str) -> tuple[dt.date, dt.date] | None:
        """The first and last day of a FHIR date/dateTime, partial ones included (a year, a month); one that
        is none of these -> None, noted. Never one day of a partial date: that is ``day``'s refusal."""
        got = date_span(value)
        if got is None:
            self.note(where, f"{field} {clip(str(value))!r} is not a date: not used")
        return got

    def about_patient(self, e: Entry) -> bool:
        """Is the entry about this bundle's patient? Its subject is resolved by full identity:
        a versioned reference is the same patient, another server's Patient with the same id is not."""
        ref = getattr(e.resource, SUBJECT_FIELD.get(e.type, "subject"), None)
        target = getattr(ref, "reference", None) if ref is not None else None
        if target is None or not self.patient_ids:
            return True
        subject = resolve_reference(target, e.full_url)
        if any(subject.same_as(p) for p in self.patient_ids):
            return True
        shown = target if subject.url in (target, "") else f"{target} ({subject.url})"
        self.note(e.ref, f"about {shown}, not this bundle's patient ({self.patient_label}): not used")
        return False
