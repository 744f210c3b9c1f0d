"""FHIR R4 resources -> the native patient profile.

Only what a resource states is carried over: a status, date or value the tables in
``data/fhir-mapping.yaml`` do not cover is not guessed. Whatever cannot be used (a resource
type screening has no use for, an observation without a usable value, a coding from a code
system not in ``data/fhir-systems.yaml``, a partial date) is listed in ``Patient.unmapped``
with the reason, and every record's ``source`` cites its resource ('Observation/abc').
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from ...errors import PatientError, Problem
from ...model.patient import (Condition, Fact, Immunization, Medication, Observation, Patient, Procedure,
                              ReferenceRange, UnmappedRecord)
from .parse import Entry, ParsedBundle
from .references import Identity, resolve_reference
from .tables import tables

UCUM = "http://unitsofmeasure.org"
_MEDICATION_TYPES = ("MedicationStatement", "MedicationRequest", "MedicationAdministration")
_SUBJECT_FIELD = {"Immunization": "patient", "Consent": "patient"}
# the part of the native profile each resource type feeds (for a resource listed as unmapped)
_CATEGORY = {"Observation": "observations", "Condition": "conditions", "Procedure": "procedures",
             "Immunization": "immunizations", "MedicationStatement": "medications",
             "MedicationRequest": "medications", "MedicationAdministration": "medications",
             "Consent": "facts", "QuestionnaireResponse": "facts"}
_CODE_FIELD = {"Immunization": "vaccineCode", "MedicationStatement": "medicationCodeableConcept",
               "MedicationRequest": "medicationCodeableConcept", "MedicationAdministration": "medicationCodeableConcept"}


class _Skip(Exception):
    """The resource (or component) cannot be used; the message says why."""


def _num(d: Decimal | float | int) -> int | float:
    if isinstance(d, Decimal):
        return int(d) if d == d.to_integral_value() and d.as_tuple().exponent >= 0 else float(d)
    return d


def _code(cc: Any) -> str | None:
    """The code of a status-like CodeableConcept (clinicalStatus, verificationStatus)."""
    for c in (cc.coding or ()) if cc is not None else ():
        if c.code:
            return c.code
    return None


class Mapper:
    """Maps one parsed bundle; collects records and unmapped notes."""

    def __init__(self, bundle: ParsedBundle, file: str | None):
        self.t = tables()
        self.m = self.t.mapping
        self.bundle, self.file = bundle, file
        self.unmapped: list[UnmappedRecord] = []
        self.lists: dict[str, list] = {k: [] for k in
                                       ("observations", "conditions", "medications", "procedures", "immunizations",
                                        "facts")}
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

    # -- helpers
    def note(self, where: str, reason: str, **what: Any) -> None:
        self.unmapped.append(UnmappedRecord(resource=where, reason=reason, **what))

    def drop(self, e: Entry, reason: str, day: dt.date | None = None) -> None:
        """List a whole resource of a part screening uses as unmapped, with what it could be."""
        self.note(e.ref, reason, **self.sketch(e, day))

    def sketch(self, e: Entry, day: dt.date | None = None) -> dict:
        """Part, code, name and date of a resource not used, read leniently (it may be invalid)."""
        category = _CATEGORY.get(e.type)
        if category is None:
            return {}
        raw = e.raw if e.resource is None else e.resource.model_dump(mode="json", exclude_none=True)
        cc = raw.get(_CODE_FIELD.get(e.type, "code")) if isinstance(raw, dict) else None
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
            raise _Skip(f"{what}: no coding from a known code system"
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

    def about_patient(self, e: Entry) -> bool:
        """Is the entry about this bundle's patient? Its subject is resolved by full identity:
        a versioned reference is the same patient, another server's Patient with the same id is not."""
        ref = getattr(e.resource, _SUBJECT_FIELD.get(e.type, "subject"), None)
        target = getattr(ref, "reference", None) if ref is not None else None
        if target is None or not self.patient_ids:
            return True
        subject = resolve_reference(target, e.full_url)
        if any(subject.same_as(p) for p in self.patient_ids):
            return True
        shown = target if subject.url in (target, "") else f"{target} ({subject.url})"
        self.note(e.ref, f"about {shown}, not this bundle's patient ({self.patient_label}): not used")
        return False

    # -- the bundle
    def run(self) -> Patient:
        b = self.bundle
        patients = [e for e in b.entries if e.type == "Patient"]
        if len(patients) > 1:
            refs = ", ".join(e.ref for e in patients)
            raise PatientError(Problem(f"the bundle holds {len(patients)} Patient resources ({refs}): "
                                       "a screen is about one patient", self.file))
        if not patients:
            raise PatientError(Problem("the bundle holds no Patient resource: a screen is about one patient, "
                                       "and whose records these are cannot be told", self.file))
        e = self.patient_entry = patients[0]
        p = e.resource
        pid = p.id or self._subject_id() or b.id or "unknown"
        if p.id:
            self.patient_ids.append(resolve_reference(f"Patient/{p.id}", e.full_url))
            self.patient_label = f"Patient/{p.id}"
        if e.full_url:
            self.patient_ids.append(resolve_reference(e.full_url))
            self.patient_label = self.patient_label or e.full_url
        self.birth = birth = self.day(p.birthDate, e.ref, "birthDate")
        sex = p.gender if p.gender in ("female", "male", "other", "unknown") else None
        if p.gender is None:
            sex = self.sex_from_extensions(p, e.ref)
        deceased = bool(p.deceasedBoolean) or p.deceasedDateTime is not None
        deceased_date = self.day(p.deceasedDateTime, e.ref, "deceasedDateTime") if p.deceasedDateTime else None
        if b.has_next_page:
            self.note(f"Bundle/{b.id}" if b.id else "Bundle", "one page of a search: the next page (link 'next') "
                      "is not in the file, so its records are not seen")
        handlers = {
            "Observation": self.observation, "Condition": self.condition, "Procedure": self.procedure,
            "Immunization": self.immunization, "Consent": self.consent,
            "QuestionnaireResponse": self.questionnaire_response,
            **{t: self.medication for t in _MEDICATION_TYPES},
        }
        seen: dict[str, int] = {}
        for e in b.entries:
            if e.invalid is not None:
                self.drop(e, f"not a valid FHIR R4 {e.type}: {e.invalid}: not used (screened without it; "
                             "--strict refuses the bundle)")
                continue
            if e.resource is None:
                self.note(e.ref, "entry without a resource")
                continue
            if e.type == "Patient":
                continue
            if getattr(e.resource, "id", None):
                if e.ref in seen:  # the same resource twice (merged exports, _include): counted once
                    self.note(f"{e.ref} (Bundle.entry[{e.index}])",
                              f"the same resource as Bundle.entry[{seen[e.ref]}]: counted once")
                    continue
                seen[e.ref] = e.index
            if e.type == "OperationOutcome":
                issues = "; ".join(f"{i.severity}: {i.diagnostics or (i.details.text if i.details else '') or i.code}"
                                   for i in (e.resource.issue or ()))
                self.note(e.ref, f"OperationOutcome from the server: {issues}")
                continue
            handler = handlers.get(e.type)
            if handler is None:
                if e.type not in ("Medication", "ResearchStudy"):  # reported at the end unless referenced
                    self.note(e.ref, f"{e.type} resources are not used for screening")
                continue
            status = getattr(e.resource, "status", None)
            if status == "entered-in-error":
                self.note(e.ref, "status entered-in-error: not used")
                continue
            if not self.about_patient(e):
                continue
            try:
                handler(e)
            except _Skip as why:
                self.drop(e, str(why))
            except ValidationError as err:  # a value the native profile refuses (a 5,000-character name...)
                first = err.errors()[0]
                self.note(e.ref, f"{'.'.join(str(p) for p in first['loc']) or 'record'}: "
                                 f"{first['msg'].removeprefix('Value error, ')}: not used")
        for e in b.entries:
            if e.type == "Medication" and e.index not in self.used:
                self.note(e.ref, "Medication not referenced by any medication record of the bundle")
            elif e.type == "ResearchStudy" and e.index not in self.used:
                self.note(e.ref, "ResearchStudy not named by any Consent of the bundle")
        return Patient(id=pid, birth_date=birth, sex=sex, deceased=deceased, deceased_date=deceased_date,
                       unmapped=self.unmapped, **self.lists)

    def sex_from_extensions(self, p: Any, where: str) -> str | None:
        """Sex from the US Core individual-sex or birth-sex extension (in the table's order), when gender is absent."""
        by_url = {x.url: x for x in p.extension or ()}
        for spec in self.m["patient"]["sex_extensions"]:
            x = by_url.get(spec["url"])
            if x is None:
                continue
            keys = []
            if x.valueCoding is not None:
                prefix = self.t.prefix_of.get(x.valueCoding.system or "")
                keys = [f"{prefix}:{x.valueCoding.code}" if prefix else None, x.valueCoding.code]
            elif x.valueCode is not None:
                keys = [x.valueCode]
            sex = next((spec["values"][k] for k in keys if k in spec["values"]), None)
            if sex is not None:
                return sex
            self.note(where, f"extension {spec['url'].rsplit('/', 1)[-1]}: value {keys[-1] if keys else None!r} "
                             "is not in the mapping table: sex not taken from it")
        return None

    def _subject_id(self) -> str | None:
        for e in self.bundle.entries:
            ref = getattr(e.resource, _SUBJECT_FIELD.get(e.type, "subject"), None) if e.resource is not None else None
            target = getattr(ref, "reference", None) if ref is not None else None
            if target and "Patient/" in target:
                subject = resolve_reference(target, e.full_url)
                self.patient_ids.append(subject)
                self.patient_label = target
                return subject.id
        return None

    # -- Observation
    def observation(self, e: Entry) -> None:
        r, where = e.resource, e.ref
        status = self.m["observation"]["status"].get(r.status)
        if status is None:
            raise _Skip(f"status {r.status}: not a result to use")
        when = r.effectiveDateTime or (r.effectivePeriod.start if r.effectivePeriod else None) or r.effectiveInstant
        field = "effectiveDateTime" if r.effectiveDateTime else "effectivePeriod.start" if r.effectivePeriod else "effectiveInstant"
        if when is None and r.issued is not None:  # no time of the sample: the report's date is the nearest known
            when, field = r.issued, "issued"
        day = self.day(when, where, field)
        if day is None:
            if when is None:
                raise _Skip("no date (effectiveDateTime, effectivePeriod.start, effectiveInstant or issued)")
            return  # a partial date: noted by day()
        parts = [("code", r.code, r)] + [(f"component[{k}]", c.code, c) for k, c in enumerate(r.component or ())]
        for label, cc, holder in parts:
            try:
                value, unit = self.value(holder, where)
            except _Skip as why:
                if label == "code" and r.component:
                    continue  # a panel: its components carry the values
                self.note(where, (f"{label}: " if label != "code" else "") + str(why))
                continue
            ident = self.identity(cc, where, label)
            ranges = getattr(holder, "referenceRange", None) or ()
            self.lists["observations"].append(Observation(value=value, unit=unit, date=day, status=status,
                                                          reference_range=self.reference_range(ranges, where),
                                                          **ident))
            if not (label == "code" and self.fact_from_observation(holder, ident, day, where)) \
                    and isinstance(value, bool):  # a yes/no observation is a fact too
                self.lists["facts"].append(Fact(value=value, date=day, **ident))

    def reference_range(self, ranges: Any, where: str) -> ReferenceRange | None:
        """The first reference range with a numeric low or high (its unit: the quantity's code, else unit)."""
        for k, rr in enumerate(ranges):
            low, high = rr.low, rr.high
            if (low is None or low.value is None) and (high is None or high.value is None):
                continue
            units = {q.code or q.unit for q in (low, high) if q is not None and q.value is not None}
            if len(units) > 1:
                self.note(where, f"referenceRange[{k}]: low and high in different units {sorted(map(str, units))}")
                return None
            return ReferenceRange(low=_num(low.value) if low is not None and low.value is not None else None,
                                  high=_num(high.value) if high is not None and high.value is not None else None,
                                  unit=next(iter(units)), text=rr.text)
        return None

    def value(self, o: Any, where: str) -> tuple[Any, str | None]:
        """(value, unit) of an Observation or component; _Skip when there is no usable value."""
        q = o.valueQuantity
        if q is not None:
            if q.value is None:
                raise _Skip("valueQuantity without a value")
            unit = q.code if (q.system == UCUM and q.code) else (q.unit or q.code)
            if unit and unit.startswith("{") and unit.endswith("}") and "}" not in unit[:-1]:
                unit = "1"  # in UCUM a bare annotation ({score}, {titer}) is the unit one
            number = _num(q.value)
            if q.comparator:
                return f"{q.comparator}{number}", unit  # a bound: decides only where the whole interval agrees
            return number, unit
        if o.valueString is not None:
            return o.valueString, None
        if o.valueBoolean is not None:
            return bool(o.valueBoolean), None
        if o.valueInteger is not None:
            return int(o.valueInteger), None
        if o.valueCodeableConcept is not None:
            cc = o.valueCodeableConcept
            words = self.m["observation"]["coded_values"]
            for c in cc.coding or ():
                prefix = self.t.prefix_of.get(c.system or "")
                if prefix and f"{prefix}:{c.code}" in words:
                    return words[f"{prefix}:{c.code}"], None
            text = cc.text or next((c.display for c in cc.coding or () if c.display), None) \
                or next((c.code for c in cc.coding or () if c.code), None)
            if text is None:
                raise _Skip("valueCodeableConcept with no text, display or code")
            return text, None
        if o.valueRatio is not None:
            n, d = o.valueRatio.numerator, o.valueRatio.denominator
            if n is not None and d is not None and n.value == 1 and d.value is not None and d.value > 0:
                return f"1:{_num(d.value)}", None  # a titer
            raise _Skip("valueRatio that is not a titer (1:n)")
        for other in ("valueRange", "valueSampledData", "valueTime", "valueDateTime", "valuePeriod"):
            if getattr(o, other, None) is not None:
                raise _Skip(f"{other} values are not supported")
        reason = o.dataAbsentReason
        if reason is not None:
            raise _Skip(f"no value (dataAbsentReason: {reason.text or _code(reason)})")
        raise _Skip("no value")

    def fact_from_observation(self, o: Any, ident: dict, day: dt.date, where: str) -> bool:
        """Record the fact of an observation listed in fact_observations; False when it is not listed."""
        table = self.m.get("fact_observations", {})
        codes = [ident["code"], *ident["codes"]]
        spec = next((table[c] for c in codes if c in table), None)
        if spec is None:
            return False
        value = None
        if o.valueBoolean is not None:
            value = bool(o.valueBoolean)
        elif o.valueCodeableConcept is not None:
            for c in o.valueCodeableConcept.coding or ():
                key = f"{self.t.prefix_of.get(c.system or '', '?')}:{c.code}"
                if key in spec["values"]:
                    value = spec["values"][key]
                    break
        if value is None:
            self.note(where, f"{spec['name']}: the value is not a yes/no answer listed in the mapping table: "
                             "no fact recorded")
            return True
        fcodes = list(spec["codes"])
        self.lists["facts"].append(Fact(code=fcodes[0], codes=fcodes[1:], name=spec["name"], value=bool(value),
                                        date=day, source=where))
        return True

    # -- Condition
    def condition(self, e: Entry) -> None:
        r, where = e.resource, e.ref
        table = self.m["condition"]
        ver = _code(r.verificationStatus)
        if ver == "entered-in-error":  # an error, not a diagnosis: no record
            self.note(where, "verificationStatus entered-in-error: not used")
            return
        verification = table["verification_status"].get(ver) if ver else None
        if ver and verification is None:
            raise _Skip(f"verificationStatus {ver} is not in the mapping table: cannot tell how sure the diagnosis is")
        onset = self.day(r.onsetDateTime or (r.onsetPeriod.start if r.onsetPeriod else None), where, "onset")
        if r.onsetAge is not None:
            onset = self.age_day(r.onsetAge, where, "onsetAge", last=False)
        for other in ("onsetRange", "onsetString"):
            if getattr(r, other, None) is not None:
                self.note(where, f"{other} is not a date: kept without an onset date")
        abatement = self.day(r.abatementDateTime or (r.abatementPeriod.start if r.abatementPeriod else None),
                             where, "abatement")
        if r.abatementAge is not None:
            abatement = self.age_day(r.abatementAge, where, "abatementAge", last=True)
        for other in ("abatementRange", "abatementString"):
            if getattr(r, other, None) is not None:
                self.note(where, f"{other} is not a date: kept without an abatement date")
        ended = r.abatementDateTime or r.abatementPeriod or r.abatementAge or r.abatementRange or r.abatementString
        if verification == "refuted":
            status = "refuted"
        else:
            clin = _code(r.clinicalStatus)
            if clin is None:  # allowed for encounter diagnoses: a diagnosis all the same
                status = "resolved" if ended is not None else "unknown"
            else:
                status = table["clinical_status"].get(clin)
                if status is None:
                    raise _Skip(f"clinicalStatus {clin} is not in the mapping table")
        self.lists["conditions"].append(Condition(
            onset=onset, abatement=abatement, status=status,
            verification=verification if verification in ("provisional", "differential", "unconfirmed") else None,
            **self.identity(r.code, where)))

    def age_day(self, age: Any, where: str, field: str, last: bool) -> dt.date | None:
        """The day an age (onsetAge, abatementAge) falls on: the first day of that year of age, or the last."""
        per_year = self.m["condition"]["age_units"].get(age.code or age.unit or "")
        if age.value is None or per_year is None or self.birth is None:
            why = "no birth date to convert it with" if self.birth is None else f"unit {age.code or age.unit!r}"
            self.note(where, f"{field} {_num(age.value) if age.value is not None else '?'}: {why}: kept without "
                             f"{'an abatement' if last else 'an onset'} date")
            return None
        from dateutil.relativedelta import relativedelta

        months = int(Decimal(age.value) * 12 / per_year)  # whole months of age
        start = self.birth + relativedelta(months=months)
        return start + relativedelta(months=12 // per_year) - dt.timedelta(days=1) if last else start

    # -- medications
    def medication(self, e: Entry) -> None:
        r, where, kind = e.resource, e.ref, e.type
        table = self.m["medication"]
        status = table[kind].get(r.status)
        if status is None:
            if kind == "MedicationRequest" and r.status == "cancelled":
                raise _Skip("status cancelled: withdrawn before any administration, not an exposure")
            raise _Skip(f"status {r.status}: not an exposure screening can use")
        if kind == "MedicationRequest":
            if r.doNotPerform:
                raise _Skip("doNotPerform: an order not to give the drug")
            if r.intent in table["planned_intents"] and status != "not-taken":
                status = "intended"
        codes, name = self.drug(r, where)
        start = stop = None
        earliest = False
        if kind == "MedicationRequest":
            bounds = [d.timing.repeat.boundsPeriod for d in r.dosageInstruction or ()
                      if d.timing and d.timing.repeat and d.timing.repeat.boundsPeriod]
            if bounds:
                start = self.day(bounds[0].start, where, "boundsPeriod.start")
                stop = self.day(bounds[0].end, where, "boundsPeriod.end")
            elif r.authoredOn is not None:  # ordered then: it started that day or later, if at all
                start = self.day(r.authoredOn, where, "authoredOn")
                earliest = start is not None
        else:
            if r.effectivePeriod is not None:
                start = self.day(r.effectivePeriod.start, where, "effectivePeriod.start")
                stop = self.day(r.effectivePeriod.end, where, "effectivePeriod.end")
            elif r.effectiveDateTime is not None:
                start = self.day(r.effectiveDateTime, where, "effectiveDateTime")
                if kind == "MedicationAdministration":
                    stop = start  # one administration
        self.lists["medications"].append(Medication(code=codes[0] if codes else None, codes=codes[1:], name=name,
                                                    source=where, start=start, stop=stop, status=status,
                                                    start_is_earliest=earliest))

    def drug(self, r: Any, where: str) -> tuple[list[str], str | None]:
        """Codes and name of the drug: medicationCodeableConcept, or the referenced Medication with its ingredients."""
        if r.medicationCodeableConcept is not None:
            return self.concept(r.medicationCodeableConcept, where, "medicationCodeableConcept")
        ref = r.medicationReference.reference if r.medicationReference is not None else None
        med = None
        if ref and ref.startswith("#"):
            med = next((c for c in r.contained or () if getattr(c, "id", None) == ref[1:]), None)
        elif ref:
            target = self.by_ref.get(ref)
            if target is not None and target.type == "Medication":
                self.used.add(target.index)
                med = target.resource
        if med is None:
            raise _Skip(f"medicationReference {ref!r} is not a Medication in the bundle")
        mwhere = f"Medication/{med.id}" if med.id else where
        codes, name = [], None
        if med.code is not None:
            try:
                codes, name = self.concept(med.code, mwhere, "code")
            except _Skip:
                pass
        for k, ing in enumerate(med.ingredient or ()):
            if ing.itemCodeableConcept is not None:
                try:
                    more, ing_name = self.concept(ing.itemCodeableConcept, mwhere, f"ingredient[{k}]")
                except _Skip:
                    continue
                codes += [c for c in more if c not in codes]
                name = name or ing_name
        if not codes and not name:
            raise _Skip(f"the medication {ref} has no code from a known code system and no name")
        return codes, name

    # -- Procedure, Immunization
    def procedure(self, e: Entry) -> None:
        r, where = e.resource, e.ref
        status = self.m["procedure"]["status"].get(r.status)
        if status is None:
            raise _Skip(f"status {r.status}: not used")
        start = end = None
        if r.performedPeriod is not None:
            start = self.day(r.performedPeriod.start, where, "performedPeriod.start")
            end = self.day(r.performedPeriod.end, where, "performedPeriod.end")
        elif r.performedDateTime is not None:
            start = self.day(r.performedDateTime, where, "performedDateTime")
        for other in ("performedString", "performedAge", "performedRange"):
            if getattr(r, other, None) is not None:
                self.note(where, f"{other} is not a date: kept without a date")
        self.lists["procedures"].append(Procedure(date=start, end=end, status=status, **self.identity(r.code, where)))

    def immunization(self, e: Entry) -> None:
        r, where = e.resource, e.ref
        status = self.m["immunization"]["status"].get(r.status)
        if status is None:
            raise _Skip(f"status {r.status}: not used")
        day = self.day(r.occurrenceDateTime, where, "occurrenceDateTime")
        if r.occurrenceString is not None:
            self.note(where, f"occurrenceString {r.occurrenceString!r} is not a date: kept without a date")
        self.lists["immunizations"].append(Immunization(date=day, status=status,
                                                        **self.identity(r.vaccineCode, where, "vaccineCode")))

    # -- Consent
    def consent(self, e: Entry) -> None:
        r, where = e.resource, e.ref
        spec = self.m["consent"]
        scopes = [c.code for c in (r.scope.coding or ()) if c.system == spec["scope_system"]] if r.scope else []
        if not any(s in spec["scopes"] for s in scopes):
            raise _Skip(f"a consent of scope {', '.join(scopes) or '(none)'}: only research consent is used")
        value = spec["values"].get(r.status)
        if value is None:
            raise _Skip(f"status {r.status}: consent neither given nor refused")
        if value and r.provision is not None and r.provision.type == "deny":
            value = False
        codes = list(spec["codes"])
        day = self.day(r.dateTime, where, "dateTime")
        self.lists["facts"].append(Fact(code=codes[0], codes=codes[1:], name=spec["name"], value=bool(value),
                                        date=day, source=where))
        refused = r.status == "rejected" or (r.status == "active" and value is False)
        for trial in self.studies(r, where):
            answers = spec.get("trials", {}).get(trial)
            if answers is None:
                self.note(where, f"consent for study {trial}: no confirmation criteria of that trial are listed "
                                 "in the mapping table (kept as research consent only)")
                continue
            for cid in answers.get("given", ()):
                self.lists["facts"].append(Fact(code=f"{trial}/{cid}", name=f"{spec['name']} ({trial})",
                                                value=bool(value), date=day, source=where))
            if r.status in ("active", "rejected"):  # withdrawn (inactive) is not a refusal to give it
                for cid in answers.get("refused", ()):
                    self.lists["facts"].append(Fact(code=f"{trial}/{cid}", name=f"refusal of consent ({trial})",
                                                    value=refused, date=day, source=where))

    def studies(self, r: Any, where: str) -> list[str]:
        """Ids a Consent gives for its trial: identifiers and id of the ResearchStudy it names."""
        out: list[str] = []
        for ext in r.extension or ():
            if ext.url != self.m["consent"]["study_extension"] or ext.valueReference is None:
                continue
            ref = ext.valueReference
            target = self.by_ref.get(ref.reference) if ref.reference else None
            if target is not None and target.type == "ResearchStudy":
                self.used.add(target.index)
                study = target.resource
                ids = [i.value for i in study.identifier or () if i.value] + ([study.id] if study.id else [])
            elif ref.identifier is not None and ref.identifier.value:
                ids = [ref.identifier.value]
            else:
                self.note(where, f"research study {ref.reference or ref.display!r} is not in the bundle")
                continue
            known = [i for i in ids if i in self.m["consent"].get("trials", {})]
            out += known or ids[:1]
        # a policy naming the trial: its URI or authority ('https://clinicaltrials.gov/study/NCT04348461'),
        # or the policy rule's text or code
        said = [x for pol in r.policy or () for x in (pol.uri, pol.authority) if x]
        if r.policyRule is not None:
            said += [r.policyRule.text or ""] + [c.code or "" for c in r.policyRule.coding or ()]
        for trial in self.m["consent"].get("trials", {}):
            if any(re.search(rf"(?<![A-Za-z0-9]){re.escape(trial)}(?![A-Za-z0-9])", x) for x in said):
                out.append(trial)
        return list(dict.fromkeys(out))

    # -- QuestionnaireResponse (a trial's screening checklist)
    def questionnaire_response(self, e: Entry) -> None:
        r, where = e.resource, e.ref
        if r.status not in self.m["questionnaire_response"]["statuses"]:
            raise _Skip(f"status {r.status}: answers not final")
        if not r.questionnaire:
            raise _Skip("no questionnaire named: cannot tell which trial's checklist it answers")
        qid = r.questionnaire.split("|", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        day = self.day(r.authored, where, "authored")

        def walk(items: Any) -> None:
            for item in items or ():
                answers = item.answer or ()
                if len(answers) == 1 and answers[0].valueBoolean is not None:
                    self.lists["facts"].append(Fact(code=f"{qid}/{item.linkId}", name=item.text,
                                                    value=bool(answers[0].valueBoolean), date=day, source=where))
                elif answers:
                    self.note(where, f"item {item.linkId}: the answer is not a single yes/no: not used")
                walk(item.item)
                for a in answers:
                    walk(a.item)

        walk(r.item)


def map_bundle(bundle: ParsedBundle, file: str | None = None) -> Patient:
    """The native profile a parsed bundle maps to (records cite their resources; the rest is in ``unmapped``)."""
    return Mapper(bundle, file).run()
