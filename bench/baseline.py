"""The benchmark trial (bench/trial20.yaml) written by hand in plain Python.

What a careful engineer would write without the engine: the same 22 criteria over the
same Patient objects, with the same three-valued results, windows, unit factors,
completeness rules and a reason string per criterion. It is the yardstick for the
engine's per-screen cost, not an alternative implementation to use.
"""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta

P, F, U = "pass", "fail", "unknown"

UPCR_TO_MG_MG = {"mg/mg": 1.0, "g/g": 1.0, "mg/g": 0.001, "mg/mmol": 1 / 113.12}
PER_HPF = {"/hpf": 1.0, "1/hpf": 1.0, "/[HPF]": 1.0}
KG = {"kg": 1.0, "g": 0.001, "lb": 0.45359237}
M = {"m": 1.0, "cm": 0.01, "in": 0.0254}
ML_MIN = {"mL/min": 1.0}

CODES = {
    "methylprednisolone": ({"rxnorm:6902", "atc:h02ab04"}, ("methylprednisolone", "solu-medrol")),
    "immunosuppressants": ({"rxnorm:68149", "rxnorm:42316", "rxnorm:1256", "atc:l04aa06", "atc:l04ad02", "atc:l04ax01"},
                           ("mycophenolate", "tacrolimus", "azathioprine", "cyclosporine")),
    "ivig": ({"rxnorm:5642", "atc:j06ba02"}, ("immunoglobulin", "ivig")),
    "plasmapheresis": ({"snomed:11140008"}, ("plasmapheresis", "plasma exchange")),
    "cyclophosphamide": ({"rxnorm:3002", "atc:l01aa01"}, ("cyclophosphamide", "cytoxan")),
    "anti_b_cell": ({"rxnorm:121191", "rxnorm:1092437", "atc:l01fa01", "atc:l04aa26"},
                    ("rituximab", "belimumab", "obinutuzumab", "ocrelizumab")),
    "malignancy": ({"snomed:363346000", "icd10:c80.1"}, ("malignant neoplasm", "cancer")),
    "infection": ({"snomed:40733004"}, ("infection", "sepsis")),
    "surgery": ({"snomed:387713003"}, ("surgery",)),
}


def _matches(r, concept) -> bool:
    codes, names = CODES[concept]
    if r.code and r.code.lower() in codes:
        return True
    name = (r.name or "").lower()
    return any(n in name for n in names)


def _latest(obs, code, as_of, months=None, name=None):
    start = as_of - relativedelta(months=months) if months else date.min
    best = None
    for o in obs:
        if (o.code == code or (name and o.name == name)) and o.date <= as_of:
            if best is None or o.date >= best.date:
                best = o
    if best is None:
        return None, "missing"
    if best.date < start:
        return None, f"stale ({best.date})"
    return best, ""


def _quantity(obs, code, as_of, months, factors):
    o, why = _latest(obs, code, as_of, months)
    if o is None:
        return None, None, why
    f = factors.get(o.unit)
    if f is None or isinstance(o.value, (str, bool)):
        return None, o, f"unusable {o.value} {o.unit}"
    return o.value * f, o, ""


def _coded(obs, code, as_of, months=None, name=None):
    o, why = _latest(obs, code, as_of, months, name)
    if o is None:
        return None, why
    return str(o.value).strip().lower(), f"{o.value} on {o.date}"


def _cmp(value, test, text):
    if value is None:
        return U, text
    return (P if test(value) else F), text


def _or(*parts):
    s = [p[0] for p in parts]
    status = P if P in s else (U if U in s else F)
    return status, "; ".join(p[1] for p in parts if p[0] == status)


def _started(meds, concept, as_of, months, complete):
    start = as_of - relativedelta(months=months)
    found, maybe = [], []
    for m in meds:
        if _matches(m, concept) and m.status != "intended":
            if m.start is None:
                maybe.append(m)
            elif start <= m.start <= as_of:
                found.append(m)
    if found:
        return P, f"{concept} started {found[0].start}"
    if maybe:
        return U, f"{concept} with no start date"
    return (F, f"no {concept}; complete") if complete else (U, f"no record of {concept}")


def _active(conds, concept, as_of, complete):
    neg = False
    for c in conds:
        if _matches(c, concept) and (c.onset is None or c.onset <= as_of):
            if c.status in ("active", "recurrence", "relapse") and (c.abatement is None or c.abatement > as_of):
                return P, f"{concept} active"
            neg = True
    if neg:
        return F, f"{concept} not active"
    return (F, f"no {concept}; complete") if complete else (U, f"no record of {concept}")


def screen_by_hand(patient, as_of: date, complete=()) -> dict:
    """Statuses (from eligibility's point of view) and reasons for the 22 benchmark criteria."""
    complete = set(complete) | {str(c) for c in patient.complete}
    obs = patient.observations
    out = {}
    if patient.birth_date is None:
        age = None
    else:
        b = patient.birth_date
        age = as_of.year - b.year - ((as_of.month, as_of.day) < (b.month, b.day))
    out["age"] = _cmp(age, lambda a: 18 <= a <= 75, f"age {age}")
    ana, ana_o = None, None
    o, _ = _latest(obs, "loinc:5048-4", as_of)
    if o is not None and isinstance(o.value, str) and o.value.startswith("1:"):
        ana = float(o.value[2:])
    dna, dna_t = _coded(obs, "loinc:5130-0", as_of)
    out["ana"] = _or(_cmp(ana, lambda v: v >= 80, f"ANA 1:{ana}"), _cmp(dna, lambda v: v == "positive", f"dsDNA {dna_t}"))
    cls, cls_t = _coded(obs, None, as_of, 12, name="ISN/RPS class")
    out["biopsy"] = _cmp(cls, lambda v: v in ("iii", "iv", "iii+v", "iv+v"), f"class {cls_t}")
    rbc, _, rbc_t = _quantity(obs, "loinc:13945-1", as_of, 3, PER_HPF)
    wbc, _, wbc_t = _quantity(obs, "loinc:5821-4", as_of, 3, PER_HPF)
    casts, casts_t = _coded(obs, "loinc:9842-6", as_of, 3)
    out["sediment"] = _or(_cmp(rbc, lambda v: v > 5, f"RBC {rbc}/hpf {rbc_t}"),
                          _cmp(wbc, lambda v: v > 8, f"WBC {wbc}/hpf {wbc_t}"),
                          _cmp(casts, lambda v: v == "positive", f"casts {casts_t}"))
    upcr, upcr_o, upcr_t = _quantity(obs, "loinc:2890-5", as_of, 3, UPCR_TO_MG_MG)
    out["upcr"] = _cmp(upcr, lambda v: v >= 1, f"UPCR {upcr} mg/mg {upcr_t}")
    egfr, _, egfr_t = _quantity(obs, "loinc:62238-1", as_of, 3, ML_MIN)
    out["egfr"] = _cmp(egfr, lambda v: v >= 30, f"eGFR {egfr} {egfr_t}")
    meds_complete = "medications" in complete
    meds = [m for m in patient.medications if m.start is None or m.start <= as_of]
    for cid, concept, months in (("mp", "methylprednisolone", 3), ("is", "immunosuppressants", 3),
                                 ("ivig", "ivig", 3), ("cyc", "cyclophosphamide", 6), ("bcell", "anti_b_cell", 12)):
        met = _started(meds, concept, as_of, months, meds_complete)
        out[cid] = ({P: F, F: P, U: U}[met[0]], met[1])
    start3 = as_of - relativedelta(months=3)
    procs = [p for p in patient.procedures if _matches(p, "plasmapheresis") and p.status == "completed"]
    if any(p.date is not None and start3 <= p.date <= as_of for p in procs):
        out["pp"] = (F, "plasmapheresis within 3 months")
    elif "procedures" in complete:
        out["pp"] = (P, "no plasmapheresis within 3 months; complete")
    else:
        out["pp"] = (U, "no record of plasmapheresis")
    # pregnancy applies to women under 55
    applies = U if patient.sex is None or age is None else (P if patient.sex == "female" and age < 55 else F)
    preg = None
    for fct in patient.facts:
        if fct.name == "pregnant" and fct.date is not None and as_of - relativedelta(months=1) <= fct.date <= as_of:
            preg = fct.value
    if applies == F:
        out["preg"] = (P, "not applicable")
    else:
        met = U if preg is None else (P if preg else F)
        met = F if applies == F else (met if applies == P else (F if met == F else U))
        out["preg"] = ({P: F, F: P, U: U}[met], f"pregnant {preg}")
    conds = patient.conditions
    for cid, concept in (("cancer", "malignancy"), ("infection", "infection")):
        met = _active(conds, concept, as_of, "conditions" in complete)
        out[cid] = ({P: F, F: P, U: U}[met[0]], met[1])
    planned = [p for p in patient.procedures if _matches(p, "surgery") and p.status == "planned"]
    out["surgery"] = (F, "surgery planned") if planned else (
        (P, "no planned surgery; complete") if "procedures" in complete else (U, "no record of surgery"))
    hiv, hiv_t = _coded(obs, "loinc:75622-1", as_of)
    out["hiv"] = _cmp(hiv, lambda v: v != "positive", f"HIV {hiv_t}")
    bmi, _, _ = _quantity(obs, "loinc:39156-5", as_of, 3, {"kg/m^2": 1.0, "kg/m2": 1.0})
    if bmi is None:
        w, _, _ = _quantity(obs, "loinc:29463-7", as_of, 3, KG)
        h, _, _ = _quantity(obs, "loinc:8302-2", as_of, None, M)
        bmi = w / (h * h) if w is not None and h else None
    out["bmi"] = _cmp(bmi, lambda v: not v > 40, f"BMI {bmi}")
    out["bmi_low"] = _cmp(bmi, lambda v: not v < 16, f"BMI {bmi}")
    out["upcr_max"] = _cmp(upcr, lambda v: not v > 10, f"UPCR {upcr}")
    out["egfr_low"] = _cmp(egfr, lambda v: not v < 15, f"eGFR {egfr}")
    out["hiv_tested"] = _cmp(hiv, lambda v: v in ("positive", "negative"), f"HIV {hiv_t}")
    statuses = [s for s, _ in out.values()]
    verdict = "ineligible" if F in statuses else ("undetermined" if U in statuses else "eligible")
    return {"verdict": verdict, "criteria": out}
