"""Funnel counts agree with the per-criterion results; the generator is reproducible and realistic."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import screening
from screening.batch.run import run_batch
from screening.report.funnel import Funnel
from screening.tools.synth import synth_patient, synth_patients, write_synth

from .conftest import AS_OF, read_lines

CRITERIA = Path(__file__).resolve().parents[2] / "criteria"


def test_funnel_counts_match_per_criterion_results(tmp_path, trials, patients_file):
    summary = run_batch(patients_file, trials, tmp_path / "out", AS_OF, workers=2)
    results = read_lines(tmp_path / "out" / "results.ndjson")
    for trial, funnel in zip(trials, summary.funnels):
        mine = [r for r in results if r["trial"] == trial.id]
        with open(tmp_path / "out" / f"funnel-{trial.id}.csv", newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert rows[0]["criterion"] == "(screened)" and int(rows[0]["remaining"]) == len(mine) == 60
        ids = [c.criterion.id for c in trial.criteria]
        assert [r["criterion"] for r in rows[1:]] == ids
        for k, (row, cid) in enumerate(zip(rows[1:], ids)):
            statuses = [r["criteria"][k]["status"] for r in mine]
            assert [int(row[s]) for s in ("pass", "fail", "unknown")] == [
                statuses.count("pass"), statuses.count("fail"), statuses.count("unknown")]
            upto = [[c["status"] for c in r["criteria"][:k + 1]] for r in mine]
            assert int(row["remaining"]) == sum("fail" not in s for s in upto)
            assert int(row["all_passed"]) == sum(all(x == "pass" for x in s) for s in upto)
        last = [r for r in rows][-1]
        verdicts = [r["verdict"] for r in mine]
        assert int(last["remaining"]) == verdicts.count("eligible") + verdicts.count("undetermined")
        assert funnel.verdicts == {v: verdicts.count(v) for v in ("eligible", "ineligible", "undetermined")}


def test_funnel_by_hand():
    f = Funnel("T", [("a", "inclusion", "A"), ("b", "exclusion", "B"), ("c", "inclusion", "C")])
    for letters, verdict in [("ppp", "eligible"), ("pfp", "ineligible"), ("upf", "ineligible"), ("puu", "undetermined")]:
        f.add(letters, verdict)
    rows = f.rows()
    assert [(r["pass"], r["fail"], r["unknown"], r["remaining"], r["all_passed"]) for r in rows[1:]] == [
        (3, 0, 1, 4, 3), (2, 1, 1, 3, 1), (2, 1, 1, 2, 1)]
    g = Funnel("T", f.criteria)
    g.restore(json.loads(json.dumps(f.state())))
    assert g.rows() == rows
    with pytest.raises(ValueError):
        f.add("pp", "eligible")


def test_generator_is_reproducible_for_a_seed(tmp_path):
    a = list(synth_patients(30, seed=4, as_of=AS_OF))
    assert a == list(synth_patients(30, seed=4, as_of=AS_OF))
    assert a != list(synth_patients(30, seed=5, as_of=AS_OF))
    assert a[10:] == list(synth_patients(20, seed=4, as_of=AS_OF, start=10))  # patient i depends on (seed, i) only
    assert synth_patient(7, 4, AS_OF) == a[7]
    write_synth(tmp_path / "a.ndjson", 30, 4, AS_OF)
    assert [json.loads(line) for line in (tmp_path / "a.ndjson").read_text().splitlines()] == a


def test_generated_profiles_are_valid_and_varied():
    profiles = [screening.parse_patient(p) for p in synth_patients(400, seed=9, as_of=AS_OF)]
    assert len({p.id for p in profiles}) == 400
    units = {(o.code, o.unit) for p in profiles for o in p.observations}
    assert {("loinc:2890-5", "mg/mmol"), ("loinc:2890-5", "mg/mg"), ("loinc:2703-7", "kPa"),
            ("loinc:3150-0", "%"), ("loinc:29463-7", "lb"), ("loinc:29463-7", "kg")} <= units
    assert any(o.value == "1:160" for p in profiles for o in p.observations)
    ages = {(AS_OF.year - p.birth_date.year - ((AS_OF.month, AS_OF.day) < (p.birth_date.month, p.birth_date.day)))
            for p in profiles if p.birth_date}
    assert {17, 18, 75, 76} <= ages
    assert any(p.birth_date is None for p in profiles) and any(p.sex is None for p in profiles)
    assert any(m.start is None for p in profiles for m in p.medications)
    assert all(r.date <= AS_OF for p in profiles for r in p.observations)


# NCT06388018 reads pathology (FIGO stage, grade, pN, LVI, POLE) and a sub-study the generator does not make
NOT_SYNTHESISED = {"NCT06388018"}


@pytest.mark.parametrize("rule_file", [f for f in sorted(CRITERIA.glob("*.yaml")) if f.stem not in NOT_SYNTHESISED],
                         ids=lambda p: p.stem)
def test_generated_profiles_exercise_the_seed_trials(rule_file):
    """Every data item a seed trial reads gets a decided value for some synthetic patients."""
    trial = screening.load_criteria(rule_file)
    funnel = Funnel.for_trial(trial)
    for p in synth_patients(300, seed=1, as_of=AS_OF):
        funnel.add_result(screening.screen(screening.parse_patient(p), trial, AS_OF))
    decided = sum(1 for i, _ in enumerate(funnel.criteria) if funnel.counts["u"][i] < funnel.screened)
    assert decided >= len(funnel.criteria) // 2, funnel.rows()


def test_funnel_counts_patients_awaiting_only_a_confirmation(tmp_path):
    trial = screening.load_criteria(CRITERIA / "Phase-II-Lupus-MSC.yaml")
    examples = Path(__file__).resolve().parents[2] / "examples" / "Phase-II-Lupus-MSC"
    src = tmp_path / "in.ndjson"
    names = ["pending-confirmation.json", "eligible.json", "undetermined-stale-upcr.json"]
    src.write_text("".join(json.dumps(json.loads((examples / n).read_text())) + "\n" for n in names))
    summary = run_batch(src, [trial], tmp_path / "out", AS_OF, workers=1, complete=())
    (funnel,) = summary.funnels
    results = [screening.screen(screening.load_patient(examples / n), trial, AS_OF) for n in names]
    expected = sum(1 for r in results if r.unknown and r.unknown == r.pending_confirmation)
    assert expected == 1  # the pending-confirmation example, and only it
    assert funnel.pending == expected
    assert funnel.verdicts["undetermined"] == sum(r.verdict.value == "undetermined" for r in results)
    assert "1 of them awaiting only a person's confirmation" in str(funnel.table().caption)


def test_a_deceased_patient_awaiting_only_a_confirmation_is_counted_ineligible():
    from screening.report.funnel import verdict_key

    trial = screening.load_criteria(CRITERIA / "Phase-II-Lupus-MSC.yaml")
    examples = Path(__file__).resolve().parents[2] / "examples" / "Phase-II-Lupus-MSC"
    data = json.loads((examples / "pending-confirmation.json").read_text())
    result = screening.screen({**data, "deceased": True, "deceased_date": "2026-01-01"}, trial, AS_OF)
    assert result.unknown and result.unknown == result.pending_confirmation and not result.failed
    assert result.verdict.value == "ineligible"
    assert verdict_key(result) == "ineligible"  # never 'awaiting a confirmation': the verdict is not the criteria's
    funnel = Funnel.for_trial(trial)
    funnel.add_result(result)
    assert (funnel.verdicts["ineligible"], funnel.pending) == (1, 0)
