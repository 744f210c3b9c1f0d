"""Synthetic patient profiles for tests and benchmarks: seeded, reproducible, realistic enough.

    for profile in synth_patients(1000, seed=7, as_of=date(2026, 11, 23)): ...
    write_synth("patients.ndjson", 100_000, seed=7, as_of=date(2026, 11, 23))

Patient ``i`` of seed ``s`` depends only on (s, i, as_of), so the first N patients of a
larger set are the N patients of a smaller one. Profiles follow the seed trials' data:
lupus nephritis (serology, biopsy class, urine sediment, UPCR, eGFR, immunosuppressants),
secondary progressive multiple sclerosis (EDSS history, relapses, disease-modifying
drugs, BMI), COVID-19 respiratory distress (RT-PCR, ventilation, PaO2 and FiO2) and
background records (infections, malignancy, serology, pregnancy, vaccinations). Values
come in a mix of units and spellings (UPCR mg/mmol, mg/g or mg/mg; PaO2 kPa or mmHg; FiO2
% or a fraction; weight lb or kg; titers '1:160'), dates fall on and around window edges
(3, 6 and 12 months before the screening date), ages include 17, 18, 75 and 76 on the
screening day, and any item may be missing. Nothing here is a real person.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Iterator

from dateutil.relativedelta import relativedelta

from ..batch.outputs import atomic_write

# (code, name) pairs as charted; rule files match either
SLE = ("snomed:55464009", "systemic lupus erythematosus")
LUPUS_NEPHRITIS = ("icd10:M32.14", "lupus nephritis")
MS = ("snomed:24700007", "multiple sclerosis")
SPMS = ("snomed:425500002", "secondary progressive multiple sclerosis")
MS_RELAPSE = ("local:ms-relapse", ("MS relapse", "multiple sclerosis relapse"))
HOME_OXYGEN = (("icd10:Z99.81", "local:home-oxygen"), ("home oxygen therapy", "long-term oxygen therapy"))
LV_FAILURE = ("snomed:85232009", "left ventricular failure")
COVID = ("snomed:840539006", "COVID-19")
ARDS = ("snomed:67782005", "acute respiratory distress syndrome")
BACKGROUND_CONDITIONS = [
    ("snomed:363346000", "malignant neoplasm"), ("icd10:C50.9", "breast cancer"), ("snomed:40733004", "infection"),
    ("snomed:91302008", "sepsis"), ("snomed:13645005", "chronic obstructive pulmonary disease"),
    ("snomed:128053003", "deep vein thrombosis"), ("snomed:59282003", "pulmonary embolism"),
    ("snomed:57653000", "multiple organ failure"), ("snomed:84114007", "heart failure"),
    ("snomed:86406008", "HIV infection"), ("snomed:66071002", "hepatitis B"), ("snomed:50711007", "hepatitis C"),
    ("snomed:38341003", "hypertension"), ("snomed:44054006", "type 2 diabetes mellitus"),
    ("snomed:441509002", "cardiac pacemaker in situ"), ("snomed:416098002", "drug allergy"),
    (("local:mri-unsafe-implant", "icd10:Z96.21"), ("metallic implant", "cochlear implant")), LV_FAILURE,
]
LUPUS_DRUGS = [
    (("rxnorm:3002", "atc:L01AA01"), ("cyclophosphamide", "Cyclophosphamide 500 mg IV")),
    ("rxnorm:6902", "methylprednisolone"),
    ("atc:H02AB04", ("IV methylprednisolone", "methylprednisolone pulse", "solu-medrol")),
    (("rxnorm:68149", "atc:L04AA06"), ("mycophenolate mofetil", "mycophenolic acid")),
    (("rxnorm:42316", "atc:L04AD02"), "tacrolimus"), (("rxnorm:1256", "atc:L04AX01"), "azathioprine"),
    (("rxnorm:3008", "atc:L04AD01"), "cyclosporine"), ("rxnorm:27169", "leflunomide"),
    (("rxnorm:121191", "atc:L01FA01"), "rituximab"), (("rxnorm:1092437", "atc:L04AA26"), "belimumab"),
    (("rxnorm:5642", "atc:J06BA02"), ("immunoglobulin G (IVIG)", "intravenous immunoglobulin")),
    ("rxnorm:8640", "prednisone"), ("rxnorm:5521", "hydroxychloroquine"),
]
MS_DRUGS = [
    ("rxnorm:72257", "interferon beta-1a"), ("rxnorm:214582", "glatiramer acetate"), ("rxnorm:354770", "natalizumab"),
    ("rxnorm:1012892", "fingolimod"), ("rxnorm:6902", "methylprednisolone"), ("rxnorm:1256", "azathioprine"),
    ("rxnorm:6851", "methotrexate"), ("rxnorm:7005", "mitoxantrone"), ("rxnorm:1876366", "ocrelizumab"),
]
COVID_DRUGS = [
    ("rxnorm:3264", "dexamethasone"), ("rxnorm:2284718", "remdesivir"), ("rxnorm:612865", "tocilizumab"),
    ("rxnorm:67108", "enoxaparin"), ("rxnorm:5521", "hydroxychloroquine"),
]
OTHER_DRUGS = [("rxnorm:6809", "metformin"), ("rxnorm:29046", "lisinopril"), ("rxnorm:1191", "aspirin"),
               ("rxnorm:83367", "atorvastatin"), ("local:investigational-drug", "investigational drug")]
VACCINES = [("cvx:141", "influenza vaccine"), ("cvx:88", "influenza vaccine"), ("cvx:33", "pneumococcal vaccine PPSV23"),
            ("cvx:133", "pneumococcal conjugate vaccine PCV13"), ("cvx:208", "COVID-19 vaccine")]
PROCEDURES = {
    # names only: snomed:127788007 is apheresis in general, which the rule files do not count
    "plasmapheresis": (None, ("plasmapheresis", "plasma exchange")),
    "renal_biopsy": ("snomed:281790008", "renal biopsy"),
    "ventilation": ("snomed:1258985005", "invasive mechanical ventilation"),
    "intubation": ("snomed:112798008", "endotracheal intubation"),
    "ecmo": ("snomed:233573008", "extracorporeal membrane oxygenation"),
    "surgery": ("snomed:387713003", "surgery"),
    "trial": (("local:clinical-trial-participation", "snomed:185923000"), "clinical trial participation"),
    "experimental": ("local:experimental-procedure", "experimental procedure"),
    "mri": ("snomed:113091000", "MRI of brain"),
    "fat_biopsy": ("snomed:387713003", "adipose tissue biopsy"),
}


def synth_patient(index: int, seed: int, as_of: date) -> dict:
    """Patient ``index`` of the synthetic population ``seed``, dated relative to ``as_of`` (a JSON-ready dict)."""
    return _Maker(random.Random(f"screening-synth/{seed}/{index}"), index, seed, as_of).make()


def synth_patients(n: int, seed: int, as_of: date, start: int = 0) -> Iterator[dict]:
    """Patients ``start`` .. ``start + n - 1`` of the population ``seed``, one at a time."""
    for i in range(start, start + n):
        yield synth_patient(i, seed, as_of)


def write_synth(path: str | Path, n: int, seed: int, as_of: date) -> int:
    """Write ``n`` profiles as NDJSON to ``path`` (atomically, streaming); returns the count."""
    with atomic_write(path, "w") as fh:
        for p in synth_patients(n, seed, as_of):
            fh.write(json.dumps(p, ensure_ascii=False, separators=(",", ":")) + "\n")
    return n


class _Maker:
    def __init__(self, rng: random.Random, index: int, seed: int, as_of: date):
        self.r, self.index, self.seed, self.as_of = rng, index, seed, as_of
        self.obs: list[dict] = []
        self.conditions: list[dict] = []
        self.meds: list[dict] = []
        self.procs: list[dict] = []
        self.vaccines: list[dict] = []
        self.facts: list[dict] = []

    # ---- helpers
    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def clamp(self, day: date) -> date:
        """Charts hold no records dated after the screening date."""
        return min(day, self.as_of)

    def days_ago(self, lo: int, hi: int) -> date:
        return self.as_of - timedelta(days=self.r.randint(lo, hi))

    def edge(self, months: int) -> date:
        """A date on or next to the edge of an N-month window (inside, on the edge, or just outside)."""
        start = self.as_of - relativedelta(months=months)
        return start + timedelta(days=self.r.choice([-2, -1, 0, 0, 1, 2]))

    def recent(self, months: int) -> date:
        """Mostly inside an N-month window, sometimes on its edge, sometimes well outside."""
        roll = self.r.random()
        if roll < 0.2:
            return self.edge(months)
        if roll < 0.8:
            return self.days_ago(0, months * 30 - 5)
        return self.days_ago(months * 31 + 3, months * 31 + 400)

    def ident(self, pair: tuple, how: str | None = None) -> dict:
        code, name = pair
        if isinstance(code, tuple):  # systems chart the same thing under different codes
            code = self.r.choice(code)
        if isinstance(name, tuple):
            name = self.r.choice(name)
        how = how or self.r.choice(["code", "code", "name", "both"])
        if code is None:  # a thing with no code to chart it by
            how = "name"
        out: dict = {}
        if how in ("code", "both"):
            out["code"] = code
        if how in ("name", "both"):
            out["name"] = name
        return out

    def observe(self, code, name, value, unit: str | None, day: date, p: float = 1.0,
                how: str | None = None) -> None:
        if not self.chance(p):
            return
        rec = self.ident((code, name), how if code else "name")
        rec["value"] = value
        if unit is not None:
            rec["unit"] = unit
        rec["date"] = self.clamp(day).isoformat()
        if self.chance(0.15):
            rec["source"] = f"Observation/s{self.seed}-{self.index}-{len(self.obs)}"
        if self.chance(0.03):
            rec["status"] = "preliminary"
        self.obs.append(rec)

    def condition(self, pair, status: str = "active", onset: date | None = None, abatement: date | None = None):
        rec = self.ident(pair)
        if onset:
            rec["onset"] = self.clamp(onset).isoformat()
        if abatement:
            rec["abatement"] = abatement.isoformat()
        if status != "active":
            rec["status"] = status
        self.conditions.append(rec)

    def medication(self, pair, start: date | None, stop: date | None = None, status: str | None = None):
        rec = self.ident(pair)
        if start:
            rec["start"] = start.isoformat()
        if stop:
            rec["stop"] = stop.isoformat()
        rec["status"] = status or ("completed" if stop and stop <= self.as_of else "active")
        if rec["status"] == "active":
            del rec["status"]
        self.meds.append(rec)

    def procedure(self, key: str, day: date | None, status: str = "completed"):
        rec = self.ident(PROCEDURES[key])
        if day:
            rec["date"] = self.clamp(day).isoformat()
        if status != "completed":
            rec["status"] = status
        self.procs.append(rec)

    def fact(self, name: str, value: bool, day: date | None = None, code: str | None = None):
        rec: dict = {"code": code} if code else {"name": name}
        rec["value"] = value
        if day:
            rec["date"] = day.isoformat()
        self.facts.append(rec)

    # ---- the patient
    def make(self) -> dict:
        r = self.r
        kind = r.choices(["lupus", "ms", "covid", "other"], [40, 25, 25, 10])[0]
        self.sex = r.choice(["female", "female", "male"]) if kind != "covid" else r.choice(["female", "male", "male"])
        self.age = self.pick_age()
        out: dict = {"id": f"syn-{self.seed}-{self.index:07d}"}
        if not self.chance(0.02):
            out["birth_date"] = self.birth_date(self.age).isoformat()
        if not self.chance(0.02):
            out["sex"] = self.sex if not self.chance(0.01) else "unknown"
        getattr(self, kind)()
        self.background(kind)
        for key, items in (("observations", self.obs), ("conditions", self.conditions), ("medications", self.meds),
                           ("procedures", self.procs), ("immunizations", self.vaccines), ("facts", self.facts)):
            if items:
                out[key] = items
        if self.chance(0.3):
            out["complete"] = sorted(r.sample(["conditions", "medications", "procedures", "immunizations"],
                                              r.randint(1, 3)))
        return out

    def pick_age(self) -> int:
        if self.chance(0.12):
            return self.r.choice([17, 18, 75, 76])  # the edges of the usual 18-75 range
        return min(95, max(12, int(self.r.gauss(48, 16))))

    def birth_date(self, age: int) -> date:
        """Born so as to be ``age`` on the screening date: sometimes exactly a birthday, sometimes a day off it."""
        birthday = self.as_of - relativedelta(years=age)
        if self.chance(0.3):
            return birthday + timedelta(days=self.r.choice([0, 0, 1]))  # birthday today, or tomorrow (age - 1)
        return birthday - timedelta(days=self.r.randint(1, 364))

    # ---- lupus nephritis
    def lupus(self) -> None:
        r = self.r
        dx = self.as_of - relativedelta(years=r.randint(1, 25))
        self.condition(SLE, onset=dx)
        if self.chance(0.8):
            self.condition(LUPUS_NEPHRITIS, r.choice(["active", "active", "relapse", "remission"]), onset=self.days_ago(30, 3000))
        self.observe("loinc:5048-4", "ANA", r.choice(["1:40", "1:80", "1:160", "1:320", "1:640", "1:1280", "negative"]),
                     None, self.days_ago(0, 700), 0.85)
        self.observe(("loinc:5130-0", "loinc:81716-3"), "anti-dsDNA", r.choice(["positive", "negative", "Detected", "Not detected", "positive"]),
                     None, self.days_ago(0, 700), 0.75)
        biopsy = self.recent(12)
        self.observe("local:isn-rps-class", ("ISN/RPS class", "lupus nephritis class"),
                     r.choice(["III", "IV", "IV", "V", "III+V", "IV+V", "IV-S", "IV-G", "II", "VI"]), None, biopsy, 0.7)
        if self.chance(0.6):
            self.procedure("renal_biopsy", biopsy)
        self.observe("loinc:13945-1", "urine RBC", r.choice([0, 2, 4, 5, 6, 10, 25, 50]), r.choice(["/[HPF]", "/hpf", "1/hpf"]),
                     self.recent(3), 0.7)
        self.observe("loinc:5821-4", "urine WBC", r.choice([0, 3, 8, 9, 15, 30]), r.choice(["/[HPF]", "/hpf"]),
                     self.recent(3), 0.6)
        self.observe(("loinc:9842-6", "local:urine-casts"), ("urinary casts", "cylindruria"), r.choice(["positive", "negative", "negative"]), None,
                     self.recent(3), 0.5)
        self.upcr()
        self.observe("loinc:62238-1", "eGFR", round(r.uniform(8, 120), 1), r.choice(["mL/min", "mL/min", "mL/min/{1.73_m2}"]),
                     self.recent(3), 0.75)
        self.observe("loinc:2160-0", "creatinine", round(r.uniform(0.5, 4.5), 2), r.choice(["mg/dL", "umol/L"]),
                     self.recent(3), 0.6)
        self.observe("local:sledai-2k", "SLEDAI-2K", r.randint(0, 30), None, self.recent(1), 0.6)
        self.observe("local:acr-1997-sle-criteria-count", "ACR SLE criteria met", r.randint(2, 8), None,
                     self.days_ago(30, 3000), 0.5)
        if self.chance(0.4):
            self.fact("SLICC criteria met", self.chance(0.8), code="local:slicc-2012-sle")
        self.observe("local:ln-course", "lupus nephritis response",
                     r.choice(["no response", "partial response", "moderate/severe recurrence", "complete response"]),
                     None, self.recent(1), 0.5)
        for pair in r.sample(LUPUS_DRUGS, r.randint(1, 5)):
            self.drug_course(pair)
        if self.chance(0.08):
            self.procedure("plasmapheresis", self.recent(3))

    def upcr(self) -> None:
        r = self.r
        mg_mg = round(r.lognormvariate(0.2, 0.8), 2)
        unit = r.choice(["mg/mg", "mg/mmol", "mg/g", "g/g", "mg/mg"])
        value = {"mg/mg": mg_mg, "g/g": mg_mg, "mg/g": round(mg_mg * 1000), "mg/mmol": round(mg_mg * 113.12, 1)}[unit]
        self.observe("loinc:2890-5", "urine protein/creatinine ratio", value, unit, self.recent(3), 0.8)
        if self.chance(0.2):  # an older value too
            self.observe("loinc:2890-5", "UPCR", round(r.uniform(0.1, 5), 2), "mg/mg", self.days_ago(100, 500))

    def drug_course(self, pair) -> None:
        r = self.r
        window = r.choice([1, 3, 6, 12])
        start = self.recent(window) if self.chance(0.7) else self.days_ago(400, 3000)
        stop = None
        if self.chance(0.4):
            stop = start + timedelta(days=r.randint(1, 300))
            if stop > self.as_of:
                stop = None
        status = None
        roll = r.random()
        if roll < 0.04:
            status, start = "not-taken", None
        elif roll < 0.07:
            status = "intended"
        elif roll < 0.10:
            start = None  # no start date recorded
        self.medication(pair, start, stop, status)

    # ---- multiple sclerosis
    def ms(self) -> None:
        r = self.r
        self.condition(MS, onset=self.as_of - relativedelta(years=r.randint(3, 30)))
        if self.chance(0.7):
            self.condition(SPMS, onset=self.days_ago(200, 4000))
        edss = r.choice([2.0, 3.5, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0, 8.0, 8.5, 9.0, 9.5])
        if self.chance(0.85):
            old = max(0.0, edss - r.choice([0.0, 0.0, 0.5, 1.0, 1.5]))
            self.observe("local:edss", "EDSS", old, None, self.days_ago(300, 365))
            self.observe("local:edss", "EDSS", edss, None, self.recent(3))
        if self.chance(0.5):
            self.condition(MS_RELAPSE, r.choice(["resolved", "active", "resolved"]), onset=self.recent(12))
        for pair in r.sample(MS_DRUGS, r.randint(1, 3)):
            self.drug_course(pair)
        self.body_size()
        if self.chance(0.5):
            self.procedure("mri", self.recent(12))
        self.fact("able to complete questionnaires", self.chance(0.95))
        if self.chance(0.1):
            self.drug_course(OTHER_DRUGS[-1])  # an investigational drug
        if self.chance(0.1):
            self.procedure("experimental", self.recent(3))
        if self.chance(0.2):
            self.procedure("trial", self.recent(3))

    def body_size(self) -> None:
        r = self.r
        height_m = r.uniform(1.50, 1.95)
        bmi = r.choice([r.uniform(17, 32), r.uniform(35, 48), 40.0, 16.0]) if self.chance(0.9) else r.uniform(13, 16)
        kg = bmi * height_m * height_m
        if self.chance(0.5):
            self.observe("loinc:29463-7", "body weight", round(kg * 2.20462, 1), "[lb_av]" if self.chance(0.3) else "lb",
                         self.recent(3), 0.9)
        else:
            self.observe("loinc:29463-7", "body weight", round(kg, 1), "kg", self.recent(3), 0.9)
        unit = r.choice(["cm", "m", "[in_i]"])
        value = {"cm": round(height_m * 100), "m": round(height_m, 2), "[in_i]": round(height_m / 0.0254, 1)}[unit]
        self.observe("loinc:8302-2", "body height", value, unit, self.days_ago(0, 1500), 0.8)
        if self.chance(0.3):
            self.observe("loinc:39156-5", "BMI", round(bmi, 1), "kg/m2", self.recent(3))

    # ---- COVID-19 respiratory distress
    def covid(self) -> None:
        r = self.r
        onset = self.days_ago(2, 20)
        self.condition(COVID, onset=onset)
        self.observe("loinc:94500-6", "SARS-CoV-2 RT-PCR", r.choice(["Detected", "positive", "Not detected", "Detected"]),
                     None, onset + timedelta(days=1), 0.9)
        if self.chance(0.7):
            self.condition(ARDS, onset=onset + timedelta(days=r.randint(0, 5)))
        ventilated = self.chance(0.7)
        if ventilated:
            started = self.days_ago(0, 1) if self.chance(0.6) else onset + timedelta(days=r.randint(0, 7))
            self.procedure("intubation", started)
            self.procedure("ventilation", started, r.choice(["in-progress", "in-progress", "completed"]))
        if self.chance(0.7):
            self.fact("bilateral infiltrates", self.chance(0.8), self.days_ago(0, 8))
        self.observe("local:failing-organ-count", "failing organs", r.choice([0, 1, 1, 2, 3, 4, 5]), None,
                     self.days_ago(0, 1), 0.5)
        day = self.days_ago(0, 2)
        pao2_mmhg = r.uniform(45, 110)
        if self.chance(0.5):
            self.observe("loinc:2703-7", "PaO2", round(pao2_mmhg / 7.50062, 2), "kPa", day, 0.9)
        else:
            self.observe("loinc:2703-7", "PaO2", round(pao2_mmhg), r.choice(["mmHg", "mm[Hg]"]), day, 0.9)
        fio2 = r.choice([0.21, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0])
        if self.chance(0.5):
            self.observe("loinc:3150-0", "FiO2", round(fio2 * 100), "%", day, 0.9)
        else:
            self.observe("loinc:3150-0", "FiO2", fio2, r.choice(["1", None]), day + timedelta(days=r.choice([0, 0, 0, 1])), 0.9)
        if self.chance(0.2):
            self.observe("loinc:50984-4", "PaO2/FiO2", round(pao2_mmhg / fio2), "mm[Hg]", day)
        if self.chance(0.1):
            self.procedure("ecmo", day, r.choice(["completed", "in-progress", "planned"]))
        if self.chance(0.08):
            self.condition(HOME_OXYGEN, onset=self.days_ago(100, 2000))
        for pair in r.sample(COVID_DRUGS, r.randint(0, 3)):
            self.drug_course(pair)
        if self.chance(0.15):
            self.drug_course(r.choice(LUPUS_DRUGS[:5]))  # previous immunosuppressive treatment
        if self.chance(0.1):
            self.procedure("trial", self.recent(3))

    def other(self) -> None:
        self.body_size()
        for pair in self.r.sample(OTHER_DRUGS, self.r.randint(0, 3)):
            self.drug_course(pair)

    # ---- everyone
    def background(self, kind: str) -> None:
        r = self.r
        for pair in r.sample(BACKGROUND_CONDITIONS, r.choice([0, 0, 1, 1, 2, 3])):
            status = r.choice(["active", "active", "resolved", "remission", "refuted"])
            onset = self.days_ago(10, 5000)
            abatement = onset + timedelta(days=r.randint(10, 400)) if status == "resolved" else None
            if abatement and abatement > self.as_of:
                abatement = None
            self.condition(pair, status, onset=onset, abatement=abatement)
        for code, name in (("loinc:75622-1", "HIV 1+2 Ab"), ("loinc:5196-1", "HBsAg"), ("loinc:16128-1", "HCV Ab")):
            self.observe(code, name, r.choice(["negative", "negative", "negative", "Not detected", "positive", "reactive"]),
                         None, self.recent(3) if kind == "ms" else self.days_ago(0, 900), 0.6)
        if self.sex == "female" and self.age < 55:
            self.fact("childbearing potential", self.chance(0.8), self.days_ago(0, 60))
            if self.chance(0.7):
                self.fact("pregnant", self.chance(0.05), self.recent(1))
            if self.chance(0.5):
                self.fact("planned pregnancy", self.chance(0.1), self.recent(3))
            if self.chance(0.5):
                self.observe("loinc:2106-3", "urine hCG", r.choice(["negative", "negative", "positive"]), None,
                             self.days_ago(0, 2))
            if self.chance(0.5):
                self.fact("effective contraception", self.chance(0.8), self.days_ago(0, 40))
            if self.chance(0.3):
                self.fact("lactating", self.chance(0.2), self.days_ago(0, 40))
        if self.chance(0.6):
            self.fact("informed consent", self.chance(0.9), self.days_ago(0, 30))
        for pair in r.sample(VACCINES, r.randint(0, 3)):
            rec = self.ident(pair, "code" if self.chance(0.7) else "name")
            rec["date"] = self.days_ago(0, 800).isoformat()
            if self.chance(0.05):
                rec["status"] = "not-done"
            self.vaccines.append(rec)
        if self.chance(0.05):
            self.procedure("surgery", None, "planned")
        if kind == "lupus" and self.chance(0.1):
            self.body_size()
