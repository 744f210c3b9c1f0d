"""Shared pieces of the property tests: a trial over tests/data/items.yaml and profile strategies."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from hypothesis import strategies as st

from screening import compile_text

DATA = Path(__file__).resolve().parent.parent / "data"
AS_OF = date(2026, 11, 23)

CRITERIA = """\
criteria:
  - {id: inc-age, kind: inclusion, text: adult, rule: age >= 18 and age <= 75}
  - {id: inc-ab, kind: inclusion, text: serology, rule: "ana >= '1:80' or dsdna == 'positive'"}
  - {id: inc-upcr, kind: inclusion, text: proteinuria, rule: upcr >= 1}
  - {id: inc-upcr-cap, kind: inclusion, text: not nephrotic, rule: not (upcr >= 5) and age >= 18}
  - {id: inc-pf, kind: inclusion, text: hypoxaemia, rule: pf < 300}
  - {id: inc-pao2, kind: inclusion, text: PaO2, rule: pao2 < 70}
  - {id: inc-fio2, kind: inclusion, text: FiO2, rule: fio2 >= 0.4}
  - {id: inc-weight, kind: inclusion, text: weight, rule: weight >= 50}
  - {id: inc-hb, kind: inclusion, text: anaemia, rule: hb < 10}
  - {id: inc-biopsy, kind: inclusion, text: biopsy or vaccine,
     rule: "had_procedure(kidney_biopsy, 'P12M') or vaccinated(flu_vaccine)"}
  - {id: inc-consent, kind: inclusion, text: consent, confirm: signed form}
  - {id: exc-cyc, kind: exclusion, text: cyclophosphamide, rule: "started_within(cyclophosphamide, 'P6M')"}
  - {id: exc-cancer-history, kind: exclusion, text: cancer history, rule: history_of(malignancy)}
  - {id: exc-cancer, kind: exclusion, text: active cancer, rule: has_condition(malignancy)}
  - {id: exc-preg, kind: exclusion, text: pregnancy, rule: pregnant, applies_if: sex == 'female'}
  - {id: exc-ln, kind: exclusion, text: LN on drug, rule: "has_condition(lupus_nephritis) and taking(cyclophosphamide)",
     confirm: nephrologist review}
"""


@lru_cache(maxsize=None)
def trial():
    text = (DATA / "items.yaml").read_text(encoding="utf-8") + CRITERIA
    return compile_text(text, "property.yaml")


def iso(d: date) -> str:
    return d.isoformat()


# Recent dates: inside or outside the 3- and 6-month windows, before the screening date.
recent = st.integers(min_value=0, max_value=400).map(lambda n: AS_OF - timedelta(days=n))
positive = st.floats(min_value=0.01, max_value=1000, allow_nan=False, allow_infinity=False)


def away_from(thresholds, rel=1e-6):
    """A predicate: a value not within ``rel`` of any threshold (conversions round at 12 digits)."""
    return lambda x: all(abs(x - t) > rel * max(1.0, abs(t)) for t in thresholds)


@st.composite
def full_profile(draw):
    """A consistent, complete-as-possible profile, as groups of records: group name -> patch of the profile."""
    groups: dict[str, dict] = {}
    groups["birth_date"] = {"birth_date": iso(draw(st.dates(date(1930, 1, 1), date(2015, 12, 31))))}
    groups["sex"] = {"sex": draw(st.sampled_from(["female", "male"]))}

    def obs(name, value, unit, day, **kw):
        out = {"name": name, "value": value, "date": iso(day), **kw}
        if unit is not None:
            out["unit"] = unit
        return out

    upcr = []
    for _ in range(draw(st.integers(1, 3))):
        v = draw(positive.filter(away_from([1, 5])))
        unit, scale = draw(st.sampled_from([("mg/mg", 1), ("g/g", 1), ("mg/g", 1000), ("mg/mmol", 113.12)]))
        upcr.append(obs("UPCR", v * scale, unit, draw(recent)))
    groups["upcr"] = {"observations": upcr}

    day = draw(recent)
    pao2 = draw(st.floats(30, 150).filter(away_from([70])))
    fio2 = draw(st.floats(0.21, 1.0).filter(away_from([0.4])))
    assert fio2 > 0
    if draw(st.booleans()):
        groups["pao2"] = {"observations": [obs("PaO2", pao2 / 7.500615758456563, "kPa", day)]}
    else:
        groups["pao2"] = {"observations": [obs("PaO2", pao2, "mmHg", day)]}
    groups["fio2"] = {"observations": [obs("FiO2", fio2 * 100, "%", day) if draw(st.booleans())
                                       else obs("FiO2", fio2, None, day)]}
    pf = pao2 / fio2
    if abs(pf - 300) > 1e-3:  # a recorded P/F, consistent with its operands
        groups["pf"] = {"observations": [{"code": "loinc:50984-4", "value": pf, "unit": "mm[Hg]", "date": iso(day)}]}

    w = draw(st.floats(20, 200).filter(away_from([50])))
    groups["weight"] = {"observations": [obs("body weight", w / 0.45359237, "lb", draw(recent))
                                         if draw(st.booleans()) else obs("body weight", w, "kg", draw(recent))]}
    groups["hb"] = {"observations": [obs("haemoglobin", draw(st.floats(5, 18).filter(away_from([10]))), "g/dL",
                                         draw(recent)) for _ in range(draw(st.integers(1, 3)))]}
    groups["ana"] = {"observations": [obs("ANA", draw(st.sampled_from(["1:40", "1:80", "1:160", "1:320", "1:1280"])),
                                          None, draw(recent))]}
    groups["dsdna"] = {"observations": [obs("anti-dsDNA", draw(st.sampled_from(["positive", "negative", "Detected"])),
                                            None, draw(recent))]}
    groups["pregnant"] = {"facts": [{"name": "pregnant", "value": draw(st.booleans()), "date": iso(draw(recent))}]}
    groups["consent"] = {"facts": [{"code": "inc-consent", "value": draw(st.booleans())}]}
    groups["cyc"] = {"medications": [{"name": "cyclophosphamide", "start": iso(draw(recent)),
                                      "status": draw(st.sampled_from(["active", "not-taken"]))}]}
    groups["cancer"] = {"conditions": [{"name": "breast cancer", "onset": iso(draw(recent)),
                                        "status": draw(st.sampled_from(["active", "refuted", "remission"]))}]}
    groups["ln"] = {"conditions": [{"code": "icd10:M32.14", "onset": iso(draw(recent)),
                                    "status": draw(st.sampled_from(["active", "refuted"]))}]}
    groups["biopsy"] = {"procedures": [{"name": "kidney biopsy", "date": iso(draw(recent)),
                                        "status": draw(st.sampled_from(["completed", "not-done"]))}]}
    groups["flu"] = {"immunizations": [{"code": "cvx:141", "date": iso(draw(recent)),
                                        "status": draw(st.sampled_from(["completed", "not-done"]))}]}
    return groups


def assemble(groups: dict[str, dict], names) -> dict:
    """A patient dict made of the named groups."""
    out: dict = {"id": "prop"}
    for name in sorted(names):
        for key, value in groups[name].items():
            if isinstance(value, list):
                out.setdefault(key, []).extend(value)
            else:
                out[key] = value
    return out


# ------------------------------------------------------------------ arbitrary (schema-valid) profiles

EXTREME_DATE = st.dates(date(1, 1, 1), date(9999, 12, 31))
NEAR_DATE = st.integers(-400, 400).map(lambda n: AS_OF + timedelta(days=n))  # inside and around the windows
ANY_DATE = NEAR_DATE | EXTREME_DATE
NAMES = st.sampled_from(["UPCR", "PaO2", "FiO2", "body weight", "haemoglobin", "ANA", "anti-dsDNA", "HIV", "EDSS",
                         "urine RBC", "platelets", "cyclophosphamide", "breast cancer", "kidney biopsy", "pregnant",
                         "lupus nephritis", "inc-consent"])
KNOWN_NAMES = NAMES
NAMES = st.one_of(KNOWN_NAMES, KNOWN_NAMES, KNOWN_NAMES, st.text(max_size=20).filter(str.strip))  # mostly matching
CODES = st.sampled_from(["loinc:2890-5", "loinc:50984-4", "rxnorm:3002", "icd10:M32.14", "cvx:141", "inc-consent",
                         "TEST-ENGINE/inc-consent", "exc-ln"]) | st.text(max_size=12)
UNITS = st.none() | st.sampled_from([
    "", "1", "%", "mg/mg", "g/g", "mg/mmol", "kPa", "mmHg", "mm[Hg]", "lb", "kg", "[lb_av]", "/hpf", "/[HPF]",
    "10*9/L", "10^9/L", "/uL", "g/dL", "g/L", "degC", "Cel", "IU/L", "1/0", "**", "(", "mg)", "#", "furlong",
    "mg/dL", "mmol/L", "10*x", "{rbc}/[HPF]", "µg", "°C",
]) | st.text(max_size=8)
VALUES = (st.floats(allow_nan=True, allow_infinity=True) | st.floats(0, 1000) | st.integers(-10**30, 10**30)
          | st.integers(0, 500) | st.booleans()
          | st.sampled_from(["1:40", "1:160", "<1:40", "1:0", "positive", "Negative", "III", "", " 12.5 ", "NaN",
                             "inf", "1e999", "-0"]) | st.text(max_size=10))


def _record(identity, **fields):
    return st.fixed_dictionaries({**identity, **fields})


def _identity():
    return st.one_of(
        st.fixed_dictionaries({"name": KNOWN_NAMES}),
        st.fixed_dictionaries({"name": NAMES}),
        st.fixed_dictionaries({"code": CODES.filter(bool)}),
        st.fixed_dictionaries({"code": CODES.filter(bool), "name": NAMES}),
    )


def _with_identity(fields: dict):
    return st.tuples(_identity(), st.fixed_dictionaries({}, optional=fields)).map(lambda t: {**t[0], **t[1]})


observation = st.tuples(_identity(), st.fixed_dictionaries(
    {"value": VALUES, "date": ANY_DATE},
    optional={"unit": UNITS, "status": st.sampled_from(["final", "amended", "corrected", "preliminary", "registered"]),
              "source": st.text(max_size=10)})).map(lambda t: {**t[0], **t[1]})
condition = _with_identity({"onset": ANY_DATE, "abatement": ANY_DATE, "status": st.sampled_from(
    ["active", "recurrence", "relapse", "inactive", "remission", "resolved", "refuted"])})
medication = _with_identity({"start": ANY_DATE, "stop": ANY_DATE, "status": st.sampled_from(
    ["active", "completed", "stopped", "on-hold", "not-taken", "intended"])})
procedure = _with_identity({"date": ANY_DATE, "end": ANY_DATE,
                            "status": st.sampled_from(["completed", "in-progress", "not-done", "planned"])})
immunization = _with_identity({"date": ANY_DATE, "status": st.sampled_from(["completed", "not-done"])})
fact = st.tuples(_identity(), st.fixed_dictionaries({"value": st.booleans()}, optional={"date": ANY_DATE})).map(
    lambda t: {**t[0], **t[1]})

any_profile = st.fixed_dictionaries(
    {"id": st.text(max_size=8), "observations": st.lists(observation, max_size=10)},
    optional={
        "birth_date": ANY_DATE,
        "sex": st.sampled_from(["female", "male", "other", "unknown"]),
        "conditions": st.lists(condition, max_size=4),
        "medications": st.lists(medication, max_size=4),
        "procedures": st.lists(procedure, max_size=3),
        "immunizations": st.lists(immunization, max_size=3),
        "facts": st.lists(fact, max_size=4),
        "complete": st.lists(st.sampled_from(["conditions", "medications", "procedures", "immunizations", "facts"]),
                             unique=True),
    },
)
