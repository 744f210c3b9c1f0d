"""Batch runs on small synthetic sets: outputs match per-patient screening, bad records are reported."""

from __future__ import annotations

import csv
import json

import pytest

import screening
from screening.batch.run import BatchError, run_batch
from screening.tools.synth import synth_patients

from .conftest import AS_OF, outputs, read_lines, write_ndjson


def test_results_equal_per_patient_screen(tmp_path, trials, patients_file):
    summary = run_batch(patients_file, trials, tmp_path / "out", AS_OF, workers=2)
    profiles = list(synth_patients(60, seed=11, as_of=AS_OF))
    expected = [screening.screen(screening.parse_patient(p), t, AS_OF).model_dump(mode="json")
                for p in profiles for t in trials]
    assert read_lines(tmp_path / "out" / "results.ndjson") == expected
    assert (summary.records, summary.patients, summary.results, summary.errors) == (60, 60, 120, 0)

    with open(tmp_path / "out" / "summary.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["patient"] for r in rows] == [e["patient"] for e in expected]
    assert [(r["trial"], r["verdict"], r["failed"], r["unknown"]) for r in rows] == [
        (e["trial"], e["verdict"], ";".join(e["failed"]), ";".join(e["unknown"])) for e in expected]
    assert (tmp_path / "out" / "errors.ndjson").read_text() == ""
    assert not list((tmp_path / "out").glob("*.partial"))


def test_pool_and_in_process_give_identical_files(tmp_path, trials, patients_file):
    run_batch(patients_file, trials, tmp_path / "one", AS_OF, workers=1)
    run_batch(patients_file, trials, tmp_path / "two", AS_OF, workers=2, chunk_size=7)
    assert outputs(tmp_path / "one") == outputs(tmp_path / "two")
    assert sorted(outputs(tmp_path / "one")) == [
        "errors.ndjson", "funnel-MINI-COVID.csv", "funnel-MINI-LUPUS.csv", "results.ndjson", "summary.csv"]


def test_complete_option_reaches_every_screen(tmp_path, trials, patients_file):
    run_batch(patients_file, trials[:1], tmp_path / "out", AS_OF, complete=["medications"], workers=1)
    results = read_lines(tmp_path / "out" / "results.ndjson")
    assert all("medications" in r["complete"] for r in results)
    p = screening.parse_patient(next(synth_patients(1, seed=11, as_of=AS_OF)))
    assert results[0] == screening.screen(p, trials[0], AS_OF, complete=["medications"]).model_dump(mode="json")


def test_bad_records_are_reported_with_line_numbers_and_the_rest_screened(tmp_path, trials):
    good = list(synth_patients(5, seed=3, as_of=AS_OF))
    lines = [json.dumps(good[0]), "{not json", json.dumps(good[1]), "", json.dumps({"id": "x", "sex": "robot"}),
             "[1, 2]", json.dumps(good[2]), json.dumps({"id": "y", "observations": [{"code": "loinc:1", "value": 1}]}),
             json.dumps(good[3]), "   ", json.dumps(good[4])]
    src = tmp_path / "mixed.ndjson"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = run_batch(src, trials, tmp_path / "out", AS_OF, workers=2, chunk_size=2)
    assert (summary.records, summary.patients, summary.errors) == (9, 5, 4)
    errors = read_lines(tmp_path / "out" / "errors.ndjson")
    assert [(e["line"], e["file"]) for e in errors] == [(2, str(src)), (5, str(src)), (6, str(src)), (8, str(src))]
    assert errors[0]["column"] == 2 and errors[0]["message"].startswith("invalid JSON")
    assert errors[1]["message"].startswith("sex: Input should be")
    assert errors[2]["message"] == "a patient profile must be a JSON object"
    assert errors[3]["message"] == "observations[0].date: missing required field"
    # located in the line: the observation that lacks its date starts at column 30
    assert errors[3]["problems"] == [f"{src}:8:30: error: observations[0].date: missing required field"]
    screened = [r["patient"] for r in read_lines(tmp_path / "out" / "results.ndjson")]
    assert screened == [p["id"] for p in good for _ in trials]


def test_directory_of_json_files(tmp_path, trials):
    folder = tmp_path / "in"
    folder.mkdir()
    profiles = list(synth_patients(4, seed=5, as_of=AS_OF))
    for i, p in enumerate(profiles):
        (folder / f"p{i}.json").write_text(json.dumps(p, indent=1), encoding="utf-8")
    (folder / "p2-broken.json").write_text('{\n  "id": "z",\n  "sex": \n}\n', encoding="utf-8")
    (folder / "notes.txt").write_text("not a profile", encoding="utf-8")
    summary = run_batch(folder, trials, tmp_path / "out", AS_OF, workers=1)
    assert (summary.records, summary.patients, summary.errors) == (5, 4, 1)
    [error] = read_lines(tmp_path / "out" / "errors.ndjson")
    assert error["file"] == str(folder / "p2-broken.json")
    assert (error["line"], error["column"]) == (4, 1)
    results = read_lines(tmp_path / "out" / "results.ndjson")
    assert [r["patient"] for r in results[::2]] == [p["id"] for p in profiles]  # p0, p1, p2, p3 (sorted names)


def test_files_from_windows_tools_and_located_schema_errors(tmp_path, trials):
    """A UTF-8 byte-order mark is read, in a folder's files and on NDJSON lines; a bad value is located."""
    profiles = list(synth_patients(3, seed=4, as_of=AS_OF))
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(profiles[0], indent=2).encode())
    bad = dict(profiles[1], birth_date="1980-13-01")
    (folder / "b.json").write_text(json.dumps(bad, indent=2), encoding="utf-8")
    summary = run_batch(folder, trials[:1], tmp_path / "out", AS_OF, workers=1)
    assert (summary.patients, summary.errors) == (1, 1)
    [error] = read_lines(tmp_path / "out" / "errors.ndjson")
    text = (folder / "b.json").read_text(encoding="utf-8")
    line = text[:text.index("1980-13-01")].count("\n") + 1
    assert (error["file"], error["line"], error["column"]) == (str(folder / "b.json"), line, 17)  # '  "birth_date": '
    assert error["message"].startswith("birth_date: ")

    src = tmp_path / "bom.ndjson"
    src.write_bytes(b"".join(b"\xef\xbb\xbf" + json.dumps(p).encode() + b"\n" for p in profiles))
    summary = run_batch(src, trials[:1], tmp_path / "out2", AS_OF, workers=1)
    assert (summary.patients, summary.errors) == (3, 0)


def test_standard_input(tmp_path, trials, monkeypatch):
    import io
    import sys

    data = "".join(json.dumps(p) + "\n" for p in synth_patients(3, seed=2, as_of=AS_OF))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data.encode())))
    summary = run_batch("-", trials, tmp_path / "out", AS_OF, workers=1)
    assert (summary.records, summary.patients) == (3, 3)


def test_missing_input_and_clashing_trials_are_errors(tmp_path, trials):
    with pytest.raises(BatchError, match="no such file"):
        run_batch(tmp_path / "nope.ndjson", trials, tmp_path / "out", AS_OF, workers=1)
    src = write_ndjson(tmp_path / "p.ndjson", synth_patients(1, seed=1, as_of=AS_OF))
    with pytest.raises(BatchError, match="MINI-LUPUS"):
        run_batch(src, [trials[0], trials[0]], tmp_path / "out", AS_OF, workers=1)


def _fhir_bundle(pid: str, ana: str) -> dict:
    return {"resourceType": "Bundle", "id": f"b-{pid}", "type": "collection", "entry": [
        {"fullUrl": f"urn:uuid:patient-{pid}", "resource": {
            "resourceType": "Patient", "id": pid, "birthDate": "1980-02-03", "gender": "female"}},
        {"fullUrl": f"urn:uuid:obs-{pid}", "resource": {
            "resourceType": "Observation", "id": f"ana-{pid}", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "5048-4"}]},
            "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": "2026-10-01", "valueString": ana}}]}


def test_fhir_bundles_among_native_profiles(tmp_path, trials):
    pytest.importorskip("screening.sources.fhir")
    native = list(synth_patients(2, seed=6, as_of=AS_OF))
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(native[0]))
    (folder / "b.json").write_text(json.dumps(_fhir_bundle("f-1", "1:320")))
    (folder / "c.json").write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": "nope"}))
    summary = run_batch(folder, trials[:1], tmp_path / "out", AS_OF, workers=1)
    assert (summary.patients, summary.errors) == (2, 1)
    results = read_lines(tmp_path / "out" / "results.ndjson")
    expected = screening.screen(screening.load_patient(folder / "b.json"), trials[0], AS_OF).model_dump(mode="json")
    assert results[1] == expected and results[1]["patient"] == "f-1"
    assert next(c for c in results[1]["criteria"] if c["id"] == "serology")["status"] == "pass"
    [error] = read_lines(tmp_path / "out" / "errors.ndjson")
    assert error["file"] == str(folder / "c.json")

    lines = write_ndjson(tmp_path / "mixed.ndjson", [native[1], _fhir_bundle("f-2", "1:40")], ["{}"])
    run_batch(lines, trials[:1], tmp_path / "out2", AS_OF, workers=1)
    assert [r["patient"] for r in read_lines(tmp_path / "out2" / "results.ndjson")] == [native[1]["id"], "f-2"]
    [error] = read_lines(tmp_path / "out2" / "errors.ndjson")
    assert error["line"] == 3 and error["message"] == "id: missing required field"
