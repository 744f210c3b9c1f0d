"""A ClinicalTrials.gov study record as the API v2 returns it (a JSON file; no network).

Accepted: the study object itself (``{"protocolSection": ...}``, what
``/api/v2/studies/NCT...`` returns) or a search response (``{"studies": [...]}``) from
which one study is chosen by its registry id (or the only one). The retired classic API
format (``FullStudiesResponse``) is refused with a message saying what to download.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, Problem

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s+(year|month|week|day|hour|minute)s?\s*$", re.IGNORECASE)


class RegistryRecordError(InputError):
    """A registry record that cannot be read as a ClinicalTrials.gov API v2 study."""


@dataclass(frozen=True)
class Age:
    """An age bound as the record states it ('18 Years'), with its number and unit."""

    text: str
    value: float
    unit: str  # year | month | week | day | hour | minute

    @property
    def whole_years(self) -> int | None:
        """The bound in whole years when it is stated in whole years, else None."""
        return int(self.value) if self.unit == "year" and float(self.value).is_integer() else None


@dataclass(frozen=True)
class Study:
    """What a rule file needs from a study record: identity, sponsor, and eligibility."""

    registry_id: str
    brief_title: str | None
    official_title: str | None
    acronym: str | None
    org_study_id: str | None
    sponsor: str | None
    phases: tuple[str, ...]
    study_type: str | None
    conditions: tuple[str, ...]
    criteria: str
    sex: str | None  # ALL | FEMALE | MALE as recorded
    gender_based: bool | None
    gender_description: str | None
    minimum_age: Age | None
    maximum_age: Age | None
    minimum_age_text: str | None  # as recorded, also when it cannot be read
    maximum_age_text: str | None
    healthy_volunteers: bool | None
    std_ages: tuple[str, ...]

    @property
    def title(self) -> str:
        """The official title, else the brief title, else the registry id."""
        return self.official_title or self.brief_title or self.registry_id

    @property
    def phase(self) -> str | None:
        """Phases as a readable string ('Phase 1/Phase 2'), None when not given."""
        names = [_phase_name(p) for p in self.phases]
        return "/".join(names) if names else None


def _phase_name(code: str) -> str:
    m = re.fullmatch(r"PHASE(\d)", code)
    if m:
        return f"Phase {m.group(1)}"
    return {"EARLY_PHASE1": "Early Phase 1", "NA": "Not Applicable"}.get(code, code)


def parse_age(text: str | None) -> Age | None:
    """'18 Years' -> Age(18, 'year'); None for a missing or unreadable bound."""
    if not isinstance(text, str):
        return None
    m = _AGE.match(text)
    if not m:
        return None
    return Age(text, float(m.group(1)), m.group(2).lower())


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def study_from_json(doc: Any, file: str = "<record>", registry_id: str | None = None) -> Study:
    """The study in a parsed API v2 document (a study, or a search response holding it)."""
    if isinstance(doc, dict) and "FullStudiesResponse" in doc:
        raise RegistryRecordError(Problem(
            "this is the retired classic ClinicalTrials.gov API format (FullStudiesResponse); save the record "
            "as the API v2 returns it: https://clinicaltrials.gov/api/v2/studies/NCT...", file))
    if isinstance(doc, dict) and isinstance(doc.get("studies"), list):
        studies = [s for s in doc["studies"] if isinstance(s, dict)]
        ids = [_get(s, "protocolSection", "identificationModule", "nctId") for s in studies]
        if registry_id is not None:
            chosen = [s for s, i in zip(studies, ids) if i == registry_id]
            if not chosen:
                raise RegistryRecordError(Problem(f"no study {registry_id!r} in this file (it holds: "
                                                  f"{', '.join(str(i) for i in ids) or 'none'})", file))
            doc = chosen[0]
        elif len(studies) == 1:
            doc = studies[0]
        else:
            raise RegistryRecordError(Problem(
                f"this file holds {len(studies)} studies ({', '.join(str(i) for i in ids[:5])}"
                f"{', ...' if len(ids) > 5 else ''}); name one", file))
    if not isinstance(doc, dict) or not isinstance(doc.get("protocolSection"), dict):
        raise RegistryRecordError(Problem(
            "not a ClinicalTrials.gov API v2 study record: no 'protocolSection' object", file))
    proto = doc["protocolSection"]
    ident = proto.get("identificationModule") or {}
    nct = _str(_get(ident, "nctId"))
    if nct is None:
        raise RegistryRecordError(Problem("protocolSection.identificationModule.nctId is missing", file))
    elig = proto.get("eligibilityModule") or {}
    criteria = elig.get("eligibilityCriteria")
    if not _str(criteria):
        raise RegistryRecordError(Problem(
            f"{nct}: protocolSection.eligibilityModule.eligibilityCriteria is missing or empty (a record "
            "reduced to some fields? save the whole study)", file))
    design = proto.get("designModule") or {}
    healthy = elig.get("healthyVolunteers")
    gender_based = elig.get("genderBased")
    return Study(
        registry_id=nct,
        brief_title=_str(ident.get("briefTitle")),
        official_title=_str(ident.get("officialTitle")),
        acronym=_str(ident.get("acronym")),
        org_study_id=_str(_get(ident, "orgStudyIdInfo", "id")),
        sponsor=_str(_get(proto, "sponsorCollaboratorsModule", "leadSponsor", "name")),
        phases=tuple(p for p in design.get("phases") or () if isinstance(p, str)),
        study_type=_str(design.get("studyType")),
        conditions=tuple(c for c in _get(proto, "conditionsModule", "conditions") or () if isinstance(c, str)),
        criteria=criteria,
        sex=_str(elig.get("sex")),
        gender_based=gender_based if isinstance(gender_based, bool) else None,
        gender_description=_str(elig.get("genderDescription")),
        minimum_age=parse_age(elig.get("minimumAge")),
        maximum_age=parse_age(elig.get("maximumAge")),
        minimum_age_text=_str(elig.get("minimumAge")),
        maximum_age_text=_str(elig.get("maximumAge")),
        healthy_volunteers=healthy if isinstance(healthy, bool) else None,
        std_ages=tuple(a for a in elig.get("stdAges") or () if isinstance(a, str)),
    )


def read_study(path: str | Path, registry_id: str | None = None) -> Study:
    """Read a study record file (UTF-8 JSON, a byte-order mark accepted)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise RegistryRecordError(Problem(f"cannot read: {e.strerror or e}", str(path))) from None
    except UnicodeDecodeError as e:
        raise RegistryRecordError(Problem(f"not UTF-8 text (byte {e.start})", str(path))) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise RegistryRecordError(Problem(f"invalid JSON: {e.msg}", str(path), e.lineno, e.colno)) from None
    return study_from_json(doc, str(path), registry_id)
