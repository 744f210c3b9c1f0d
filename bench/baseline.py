"""The benchmark trial (bench/trial20.yaml) written by hand in plain Python.

What a careful engineer would write without the engine: the same 22 criteria over the
same Patient objects, with the same semantics (three-valued results, calendar windows,
unit factors for the spellings charts use, codes and names, explicit negatives,
completeness) and a reason per criterion. It is the yardstick for the engine's
per-screen cost, not an alternative implementation to use. bench/screen_bench.py checks
that it agrees with the engine on every criterion of a few thousand synthetic patients.
"""

from __future__ import annotations

import math
import re
from datetime import date
from functools import lru_cache

from dateutil.relativedelta import relativedelta

P, F, U = "pass", "fail", "unknown"
FLIP = {P: F, F: P, U: U}

_WORD = re.compile(r"[a-z0-9]+(?:[.\-][a-z0-9]+)*")
GUARDS = [tuple(_WORD.findall(g)) for g in (
    "family history", "fh of", "history in family", "no", "not", "non", "without", "denies", "denied",
    "negative for", "free of", "ruled out", "rule out", "r/o", "absence of", "absent", "screening for",
    "risk of", "at risk", "fear of", "suspected", "possible", "probable", "planned", "plan", "intended")]
# a hyphenated 'non-' is the word 'non'; these follow-on words make it part of a disease's name
NON_NAMES = [tuple(g.split()) for g in (
    "non hodgkin", "non hodgkins", "non small", "non small-cell", "non melanoma", "non seminoma", "non seminomatous",
    "non muscle", "non muscle-invasive", "non st", "non st-elevation", "non st-segment", "non alcoholic",
    "non insulin", "non insulin-dependent", "non ischemic", "non ischaemic")]
# observation names only: qualifiers that make another quantity (ideal body weight, ANA pattern)
QUALIFIERS = [tuple(g.split()) for g in (
    "ideal", "predicted", "target", "goal", "usual", "dry", "birth weight", "weight loss", "weight gain", "change",
    "pattern")]
POSITIVE = {"positive", "pos", "detected", "reactive", "present", "yes", "+"}
NEGATIVE = {"negative", "neg", "not detected", "not-detected", "undetected", "non-reactive", "non reactive",
            "nonreactive", "absent", "no", "-"}
TITER_NEGATIVE = {"negative", "neg", "not detected", "non-reactive", "nonreactive"}
CLASSES = ("i", "ii", "iii", "iv", "v", "vi", "iii+v", "iv+v", "iv-s", "iv-g")

PER_HPF = {"/hpf": 1.0, "1/hpf": 1.0, "/[HPF]": 1.0}
UPCR = {"mg/mg": 1.0, "g/g": 1.0, "mg/g": 0.001, "mg/mmol": 1 / 113.12}
ML_MIN = {"mL/min": 1.0, "mL/min/{1.73_m2}": 1.0}
KG = {"kg": 1.0, "g": 0.001, "lb": 0.45359237, "[lb_av]": 0.45359237}
M = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254, "[in_i]": 0.0254}
KG_M2 = {"kg/m^2": 1.0, "kg/m2": 1.0, "kg/m**2": 1.0}

# data items: (codes, names, window in months or None)
ANA = ({"loinc:5048-4"}, ("ana",), None)
DSDNA = ({"loinc:5130-0"}, ("anti-dsdna",), None)
BIOPSY = (set(), ("isn rps class",), 12)
RBC = ({"loinc:13945-1"}, (), 3)
WBC = ({"loinc:5821-4"}, (), 3)
CASTS = ({"loinc:9842-6"}, (), 3)
UPCR_ITEM = ({"loinc:2890-5"}, (), 3)
EGFR = ({"loinc:62238-1"}, (), 3)
HIV = ({"loinc:75622-1"}, (), None)
WEIGHT = ({"loinc:29463-7"}, (), 3)
HEIGHT = ({"loinc:8302-2"}, (), None)
BMI = ({"loinc:39156-5"}, (), 3)

CONCEPTS = {
    "methylprednisolone": ({"rxnorm:6902", "atc:h02ab04"}, ("methylprednisolone", "solu-medrol")),
    "immunosuppressants": ({"rxnorm:68149", "rxnorm:42316", "rxnorm:1256", "atc:l04aa06", "atc:l04ad02", "atc:l04ax01"},
                           ("mycophenolate", "tacrolimus", "azathioprine", "cyclosporine")),
    "ivig": ({"rxnorm:5642", "atc:j06ba02"}, ("immunoglobulin", "ivig")),
    "plasmapheresis": (set(), ("plasmapheresis", "plasma exchange")),
    "cyclophosphamide": ({"rxnorm:3002", "atc:l01aa01"}, ("cyclophosphamide", "cytoxan")),
    "anti_b_cell": ({"rxnorm:121191", "rxnorm:1092437", "atc:l01fa01", "atc:l04aa26"},
                    ("rituximab", "belimumab", "obinutuzumab", "ocrelizumab")),
    "malignancy": ({"snomed:363346000", "icd10:c80.1"}, ("malignant neoplasm", "cancer")),
    "infection": ({"snomed:40733004"}, ("infection", "sepsis")),
    "surgery": ({"snomed:387713003"}, ("surgery",)),
}
ITEM_WORDS: dict = {}


def _words(text: str) -> tuple[str, ...]:
    toks = []
    for t in _WORD.findall(text.lower()):
        toks += ["non", t[4:]] if t.startswith("non-") else [t]
    return tuple(toks)


CONCEPT_WORDS = {k: (codes, [_words(n) for n in names]) for k, (codes, names) in CONCEPTS.items()}


@lru_cache(maxsize=65536)
def _tokens(name: str, observation: bool = False) -> tuple[tuple[str, ...], bool]:
    toks = _words(name)
    guards = GUARDS + QUALIFIERS if observation else GUARDS
    guarded = any(toks[i:i + len(g)] == g and not any(toks[i:i + len(e)] == e for e in NON_NAMES)
                  for g in guards for i in range(len(toks) - len(g) + 1))
    return toks, guarded


def _named(r, phrases, observation: bool = False) -> bool:
    if not r.name or not phrases:
        return False
    toks, guarded = _tokens(r.name, observation)
    for ph in phrases:
        if toks == ph:
            return True
        if not guarded and any(toks[i:i + len(ph)] == ph for i in range(len(toks))):
            return True
    return False


def _coded(r, codes) -> bool:
    return (r.code is not None and r.code.lower() in codes) or any(c.lower() in codes for c in r.codes)


def _matches(r, concept) -> bool:
    codes, phrases = CONCEPT_WORDS[concept]
    return _coded(r, codes) or _named(r, phrases)


def _window_start(as_of, months):
    return as_of - relativedelta(months=months) if months else None


def _latest_day(obs, item, as_of):
    """(records of the latest date, why-not) for an item's visible records inside its window."""
    codes, names, months = item
    phrases = ITEM_WORDS.setdefault(names, [_words(n) for n in names])
    best = []
    for o in obs:
        if o.date <= as_of and (_coded(o, codes) or _named(o, phrases, observation=True)):
            if not best or o.date > best[0].date:
                best = [o]
            elif o.date == best[0].date:
                best.append(o)
    if not best:
        return [], "missing"
    start = _window_start(as_of, months)
    if start is not None and best[0].date < start:
        return [], f"stale ({best[0].date})"
    return best, ""


def _latest(obs, item, as_of):
    """(record, why-not) for the latest visible record of an item inside its window."""
    day, why = _latest_day(obs, item, as_of)
    return (day[-1] if day else None), why


class _Several(tuple):
    """Different values on the same date: a test decides only where they all agree."""


def _one(values, text):
    """The value of the same-day records; unknown when any is unusable, several when they differ."""
    if any(v is None for v in values):
        return None, text
    distinct = tuple(dict.fromkeys(values))
    return (distinct[0] if len(distinct) == 1 else _Several(distinct)), text


def _number(v):
    if isinstance(v, bool):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _quantity(obs, item, as_of, factors):
    day, why = _latest_day(obs, item, as_of)
    if not day:
        return None, why
    values = []
    for o in day:
        f, x = factors.get(o.unit or "1"), _number(o.value)
        values.append(None if f is None or x is None else float(f"{x * f:.12g}"))
    o = day[-1]
    return _one(values, f"{o.value} {o.unit} on {o.date}")


def _code(obs, item, as_of, vocabulary=("positive", "negative")):
    day, why = _latest_day(obs, item, as_of)
    if not day:
        return None, why
    values = []
    for o in day:
        v = o.value
        s = ("positive" if v else "negative") if isinstance(v, bool) else " ".join(str(v).strip().lower().split())
        s = "positive" if s in POSITIVE else ("negative" if s in NEGATIVE else s)
        values.append(s if s in vocabulary else None)  # a result the rule cannot read is unknown
    return _one(values, f"{day[-1].value} on {day[-1].date}")


def _titer(obs, item, as_of):
    """Exact dilutions only ('negative' is 0); the benchmark's synthetic titers are never bounds."""
    day, why = _latest_day(obs, item, as_of)
    if not day:
        return None, why
    values = []
    for o in day:
        v = o.value
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            values.append(float(v) if v >= 1 and math.isfinite(v) else None)
            continue
        if " ".join(str(v).strip().lower().split()) in TITER_NEGATIVE:
            values.append(0.0)
            continue
        m = re.match(r"^\s*1\s*[:/]\s*(\d+(?:\.\d+)?)\s*$", str(v))
        x = float(m.group(1)) if m else None
        values.append(x if x and math.isfinite(x) else None)
    return _one(values, f"{day[-1].value} on {day[-1].date}")


def _cmp(value, test, text):
    if value is None:
        return U, text
    if isinstance(value, _Several):
        answers = {bool(test(v)) for v in value}
        return (U if len(answers) > 1 else (P if answers.pop() else F)), text
    return (P if test(value) else F), text


def _and(*s):
    return F if F in s else (U if U in s else P)


def _or(*parts):
    s = [p[0] for p in parts]
    status = P if P in s else (U if U in s else F)
    return status, "; ".join(p[1] for p in parts if p[0] == status)


def _decide(yes, maybe, neg, complete, what):
    if yes:
        return P, f"{what}: {yes[0].name or yes[0].code}"
    if maybe:
        return U, f"{what}: cannot tell"
    if neg:
        return F, f"{what}: explicitly not"
    return (F, f"no {what}; complete") if complete else (U, f"no record of {what}")


def _started(meds, concept, as_of, months, complete):
    start = _window_start(as_of, months)
    yes, maybe, neg = [], [], []
    for m in meds:
        if not _matches(m, concept):
            continue
        if m.status in ("not-taken", "intended"):  # "not taking it" does not say when it was not
            continue
        elif m.start is None:
            maybe.append(m)
        elif start <= m.start <= as_of:
            yes.append(m)
    return _decide(yes, maybe, neg, complete, f"{concept} started within {months} months")


def _active(conds, concept, as_of, complete):
    yes, neg = [], []
    for c in conds:
        if _matches(c, concept):
            active = (c.abatement is not None and c.abatement > as_of) or \
                (c.status in ("active", "recurrence", "relapse") and c.abatement is None)
            (yes if active and c.status != "refuted" else neg).append(c)
    return _decide(yes, [], neg, complete, f"active {concept}")


def _procedure_within(procs, concept, as_of, months, complete):
    start = _window_start(as_of, months)
    yes, maybe, neg = [], [], []
    for p in procs:
        if not _matches(p, concept):
            continue
        if p.status == "not-done":
            neg.append(p)
        elif p.status == "planned":
            continue
        elif p.date is None:
            maybe.append(p)
        elif p.end is not None or p.status == "in-progress":
            ongoing = p.status == "in-progress" and (p.end is None or p.end >= as_of)
            last = p.end
            if last is not None and last < start:
                continue
            if last is not None or ongoing or p.date >= start:
                yes.append(p)
            else:
                maybe.append(p)
        elif start <= p.date <= as_of:
            yes.append(p)
    return _decide(yes, maybe, neg, complete, f"{concept} within {months} months")


def _planned(procs, concept, complete):
    yes = [p for p in procs if _matches(p, concept) and p.status == "planned"]
    neg = [p for p in procs if _matches(p, concept) and p.status == "not-done"]
    return _decide(yes, [], neg, complete, f"{concept} planned")


def screen_by_hand(patient, as_of: date, complete=()) -> dict:
    """Statuses (from eligibility's point of view) and reasons for the 22 benchmark criteria."""
    complete = set(complete) | {str(c) for c in patient.complete}
    obs = patient.observations
    out = {}
    b = patient.birth_date
    age = None if b is None or b > as_of else as_of.year - b.year - ((as_of.month, as_of.day) < (b.month, b.day))
    out["age"] = _cmp(age, lambda a: 18 <= a <= 75, f"age {age}")
    ana, ana_t = _titer(obs, ANA, as_of)
    dna, dna_t = _code(obs, DSDNA, as_of)
    out["ana"] = _or(_cmp(ana, lambda v: v >= 80, f"ANA {ana_t}"), _cmp(dna, lambda v: v == "positive", f"dsDNA {dna_t}"))
    cls, cls_t = _code(obs, BIOPSY, as_of, CLASSES)
    out["biopsy"] = _cmp(cls, lambda v: v in ("iii", "iv", "iii+v", "iv+v"), f"class {cls_t}")
    rbc, rbc_t = _quantity(obs, RBC, as_of, PER_HPF)
    wbc, wbc_t = _quantity(obs, WBC, as_of, PER_HPF)
    casts, casts_t = _code(obs, CASTS, as_of)
    out["sediment"] = _or(_cmp(rbc, lambda v: v > 5, f"RBC {rbc_t}"), _cmp(wbc, lambda v: v > 8, f"WBC {wbc_t}"),
                          _cmp(casts, lambda v: v == "positive", f"casts {casts_t}"))
    upcr, upcr_t = _quantity(obs, UPCR_ITEM, as_of, UPCR)
    out["upcr"] = _cmp(upcr, lambda v: v >= 1, f"UPCR {upcr_t}")
    egfr, egfr_t = _quantity(obs, EGFR, as_of, ML_MIN)
    out["egfr"] = _cmp(egfr, lambda v: v >= 30, f"eGFR {egfr_t}")
    meds = [m for m in patient.medications if m.start is None or m.start <= as_of]
    meds_complete = "medications" in complete
    for cid, concept, months in (("mp", "methylprednisolone", 3), ("is", "immunosuppressants", 3),
                                 ("ivig", "ivig", 3), ("cyc", "cyclophosphamide", 6), ("bcell", "anti_b_cell", 12)):
        met = _started(meds, concept, as_of, months, meds_complete)
        out[cid] = (FLIP[met[0]], met[1])
    procs = [p for p in patient.procedures if p.date is None or p.date <= as_of or p.status == "planned"]
    procs_complete = "procedures" in complete
    met = _procedure_within(procs, "plasmapheresis", as_of, 3, procs_complete)
    out["pp"] = (FLIP[met[0]], met[1])
    # pregnancy, for women under 55: applies and pregnant
    sex = U if patient.sex in (None, "unknown") else (P if patient.sex == "female" else F)
    applies = _and(sex, U if age is None else (P if age < 55 else F))
    preg = None
    start1 = _window_start(as_of, 1)
    facts = [f for f in patient.facts if (f.date is None or f.date <= as_of) and
             (_tokens(f.name)[0] == ("pregnant",) if f.name else False)]
    if facts:
        latest = facts[-1]
        for f in facts:
            if (f.date or date.min) >= (latest.date or date.min):
                latest = f
        preg = latest.value if latest.date is not None and latest.date >= start1 else None
    elif "facts" in complete:
        preg = False
    met = _and(applies, U if preg is None else (P if preg else F))
    out["preg"] = (FLIP[met], "not applicable" if applies == F else f"pregnant {preg}")
    conds = [c for c in patient.conditions if c.onset is None or c.onset <= as_of]
    for cid, concept in (("cancer", "malignancy"), ("infection", "infection")):
        met = _active(conds, concept, as_of, "conditions" in complete)
        out[cid] = (FLIP[met[0]], met[1])
    met = _planned(procs, "surgery", procs_complete)
    out["surgery"] = (FLIP[met[0]], met[1])
    hiv, hiv_t = _code(obs, HIV, as_of)
    out["hiv"] = _cmp(hiv, lambda v: v != "positive", f"HIV {hiv_t}")
    bmi, bmi_t = _quantity(obs, BMI, as_of, KG_M2)
    if bmi_t == "missing" or bmi_t.startswith("stale"):  # no usable recorded BMI: compute it
        w, w_t = _quantity(obs, WEIGHT, as_of, KG)
        h, h_t = _quantity(obs, HEIGHT, as_of, M)
        wo, _ = _latest(obs, WEIGHT, as_of)
        ho, _ = _latest(obs, HEIGHT, as_of)
        bmi = None
        if isinstance(w, float) and isinstance(h, float) and h != 0 and \
                max(wo.date, ho.date) - relativedelta(years=10) <= min(wo.date, ho.date):
            x = w / (h * h)
            bmi = float(f"{x:.12g}") if math.isfinite(x) else None
        bmi_t = f"from weight {w_t} and height {h_t}"
    out["bmi"] = _cmp(bmi, lambda v: not v > 40, f"BMI {bmi_t}")
    out["bmi_low"] = _cmp(bmi, lambda v: not v < 16, f"BMI {bmi_t}")
    out["upcr_max"] = _cmp(upcr, lambda v: not v > 10, f"UPCR {upcr_t}")
    out["egfr_low"] = _cmp(egfr, lambda v: not v < 15, f"eGFR {egfr_t}")
    out["hiv_tested"] = _cmp(hiv, lambda v: v in ("positive", "negative"), f"HIV {hiv_t}")
    statuses = [s for s, _ in out.values()]
    verdict = "ineligible" if F in statuses else ("undetermined" if U in statuses else "eligible")
    return {"verdict": verdict, "criteria": out}
