"""OHDSI's Synthea27Nj sample read as patients: real values mapped, every person screened."""

from __future__ import annotations

import csv
import datetime as dt
import shutil

import pytest

from screening import screen
from screening.sources.omop import OmopError, OmopSource, open_database

from .conftest import AS_OF


def _profiles(path, **kw):
    with OmopSource.open(str(path), as_of=AS_OF, **kw) as src:
        return [(p, loc) for p, loc in src]


def _without_sources(p):
    """A profile's content, without the source strings (the Parquet export typed source codes as
    numbers and wrote them back as text such as '65363002.0')."""
    d = p.model_dump(mode="json")
    for key in ("observations", "conditions", "medications", "procedures", "immunizations", "facts"):
        for r in d[key]:
            r.pop("source", None)
    return d


@pytest.fixture(scope="module")
def csv_people(synthea_csv):
    return _profiles(synthea_csv)


@pytest.fixture(scope="module")
def parquet_people(synthea_parquet):
    return _profiles(synthea_parquet)


def test_every_person_is_read_with_a_location(csv_people, synthea_csv):
    assert len(csv_people) == 28
    assert [loc for _, loc in csv_people][:2] == [f"{synthea_csv}#person/1", f"{synthea_csv}#person/2"]
    ids = [p.id for p, _ in csv_people]
    assert ids[0] == "1007c05b-8d20-8fe6-6790-44622f8316df"  # person_source_value
    assert len(set(ids)) == 28


def test_csv_and_parquet_give_the_same_profiles(csv_people, parquet_people):
    assert len(parquet_people) == 28
    for (a, _), (b, _) in zip(csv_people, parquet_people):
        assert _without_sources(a) == _without_sources(b)


def test_every_person_screens_against_the_seed_trials(csv_people, parquet_people, seed_trials):
    verdicts = set()
    for (a, _), (b, _) in zip(csv_people, parquet_people):
        for trial in seed_trials:
            ra, rb = screen(a, trial, as_of=AS_OF), screen(b, trial, as_of=AS_OF)
            assert [(c.id, c.status) for c in ra.criteria] == [(c.id, c.status) for c in rb.criteria]
            assert ra.verdict == rb.verdict
            assert ra.unmapped == a.unmapped
            verdicts.add(ra.verdict.value)
    assert "ineligible" in verdicts and "undetermined" in verdicts


def test_person_and_death(csv_people):
    people = {loc.rsplit("/", 1)[1]: p for p, loc in csv_people}
    first = people["1"]
    assert (first.sex, first.birth_date) == ("male", dt.date(1998, 4, 9))
    assert people["2"].sex == "female"
    assert (people["7"].deceased, people["7"].deceased_date) == (True, dt.date(2019, 5, 28))  # as Patient.deceased
    assert [pid for pid, p in people.items() if p.deceased] == ["7", "11", "23"]
    dead = [f for f in people["7"].facts if f.name == "deceased"]
    assert len(dead) == 1
    assert (dead[0].code, dead[0].value, dead[0].date) == ("snomed:419099009", True, dt.date(2019, 5, 28))
    assert "snomed:26929004" in dead[0].source and "Alzheimer" in dead[0].source  # the cause of death


def test_covid_condition_and_test_of_a_named_person(csv_people):
    person = next(p for p, loc in csv_people if loc.endswith("#person/19"))
    assert person.id == "b27f9e95-f038-7d7d-8a7f-b1e155dd048b"
    covid = [c for c in person.conditions if c.code == "snomed:840539006"]
    assert len(covid) == 1
    c = covid[0]
    assert (c.name, c.onset, c.abatement, c.status) == ("COVID-19", dt.date(2021, 4, 3), dt.date(2021, 4, 27),
                                                         "resolved")
    assert c.source == "condition_occurrence/307"
    pcr = [o for o in person.observations if o.code == "loinc:94531-1"]
    # value_source_value 'Detected (qualifier value)': the SNOMED semantic tag is dropped
    assert [(o.value, o.date) for o in pcr] == [("Detected", dt.date(2021, 4, 4))]


def test_drug_rxnorm_code_and_dates(csv_people):
    first = next(p for p, loc in csv_people if loc.endswith("#person/1"))
    ibuprofen = next(m for m in first.medications if m.source == "drug_exposure/2")
    assert (ibuprofen.code, ibuprofen.name) == ("rxnorm:198405", "ibuprofen 100 MG Oral Tablet")
    assert (ibuprofen.start, ibuprofen.stop, ibuprofen.status) == (dt.date(2002, 10, 16), dt.date(2002, 10, 30),
                                                                   "completed")


def test_measurement_units_through_ucum(csv_people):
    first = next(p for p, loc in csv_people if loc.endswith("#person/1"))
    weight = next(o for o in first.observations if o.source == "measurement/1")
    assert (weight.code, weight.name, weight.value, weight.unit, weight.date) == (
        "loinc:29463-7", "Body weight", 48.1, "kg", dt.date(2013, 5, 17))
    systolic = [o for o in first.observations if o.code == "loinc:8480-6"]
    assert systolic and {o.unit for o in systolic} == {"mm[Hg]"}
    # unit_concept_id 0: the source unit is kept as written
    pain = [o for o in first.observations if o.code == "loinc:72514-3"]
    assert pain and {o.unit for o in pain} == {"{score}"}


def test_device_is_a_condition_from_its_start(csv_people):
    person = next(p for p, loc in csv_people if loc.endswith("#person/16"))
    device = [c for c in person.conditions if c.source == "device_exposure/1"]
    assert [(c.code, c.name, c.onset, c.status) for c in device] == [
        ("snomed:72506001", "Implantable defibrillator", dt.date(2009, 1, 11), "active")]


def test_rows_without_value_are_reported_not_dropped(csv_people):
    first = next(p for p, loc in csv_people if loc.endswith("#person/1"))
    smoking = [u for u in first.unmapped if "72166-2" in u.reason]
    assert len(smoking) == 1
    assert smoking[0].reason == "LOINC 72166-2 'Tobacco smoking status': no value recorded"
    assert smoking[0].resource.startswith("observation/")
    visits = [u for u in first.unmapped if u.resource == "visit_occurrence"]
    assert len(visits) == 1 and "visits" in visits[0].reason


def test_every_row_is_a_record_or_unmapped(synthea_csv, csv_people):
    """Nothing is dropped silently: rows of each table = records from it + rows named in unmapped."""
    with open(synthea_csv / "MEASUREMENT.csv", newline="") as fh:
        rows = sum(1 for _ in csv.DictReader(fh))
    records = unmapped = 0
    for p, _ in csv_people:
        records += sum(1 for o in p.observations if o.source.startswith("measurement/"))
        for u in p.unmapped:
            if u.resource.startswith("measurement/"):
                unmapped += int(u.resource.split("(")[1].split()[0]) if "(" in u.resource else 1
    assert records + unmapped == rows


def test_completeness_follows_the_observation_period(synthea_csv):
    # person 19: observed 1996-07-10 .. 2022-07-20, born 1979
    def person19(**kw):
        with OmopSource.open(str(synthea_csv), **kw) as src:
            return src.patient(19)

    inside = person19(as_of=AS_OF)
    assert [str(c) for c in inside.complete] == ["conditions", "medications", "procedures", "immunizations"]
    note = [u for u in inside.unmapped if u.resource == "observation_period"]
    assert len(note) == 1 and "events before 1996-07-10" in note[0].reason
    assert person19(as_of=dt.date(2023, 1, 1)).complete == []  # after the period ends
    assert person19(as_of=None).complete == []  # no screening date: nothing to judge by
    assert person19(as_of=AS_OF, completeness="none").complete == []
    assert person19(as_of=AS_OF, completeness="lifetime").complete == []  # observed from 17, not birth
    with OmopSource.open(str(synthea_csv), as_of=AS_OF, completeness="lifetime") as src:
        assert src.patient(2).complete  # observed from birth (2014-10-22)


def test_screen_a_covid_patient(synthea_csv, seed_trials):
    trial = next(t for t in seed_trials if t.file.endswith("NCT04348461.yaml"))
    with OmopSource.open(str(synthea_csv), as_of=AS_OF) as src:
        patient = src.patient("b27f9e95-f038-7d7d-8a7f-b1e155dd048b")  # by person_source_value
    result = screen(patient, trial, as_of=AS_OF)
    by_id = {c.id: c for c in result.criteria}
    assert by_id["inc-4b"].status.value == "pass"
    assert "COVID-19" in by_id["inc-4b"].reason and "condition_occurrence/307" in by_id["inc-4b"].reason
    assert by_id["inc-5b"].status.value == "fail"  # no ARDS, and conditions are complete in the period
    assert "conditions declared complete" in by_id["inc-5b"].reason
    assert result.verdict.value == "ineligible"


def test_ingredient_and_class_codes_from_concept_ancestor(synthea_csv, tmp_path):
    """With concept_ancestor rows (a full vocabulary has them), a clinical drug carries its ingredient's code."""
    copy = tmp_path / "omop"
    shutil.copytree(synthea_csv, copy)
    with open(copy / "CONCEPT_ANCESTOR.csv", "a") as fh:
        # lisinopril (ingredient, rxnorm:29046) over lisinopril 10 MG Oral Tablet (rxnorm:314076)
        fh.write("1308216,19080128,1,1\n")
    with OmopSource.open(str(copy), as_of=AS_OF) as src:
        people = list(src)
    lisinopril = [m for p, _ in people for m in p.medications if m.code == "rxnorm:314076"]
    assert lisinopril
    assert all(m.codes == ["rxnorm:29046"] and m.name == "lisinopril 10 MG Oral Tablet" for m in lisinopril)


def test_person_not_in_the_database(synthea_csv):
    with OmopSource.open(str(synthea_csv), as_of=AS_OF) as src:
        with pytest.raises(OmopError, match="no person 999"):
            src.patient(999)


def test_not_an_omop_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(OmopError, match="no OMOP table files"):
        open_database(tmp_path)


def test_bad_value_in_a_csv_names_the_file(synthea_csv, tmp_path):
    copy = tmp_path / "omop"
    shutil.copytree(synthea_csv, copy)
    text = (copy / "PERSON.csv").read_text().splitlines()
    text[1] = text[1].replace("1998", "nineteen", 1)
    (copy / "PERSON.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(OmopError) as err:
        _profiles(copy)
    assert "PERSON.csv" in str(err.value) and "nineteen" in str(err.value)


def test_a_value_that_is_not_a_number_is_reported(synthea_csv, tmp_path):
    copy = tmp_path / "omop"
    shutil.copytree(synthea_csv, copy)
    lines = (copy / "MEASUREMENT.csv").read_text().splitlines()
    assert lines[1].startswith("1,1,3025315,") and ",48.1," in lines[1]
    lines[1] = lines[1].replace(",48.1,", ",NaN,", 1)
    (copy / "MEASUREMENT.csv").write_text("\n".join(lines) + "\n")
    with OmopSource.open(str(copy), as_of=AS_OF) as src:
        first = src.patient(1)
    assert not [o for o in first.observations if o.source == "measurement/1"]
    assert [u.reason for u in first.unmapped if u.resource == "measurement/1"] == [
        "LOINC 29463-7 'Body weight': value_as_number nan is not a number"]
