"""FHIR as EHRs and Synthea write it: the bundles of ../shared/data/fhir-real (Synthea patients, the HL7 R4
specification's examples, US Core examples) and copies of them with one field changed
(tests/data/fhir-real-variants, see its README), screened against the four seed trials.

Each test states what a study coordinator reading the same chart would conclude.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

import screening
from screening.errors import PatientError

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "data" / "fhir-real"
VARIANTS = ROOT / "tests" / "data" / "fhir-real-variants"
CRITERIA = ROOT / "criteria"
TRIALS = ("NCT04348461", "NCT01056471", "Phase-II-Lupus-MSC", "MSV-allo-LN")
RULES = Path(__file__).parent / "rules" / "real-charts.yaml"
ALL_PARTS = {"conditions", "medications", "procedures"}

needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/data/fhir-real is not present")
pytestmark = needs_real

REAL_BUNDLES = sorted(p.name for p in REAL.glob("*.json")) if REAL.is_dir() else []
SYNTHEA = {"addie": "sohf-r4-Addie_Tremblay_4c875c3c-b4d6-4f6d-aabe-5ddc24892adc.json",
           "fletcher": "sohf-r4-Fletcher_Hyatt_fe0562b5-f517-4951-8366-32fdab088930.json",
           "josue": "sohf-r4-Josue_Sipes_7d27f180-98d6-456d-98c0-d91df32cd023.json",
           "georgianne": "gfdp-hiv-Georgianne697_Jerde200_ebf0d007-a52f-5364-5c32-2ba094b88f16.json"}
MULTI_PATIENT = "hl7r4-bundle-transaction.json"
NO_PATIENT = "hl7r4-bundle-example.json"


def real(name: str) -> Path:
    return REAL / SYNTHEA.get(name, name)


def variant(name: str) -> Path:
    return VARIANTS / f"{name}.json"


_trials: dict[str, object] = {}


def trial(tid: str):
    if tid not in _trials:
        _trials[tid] = screening.load_criteria(CRITERIA / f"{tid}.yaml" if tid in TRIALS else tid)
    return _trials[tid]


def screen(path: Path, tid: str, as_of: str, complete=ALL_PARTS):
    return screening.screen(screening.load_patient(path), trial(tid), as_of=as_of, complete=complete)


def crit(result, cid: str):
    return next(c for c in result.criteria if c.id == cid)


def status(result, cid: str) -> str:
    return str(crit(result, cid).status)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "screening.cli", *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


def entries(path: Path) -> list[dict]:
    return [e["resource"] for e in json.loads(path.read_text())["entry"] if "resource" in e]


# ------------------------------------------------------------------ every bundle: no crash, nothing dropped


@pytest.mark.parametrize("name", [n for n in REAL_BUNDLES if n not in (MULTI_PATIENT, NO_PATIENT)])
def test_every_one_patient_bundle_converts_and_screens_against_the_four_trials(name):
    patient = screening.load_patient(REAL / name)
    for tid in TRIALS:
        result = screening.screen(patient, trial(tid), as_of="2026-11-23", complete=ALL_PARTS)
        assert result.verdict is not None and len(result.criteria) > 0
    assert all(u.reason.strip() for u in patient.unmapped)


@pytest.mark.parametrize("name", [n for n in REAL_BUNDLES if n not in (MULTI_PATIENT, NO_PATIENT)])
def test_no_resource_is_silently_dropped(name):
    """Every resource of the bundle is cited by a record or listed in unmapped (a Medication by the order using it)."""
    patient = screening.load_patient(REAL / name)
    cited = {r.source for part in ("observations", "conditions", "medications", "procedures", "immunizations", "facts",
                                   "allergies", "family_history")
             for r in getattr(patient, part)}
    listed = {u.resource for u in patient.unmapped}
    for k, res in enumerate(entries(REAL / name)):
        rtype = res["resourceType"]
        if rtype in ("Patient", "Medication"):
            continue
        ref = f"{rtype}/{res['id']}" if "id" in res else None
        at = f"Bundle.entry[{k}]"
        assert ref in cited | listed or any(x and x.startswith(at) for x in cited | listed), (ref, k)


def test_the_multi_patient_transaction_is_refused_in_one_line_naming_the_file():
    out = run_cli("convert", str(REAL / MULTI_PATIENT))
    assert out.returncode == 2
    (line,) = out.stderr.strip().splitlines()
    assert MULTI_PATIENT in line and "5 Patient resources" in line


@pytest.mark.parametrize("path", [REAL / NO_PATIENT, VARIANTS / "f001-no-patient.json"], ids=lambda p: p.name)
def test_a_bundle_without_a_patient_is_a_one_line_error_naming_the_file(path):
    out = run_cli("convert", str(path))
    assert out.returncode == 2
    (line,) = out.stderr.strip().splitlines()
    assert path.name in line and "no Patient" in line


def test_batch_reports_and_skips_bundles_without_one_patient(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in (MULTI_PATIENT, NO_PATIENT, "hl7r4-assembled-f001-pieter.json"):
        (folder / name).write_bytes((REAL / name).read_bytes())
    out = run_cli("batch", str(folder), "-t", str(CRITERIA / "NCT04348461.yaml"), "--out", str(tmp_path / "out"),
                  "--as-of", "2013-04-06")
    assert out.returncode == 0, out.stderr
    errors = [json.loads(x) for x in (tmp_path / "out" / "errors.ndjson").read_text().splitlines()]
    assert sorted(Path(e["file"]).name for e in errors) == sorted([MULTI_PATIENT, NO_PATIENT])
    results = [json.loads(x) for x in (tmp_path / "out" / "results.ndjson").read_text().splitlines()]
    assert [r["patient"] for r in results] == ["f001"]


# ------------------------------------------------------------------ robustness: one invalid resource


def test_one_invalid_resource_no_criterion_needs_is_unmapped_and_the_rest_screened():
    path = real("uscore-assembled-example-patient.json")
    patient = screening.load_patient(path)
    (bad,) = [u for u in patient.unmapped if u.resource == "DiagnosticReport/cbc"]
    assert "text.div" in bad.reason and bad.reason.startswith("not a valid FHIR R4 DiagnosticReport")
    assert len(patient.observations) > 100
    out = run_cli("convert", str(path), "--strict")
    assert out.returncode == 2 and "DiagnosticReport/cbc" in out.stderr and "text.div" in out.stderr


def test_an_invalid_observation_a_criterion_reads_is_named_in_its_unknown_reason():
    # the SARS-CoV-2 RNA panel of f001-sars-cov-2-panel, with an impossible date: not mapped, and the RT-PCR
    # criterion names it (not only the result's unmapped list)
    r = screen(variant("f001-sars-cov-2-panel-invalid-date"), "NCT04348461", "2013-04-06")
    assert "Observation/sars-cov-2-pcr" in [u.resource for u in r.unmapped]
    c = crit(r, "inc-3")
    assert c.status.value == "unknown" and c.missing == ["sars_cov2_pcr"]
    assert "Observation/sars-cov-2-pcr (SARS-CoV-2 (COVID-19) RNA panel" in c.reason
    assert "could not be read: not a valid FHIR R4 Observation: effectiveDateTime" in c.reason
    # the criteria that do not read it are decided as before
    assert status(r, "inc-2") == "pass"


def test_an_unreadable_observation_that_could_be_the_newest_keeps_the_value_unknown(tmp_path):
    # Georgianne's newest HIV rapid test (Positive, 2007-02-16) with an impossible date: the older tests are
    # outside the 3-month window, and the unreadable one could be inside it
    doc = json.loads(real("georgianne").read_text())
    newest = next(e["resource"] for e in doc["entry"] if e["resource"].get("id") == "af2f6f83-5d4f-b57c-5e58-8ac4985fa9ca")
    newest["effectiveDateTime"] = "2007-02-30T03:03:25+00:00"
    path = tmp_path / "georgianne-newest-hiv-test-invalid-date.json"
    path.write_text(json.dumps(doc))
    c = crit(screen(path, "NCT01056471", "2007-02-17"), "exc-6a")
    assert c.status.value == "unknown"
    assert "Observation/af2f6f83-5d4f-b57c-5e58-8ac4985fa9ca (HIV RAPID TEST, QUALITATIVE) could not be read" in c.reason


# ------------------------------------------------------------------ Conditions


def test_a_condition_without_clinical_status_is_a_diagnosis():
    path = variant("f001-nsclc-no-clinicalstatus")
    # a history of malignancy: recorded, whatever its status now
    r = screen(path, "NCT01056471", "2013-04-06")
    assert status(r, "exc-7") == "fail" and "Condition/f002" in crit(r, "exc-7").reason
    # active tumour disease: the record does not say whether it is still active
    r = screen(path, "NCT04348461", "2013-04-06")
    assert status(r, "exc-6") == "unknown" and "Condition/f002" in crit(r, "exc-6").reason


def test_the_original_active_nsclc_excludes():
    r = screen(real("hl7r4-assembled-f001-pieter.json"), "NCT04348461", "2013-04-06")
    assert status(r, "exc-6") == "fail" and crit(r, "exc-6").met is True


@pytest.mark.parametrize("verification", ["provisional", "differential", "unconfirmed"])
def test_unconfirmed_kinds_of_verification_make_the_criterion_unknown_naming_the_record(verification):
    path = variant(f"f001-nsclc-{verification}")
    patient = screening.load_patient(path)
    (c,) = [c for c in patient.conditions if c.source == "Condition/f002"]  # kept, never dropped
    assert c.verification == verification
    for tid, cid in (("NCT04348461", "exc-6"), ("NCT01056471", "exc-7")):
        r = screen(path, tid, "2013-04-06")  # conditions declared complete: still not evidence of absence
        assert status(r, cid) == "unknown", (tid, cid)
        assert "Condition/f002" in crit(r, cid).reason and f"{verification} diagnosis" in crit(r, cid).reason


@pytest.mark.parametrize("clinical", ["recurrence", "relapse"])
def test_recurrence_and_relapse_are_active(clinical):
    r = screen(variant(f"f001-nsclc-{clinical}"), "NCT04348461", "2013-04-06")
    assert status(r, "exc-6") == "fail" and clinical in crit(r, "exc-6").reason


def test_onset_and_abatement_ages_convert_with_the_birth_date_to_a_year_of_age():
    patient = screening.load_patient(real("hl7r4-assembled-f201-roel.json"))  # born 1960-03-13
    (cancer,) = [c for c in patient.conditions if c.source == "Condition/f202"]
    # onset at age 52: from the 52nd birthday to the date it was recorded (2012-12-01), never one day of it;
    # abatement at 54: from the 54th birthday to the day before the 55th
    assert (cancer.onset, cancer.onset_earliest, cancer.onset_latest, cancer.onset_text) == (
        None, dt.date(2012, 3, 13), dt.date(2012, 12, 1), "at age 52, recorded 2012-12-01")
    assert (cancer.abatement, cancer.abatement_earliest, cancer.abatement_latest, cancer.abatement_text) == (
        None, dt.date(2014, 3, 13), dt.date(2015, 3, 12), "at age 54")


def test_a_year_of_age_decides_a_window_only_when_all_of_it_is_on_one_side():
    roel = real("hl7r4-assembled-f201-roel.json")
    onset = "onset at age 52, recorded 2012-12-01 (between 2012-03-13 and 2012-12-01)"
    abated = "abated at age 54 (between 2014-03-13 and 2015-03-12)"
    # the 3 years from 2014-09-01: the malignancy may have abated before them or inside them
    c = crit(screen(roel, str(RULES), "2017-09-01"), "exc-malignancy-3-years")
    assert c.status.value == "unknown" and abated in c.reason and "Condition/f202" in c.reason
    assert status(screen(roel, str(RULES), "2016-01-01"), "exc-malignancy-3-years") == "fail"
    # the 12 months from 2012-06-01: it may have begun before them or inside them
    c = crit(screen(roel, str(RULES), "2013-06-01"), "exc-malignancy-began-12-months")
    assert c.status.value == "unknown" and onset in c.reason
    c = crit(screen(roel, str(RULES), "2016-01-01"), "exc-malignancy-began-12-months")
    assert c.status.value == "pass" and "latest onset no later than 2012-12-01 (Malignant neoplastic disease)" in c.reason
    # screened on the day it was recorded: all of age 52 up to then lies in the 12 months
    assert status(screen(roel, str(RULES), "2012-12-01"), "exc-malignancy-began-12-months") == "fail"


# ------------------------------------------------------------------ Medication orders


def _alemtuzumab(path: Path, as_of: str):
    return crit(screen(path, str(RULES), as_of, complete={"medications"}), "exc-alemtuzumab-ever")


def test_authored_on_is_the_earliest_start_of_an_order():
    patient = screening.load_patient(real("hl7r4-assembled-pat1-medications.json"))
    (order,) = [m for m in patient.medications if m.source == "MedicationRequest/medrx0317"]
    assert order.start == dt.date(2015, 1, 15)


def test_an_order_authored_after_the_screening_date_is_not_seen():
    c = _alemtuzumab(real("hl7r4-assembled-pat1-medications.json"), "2015-01-14")
    # not excluded by the order of 2015-01-15; unknown, not pass, because other records of the complete
    # medication list ('Little Pink Pill for water retention') cannot be placed (the fail-safe rule)
    assert c.status == "unknown" and "Little Pink Pill" in c.reason
    assert not any("medrx0317" in (e.source or "") for e in c.evidence)
    assert not any("medrx0317" in (u.source or "") for u in c.unrecognised)
    c = _alemtuzumab(real("hl7r4-assembled-pat1-medications.json"), "2015-02-01")
    assert c.status == "fail"


def test_an_order_entered_in_error_is_no_record():
    patient = screening.load_patient(variant("pat1-alemtuzumab-order-entered-in-error"))
    assert not [m for m in patient.medications if m.source == "MedicationRequest/medrx0317"]
    (note,) = [u for u in patient.unmapped if u.resource == "MedicationRequest/medrx0317"]
    assert "entered-in-error" in note.reason


def test_a_cancelled_order_is_no_exposure_and_says_so():
    patient = screening.load_patient(variant("pat1-alemtuzumab-order-cancelled"))
    (note,) = [u for u in patient.unmapped if u.resource == "MedicationRequest/medrx0317"]
    assert "cancelled" in note.reason and "before any" in note.reason


def test_a_draft_order_is_a_plan_not_an_exposure():
    patient = screening.load_patient(variant("pat1-alemtuzumab-order-draft"))
    (order,) = [m for m in patient.medications if m.source == "MedicationRequest/medrx0317"]
    assert order.status == "intended"


def test_an_order_of_unknown_status_is_no_evidence_of_absence():
    path = variant("pat1-alemtuzumab-order-unknown")
    patient = screening.load_patient(path)
    (order,) = [m for m in patient.medications if m.source == "MedicationRequest/medrx0317"]
    assert order.status == "unknown"
    # without the administrations of alemtuzumab the same chart has only the order of unknown status
    data = patient.model_dump(mode="json")
    data["medications"] = [m for m in data["medications"] if m["source"] == "MedicationRequest/medrx0317"
                           or "alemtuzumab" not in (m.get("name") or "").lower()]
    only = screening.screen(data, trial(str(RULES)), as_of="2015-02-01", complete={"medications"})
    c = crit(only, "exc-alemtuzumab-ever")
    assert str(c.status) == "unknown"
    assert "MedicationRequest/medrx0317" in c.reason and "status unknown" in c.reason


# ------------------------------------------------------------------ Patients


@pytest.mark.parametrize("path,as_of", [(real("fletcher"), "1996-09-07"), (variant("f001-deceased"), "2013-04-06")],
                         ids=["synthea-deceasedDateTime", "r4-deceasedDateTime"])
def test_a_deceased_patient_is_not_screened_as_alive(path, as_of):
    for tid in TRIALS:
        r = screen(path, tid, as_of)
        assert str(r.verdict) == "ineligible" and "deceased" in r.summary


def test_a_patient_screened_before_death_is_screened_as_alive():
    r = screen(real("fletcher"), "NCT04348461", "1995-12-01")
    assert "deceased" not in r.summary
    assert status(r, "exc-6") == "fail"  # prostate and lung cancer, active


@pytest.mark.parametrize("path,sex", [(variant("f001-birthsex-only"), "male"),
                                      (REAL / "uscore-assembled-example-patient.json", "female")],
                         ids=["birthsex", "individual-sex"])
def test_us_core_sex_extensions_where_gender_is_absent(path, sex):
    assert screening.load_patient(path).sex == sex


# ------------------------------------------------------------------ Observations


def test_issued_dates_an_observation_without_effective_time():
    patient = screening.load_patient(real("hl7r4-assembled-f201-roel.json"))
    (o,) = [o for o in patient.observations if o.source == "Observation/f203"]
    assert o.date == dt.date(2013, 4, 4)


def test_the_reference_range_is_kept_with_the_value():
    patient = screening.load_patient(real("hl7r4-assembled-f001-pieter.json"))
    found = [o for o in patient.observations if getattr(o, "reference_range", None)]
    assert found
    rr = found[0].reference_range
    assert rr.low is not None or rr.high is not None


# ------------------------------------------------------------------ Consent


def test_active_research_consent_naming_the_trial_answers_its_consent_criterion():
    r = screen(variant("f001-consent-active"), "NCT04348461", "2013-04-06")
    assert status(r, "inc-7") == "pass" and "Consent/consent-active" in crit(r, "inc-7").reason


def test_rejected_research_consent_is_a_refusal():
    r = screen(variant("f001-consent-rejected"), "NCT04348461", "2013-04-06")
    assert status(r, "inc-7") == "fail"


# ------------------------------------------------------------------ Codes


def test_who_icd10_codes_match_icd10_classes():
    path = variant("f001-nsclc-who-icd10")  # coded only as C34.9, named 'Bronchus or lung, unspecified'
    (c,) = [c for c in screening.load_patient(path).conditions if c.source == "Condition/f002"]
    assert c.code == "icd10who:C34.9"  # WHO ICD-10 keeps its edition
    r = screen(path, "NCT04348461", "2013-04-06")
    assert status(r, "exc-6") == "fail" and crit(r, "exc-6").evidence[0].source == "Condition/f002"


def test_snomed_written_as_its_oid():
    patient = screening.load_patient(variant("f001-nsclc-snomed-oid"))
    (c,) = [c for c in patient.conditions if c.source == "Condition/f002"]
    assert c.code == "snomed:254637007"


def test_the_sars_cov_2_rna_panel_real_exports_write_confirms_infection():
    r = screen(variant("f001-sars-cov-2-panel"), "NCT04348461", "2013-04-05")
    assert status(r, "inc-3") == "pass" and status(r, "exc-2") == "pass"


def test_an_antigen_test_is_not_an_rt_pcr():
    r = screen(REAL / "uscore-assembled-example-patient.json", "NCT04348461", "2021-07-01")
    assert status(r, "inc-3") == "unknown"


# ------------------------------------------------------------------ what a coordinator sees in these charts


def test_a_positive_hiv_rapid_test_excludes():
    r = screen(real("georgianne"), "NCT01056471", "2007-02-17")
    assert status(r, "exc-6a") == "fail" and crit(r, "exc-6a").met is True


def test_an_active_pregnancy_condition_is_a_record_of_pregnancy():
    r = screen(real("addie"), "NCT04348461", "2020-10-01")  # 'Normal pregnancy' 2020-05-04 to 2020-12-14
    assert status(r, "exc-5a") == "fail"
    r = screen(real("addie"), "Phase-II-Lupus-MSC", "2020-10-01")
    assert status(r, "exc-4b") == "fail"


def test_a_pregnancy_status_observation_excludes():
    r = screen(REAL / "uscore-assembled-example-patient.json", "NCT04348461", "2022-09-01")
    assert status(r, "exc-5a") == "fail"


def test_a_young_woman_without_menopause_or_sterilisation_is_of_childbearing_potential():
    # every condition and procedure of Addie's complete lists is placed by the vocabularies (her prenatal tests,
    # the delivery and episiotomy, a contraceptive implant removed, a history of appendectomy), and none is a
    # menopause or a sterilisation: she is of childbearing potential, and the contraception criterion applies
    r = screen(real("addie"), "NCT04348461", "2021-01-26")
    assert "not known whether it applies" not in crit(r, "exc-5c").reason
    assert crit(r, "exc-5c").applicable is True
    assert crit(r, "exc-5c").reason == "no record of uses effective contraception"  # which decides it: asked


def test_one_unplaced_procedure_keeps_childbearing_potential_undecided(tmp_path):
    # the same chart with one procedure renamed and recoded to something no vocabulary knows: it could be a
    # sterilisation, so whether the contraception criterion applies stays unknown, naming it
    doc = json.loads(real("addie").read_text())
    proc = next(e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Procedure")
    proc["code"] = {"coding": [{"system": "http://snomed.info/sct", "code": "999999999"}], "text": "Procedure X"}
    path = tmp_path / "addie-one-unplaced-procedure.json"
    path.write_text(json.dumps(doc))
    c = crit(screen(path, "NCT04348461", "2021-01-26"), "exc-5c")
    assert c.applicable is None and "not known whether it applies" in c.reason and "Procedure X" in c.reason


def test_chronic_kidney_disease_is_read():
    patient = screening.load_patient(real("josue"))
    ckd = [c for c in patient.conditions if c.code == "snomed:431856006"]
    assert ckd and ckd[0].status == "active" and ckd[0].onset == dt.date(2020, 5, 16)


# ------------------------------------------------------------------ condition qualifiers asked by a rule


def test_severity_and_note_are_read_from_conditions():
    roel = {c.source: c for c in screening.load_patient(real("hl7r4-assembled-f201-roel.json")).conditions}
    assert roel["Condition/f203"].severity == "moderate to severe"  # SNOMED CT 371924009
    assert roel["Condition/f201"].severity == "mild"
    assert roel["Condition/f204"].note == "The patient is anuric."
    pieter = {c.source: c for c in screening.load_patient(real("hl7r4-assembled-f001-pieter.json")).conditions}
    assert pieter["Condition/f002"].severity == "severe" and pieter["Condition/f003"].severity == "mild to moderate"


def test_a_rule_asking_for_a_recurrence_reads_the_clinical_status():
    for name, expected in (("f001-nsclc-recurrence", "fail"), ("f001-nsclc-relapse", "fail")):
        c = crit(screen(variant(name), str(RULES), "2013-04-06"), "exc-lung-cancer-recurrence")
        assert c.status.value == expected and "Condition/f002" in c.reason, name
    # charted only 'active': a recurrence is active too, so it cannot be told apart
    c = crit(screen(real("hl7r4-assembled-f001-pieter.json"), str(RULES), "2013-04-06"), "exc-lung-cancer-recurrence")
    assert c.status.value == "unknown" and "clinical status active: cannot tell whether recurrence/relapse" in c.reason


def test_a_rule_asking_for_a_severity_reads_it_and_a_span_that_reaches_past_it_is_unknown():
    r = screen(real("hl7r4-assembled-f201-roel.json"), str(RULES), "2013-04-06")
    severe = crit(r, "exc-severe-sepsis")  # 'moderate to severe' sepsis: severe or not, the chart does not say
    assert severe.status.value == "unknown" and "severity moderate to severe: cannot tell whether severe" in severe.reason
    assert status(r, "exc-sepsis-moderate-or-worse") == "fail"


def test_a_rule_asking_for_note_words_reads_the_note(tmp_path):
    roel = real("hl7r4-assembled-f201-roel.json")
    # 'Acute renal insufficiency' (Condition/f204, note 'The patient is anuric.') is a differential diagnosis:
    # no evidence either way, whatever its note says
    c = crit(screen(roel, str(RULES), "2013-04-06"), "exc-anuric-renal-failure")
    assert c.status.value == "unknown" and "differential diagnosis" in c.reason and "note" not in c.reason
    # confirmed (one field changed): the note says anuric
    doc = json.loads(roel.read_text())
    f204 = next(e["resource"] for e in doc["entry"] if e["resource"].get("id") == "f204")
    f204["verificationStatus"]["coding"][0]["code"] = "confirmed"
    path = tmp_path / "f201-renal-insufficiency-confirmed.json"
    path.write_text(json.dumps(doc))
    c = crit(screen(path, str(RULES), "2013-04-06"), "exc-anuric-renal-failure")
    assert c.status.value == "fail" and "Condition/f204" in c.reason
    # and without its note (one more field): the chart does not say, never a no
    del f204["note"]
    path.write_text(json.dumps(doc))
    c = crit(screen(path, str(RULES), "2013-04-06"), "exc-anuric-renal-failure")
    assert c.status.value == "unknown" and "no note 'anuric / anuria'" in c.reason


# ------------------------------------------------------------------ acute events dated by their onset


def test_a_stroke_of_years_ago_that_synthea_keeps_active_is_no_stroke_within_12_months():
    """Synthea keeps a stroke on the problem list as active for ever (Josue Sipes: Stroke, SNOMED 230690007,
    onset 2019-01-26, clinicalStatus active). NCT05181449 exc-5 asks for one within the prior 12 months: when
    it began decides, not that it is still charted; read as an episode overlapping the window it excluded him."""
    t = str(CRITERIA / "NCT05181449.yaml")
    stroke = "Stroke (active) onset 2019-01-26 [Condition/9fc0c104-7879-48a4-bc81-9071e1b16716]"
    c = crit(screen(real("josue"), t, "2021-06-01"), "exc-5")
    assert c.status.value == "pass", c.reason  # not excluded
    assert "since 2020-06-01" in c.reason and "latest onset 2019-01-26 (Stroke)" in c.reason and stroke in c.reason
    # conditions not declared complete: a stroke of the last 12 months may be missing from the chart
    c = crit(screen(real("josue"), t, "2021-06-01", complete=set()), "exc-5")
    assert c.status.value == "unknown" and "conditions not declared complete" in c.reason
    # screened within 12 months of it: excluded, complete or not
    for complete in (ALL_PARTS, set()):
        c = crit(screen(real("josue"), t, "2019-06-01", complete=complete), "exc-5")
        assert c.status.value == "fail" and stroke in c.reason and "since 2018-06-01" in c.reason


def test_an_undated_record_the_vocabularies_cannot_place_keeps_an_old_active_stroke_undecided():
    """The HL7 example patient: Stroke onset 2010-07-18 still active, and 'Family history of cancer of colon'
    charted as his own condition with no onset date, which no vocabulary places: conditions declared complete
    are not understood, so that record could be an event of the last 12 months and is asked about."""
    t = str(CRITERIA / "NCT05181449.yaml")
    c = crit(screen(real("hl7r4-assembled-example-patient.json"), t, "2026-12-01"), "exc-5")
    assert c.status.value == "unknown"
    assert "latest onset 2010-07-18 (Stroke)" in c.reason
    assert [u.source for u in c.unrecognised] == ["Condition/family-history"]
