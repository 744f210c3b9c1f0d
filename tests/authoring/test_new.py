"""`screening new`: draft rule files from real ClinicalTrials.gov API v2 records.

The checks read the records independently of the bullet splitter: every non-blank line
of the criteria text (its list marker and indentation removed) must be a line of some
criterion's text, and every line of every criterion's text must be a line of the record.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from screening.authoring import read_study, scaffold, split_criteria
from screening.authoring.ctgov import RegistryRecordError, study_from_json
from screening.authoring.new import new_rule_file
from screening.rules.compiler import compile_text
from screening.report.coverage import coverage

DATA = Path(__file__).resolve().parents[1] / "data" / "ctgov"
RECORDS = sorted(p.name for p in DATA.glob("NCT*.json"))
_MARKER = re.compile(r"^\s*(?:[*+\-•]|\d{1,3}[.)])\s+")
_HEADINGS = {"Inclusion Criteria:", "Exclusion Criteria:"}


def criteria_text(name: str) -> str:
    doc = json.loads((DATA / name).read_text(encoding="utf-8"))
    study = doc["studies"][0] if "studies" in doc else doc
    return study["protocolSection"]["eligibilityModule"]["eligibilityCriteria"]


def record_lines(name: str) -> list[str]:
    """The record's criteria lines without list markers, indentation and headings (what must survive)."""
    out = []
    for raw in criteria_text(name).split("\n"):
        line = _MARKER.sub("", raw.strip(), count=1).strip() if raw.strip() else ""
        if line and line not in _HEADINGS:
            out.append(line)
    return out


def draft(name: str) -> dict:
    return yaml.safe_load(scaffold(read_study(DATA / name), source=f"tests/data/ctgov/{name}"))


def test_there_are_at_least_three_records() -> None:
    assert len(RECORDS) >= 3, RECORDS


@pytest.mark.parametrize("name", RECORDS)
def test_every_line_of_the_record_is_in_a_criterion_verbatim(name: str) -> None:
    doc = draft(name)
    crit_lines = {line for c in doc["criteria"] for line in c["text"].split("\n")}
    missing = [line for line in record_lines(name) if line not in crit_lines]
    assert not missing, missing


@pytest.mark.parametrize("name", RECORDS)
def test_every_criterion_line_is_in_the_record(name: str) -> None:
    doc = draft(name)
    lines = set(record_lines(name))
    for c in doc["criteria"]:
        if c["id"] in ("age-min", "age-max", "sex"):
            continue
        for line in c["text"].split("\n"):
            assert line == "" or line in lines, (c["id"], line)


@pytest.mark.parametrize("name", RECORDS)
def test_the_draft_checks_cleanly_and_nothing_is_decided_by_data_but_age_and_sex(name: str) -> None:
    text = scaffold(read_study(DATA / name))
    trial = compile_text(text, name)
    cov = coverage(trial)
    bullets = [c for c in yaml.safe_load(text)["criteria"] if c["id"].startswith(("inc-", "exc-"))]
    assert all("rule" not in c and c["confirm"].startswith("draft:") and c["draft"] is True for c in bullets)
    assert cov.drafts == len(bullets)
    structured = [c for c in yaml.safe_load(text)["criteria"] if c["id"] in ("age-min", "age-max", "sex")]
    assert cov.machine == len([c for c in structured if "rule" in c])
    assert cov.confirm == len(bullets) + len([c for c in structured if "rule" not in c])


@pytest.mark.parametrize("name", RECORDS)
def test_ids_are_stable_ordered_and_parents_exist(name: str) -> None:
    a, b = scaffold(read_study(DATA / name)), scaffold(read_study(DATA / name))
    assert a == b
    crits = yaml.safe_load(a)["criteria"]
    ids = [c["id"] for c in crits]
    assert len(ids) == len(set(ids))
    for c in crits:
        if c.get("parent"):
            assert ids.index(c["parent"]) < ids.index(c["id"])
            assert c["id"].startswith(c["parent"] + ".")


def test_tb_vaccine_record_bullets_counts_and_escapes_kept() -> None:
    doc = draft("NCT03722472.json")
    by_id = {c["id"]: c for c in doc["criteria"]}
    assert len([i for i in by_id if i.startswith("inc-")]) == 9
    assert len([i for i in by_id if i.startswith("exc-")]) == 29
    assert by_id["exc-26"]["text"] == "BMI \\<18 or \\>35 kg/m2."  # markdown escapes kept verbatim
    assert by_id["exc-26"]["kind"] == "exclusion"
    # an indented continuation paragraph stays in its bullet, after a blank line
    assert by_id["inc-2"]["text"].startswith("In good general health")
    assert "administration.\n\n\\*Temperature \\<38°C" in by_id["inc-2"]["text"]
    assert by_id["inc-2"]["text"].endswith("licensed clinical investigator.")
    assert by_id["age-min"]["rule"] == "age >= 18" and by_id["age-max"]["rule"] == "age <= 55"
    assert doc["trial"]["registry_id"] == "NCT03722472" and doc["trial"]["sponsor"].startswith("Access to Advanced")


def test_oncology_record_nesting_and_odd_characters() -> None:
    doc = draft("NCT06388018.json")
    by_id = {c["id"]: c for c in doc["criteria"]}
    assert by_id["inc-10.1"]["text"] == "Cohort A1:" and by_id["inc-10.1"]["parent"] == "inc-10"
    assert by_id["inc-10.1.2"]["text"] == "Stage IB, grade 1 or 2, pNx/N0, with or without LVI"
    assert by_id["inc-10.1.2"]["parent"] == "inc-10.1"
    assert by_id["inc-10.2.5"]["text"].endswith("with substantial LVIƒõ")
    assert by_id["inc-4"]["text"] == "Patients' age must be \\>= 18 years"
    assert by_id["exc-6.1"]["parent"] == "exc-6"
    assert by_id["sex"]["rule"] == "sex == 'female'"
    assert "age-max" not in by_id  # the record gives no maximum age


def test_proposals_are_comments_for_the_author() -> None:
    text = scaffold(read_study(DATA / "NCT03722472.json"))
    block = text.split("  - id: exc-26\n", 1)[1].split("  - id: exc-27", 1)[0]
    assert "# proposed (lab): rule: bmi < 18 or bmi > 35" in block
    assert "unit: kg/m2" in block
    assert "rule:" not in [line.split("#")[0] for line in block.splitlines()]
    block = text.split("  - id: exc-24\n", 1)[1].split("  - id: exc-25", 1)[0]
    assert "# proposed (fact): rule: lactating   applies_if: sex == 'female'" in block
    onc = scaffold(read_study(DATA / "NCT06388018.json"))
    block = onc.split("  - id: inc-3\n", 1)[1].split("  - id: inc-4", 1)[0]
    assert "# proposed (scale): rule: ecog >= 0 and ecog <= 2" in block
    block = onc.split("  - id: inc-4\n", 1)[1].split("  - id: inc-5", 1)[0]
    assert "# proposed (age): rule: age >= 18" in block


def test_an_acute_event_within_a_window_is_proposed_by_its_onset() -> None:
    """'Myocardial infarction, or stroke within the prior 12 months' asks when the event began (onset_within),
    not whether a condition is still charted (history_of reads an episode overlapping the window)."""
    text = scaffold(read_study(DATA / "NCT05181449.json"))
    block = text.split("  - id: exc-5\n", 1)[1].split("  - id: exc-6", 1)[0]
    assert "# proposed (washout): rule: onset_within(CONCEPT, 'P12M')" in block
    block = text.split("  - id: exc-4\n", 1)[1].split("  - id: exc-5", 1)[0]
    assert "# proposed (washout): rule: onset_within(CONCEPT, 'P12M')" in block  # diabetic ketoacidosis


def test_an_accepted_proposal_compiles() -> None:
    """Uncommenting a proposal (rule and data) gives a rule file that checks."""
    text = scaffold(read_study(DATA / "NCT03722472.json"))
    block = text.split("  - id: exc-26\n", 1)[1].split("  - id: exc-27", 1)[0]
    rule = re.search(r"# proposed \(lab\): rule: (.+)", block).group(1)
    data = re.search(r"#   data: (bmi: .+)", block).group(1)
    accepted = text.replace(block, block.replace(
        '    confirm: "draft: not yet encoded; write a rule (or say why a person decides) and remove this line"\n',
        f"    rule: {rule}\n", 1))
    accepted = accepted.replace("\ncriteria:\n", f"\ndata:\n  {data}\n\ncriteria:\n", 1)
    trial = compile_text(accepted, "accepted.yaml")
    assert coverage(trial).machine == 4


def test_cli_like_writer_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "criteria" / "NCT05594173.yaml"
    d = new_rule_file(DATA / "NCT05594173.json", out)
    assert d.bullets == 8 and out.read_text(encoding="utf-8").startswith("# Draft rule file for NCT05594173")
    with pytest.raises(FileExistsError):
        new_rule_file(DATA / "NCT05594173.json", out)
    new_rule_file(DATA / "NCT05594173.json", out, overwrite=True)


def test_bad_records_are_located_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"protocolSection": {\n  "x": ,\n}}', encoding="utf-8")
    with pytest.raises(RegistryRecordError) as e:
        read_study(bad)
    assert e.value.problems[0].line == 2 and "invalid JSON" in e.value.first_line
    with pytest.raises(RegistryRecordError, match="classic ClinicalTrials.gov API"):
        study_from_json({"FullStudiesResponse": {}}, "old.json")
    with pytest.raises(RegistryRecordError, match="eligibilityCriteria is missing"):
        study_from_json({"protocolSection": {"identificationModule": {"nctId": "NCT1"}}}, "x.json")
    two = {"studies": [json.loads((DATA / "NCT05594173.json").read_text()),
                       json.loads((DATA / "NCT03722472.json").read_text())]}
    with pytest.raises(RegistryRecordError, match="holds 2 studies"):
        study_from_json(two, "two.json")
    assert study_from_json(two, "two.json", "NCT03722472").registry_id == "NCT03722472"


# The shapes of criteria texts seen in registry records, one by one.

def test_split_key_headings_dashes_and_numbered_parentheses() -> None:
    ct = split_criteria("Key Inclusion Criteria\n- Adults\n- HbA1c \\>= 7.0%\n\nKey Exclusion Criteria:\n\n"
                        "1) Type 1 diabetes\n2) eGFR \\< 30 mL/min/1.73m²\n")
    assert [(b.id, b.kind, b.text) for b in ct.bullets] == [
        ("inc-1", "inclusion", "Adults"), ("inc-2", "inclusion", "HbA1c \\>= 7.0%"),
        ("exc-1", "exclusion", "Type 1 diabetes"), ("exc-2", "exclusion", "eGFR \\< 30 mL/min/1.73m²")]
    assert ct.headings == ("Key Inclusion Criteria", "Key Exclusion Criteria:")


def test_split_nesting_lazy_lines_bare_markers_tabs_and_crlf() -> None:
    text = ("Inclusion Criteria:\r\n\r\n* Adequate organ function:\r\n\t* ANC ≥ 1.5 x 10^9/L\r\n"
            "\t* AST \\<= 2.5 x ULN\r\n* A bullet that\r\nwraps onto a second line\r\n-\r\nText after a bare marker\r\n")
    ct = split_criteria(text)
    assert [(b.id, b.parent, b.text) for b in ct.bullets] == [
        ("inc-1", None, "Adequate organ function:"),
        ("inc-1.1", "inc-1", "ANC ≥ 1.5 x 10^9/L"),
        ("inc-1.2", "inc-1", "AST \\<= 2.5 x ULN"),
        ("inc-2", None, "A bullet that\nwraps onto a second line"),
        ("inc-3", None, "Text after a bare marker"),
    ]


def test_split_plain_lines_and_text_before_any_heading() -> None:
    ct = split_criteria("Participant is 18-75 years of age.\nNo fever.\n\nExclusion Criteria:\n\n"
                        "Pregnant or breastfeeding\n")
    assert [(b.id, b.section, b.text) for b in ct.bullets] == [
        ("inc-1", None, "Participant is 18-75 years of age."), ("inc-2", None, "No fever."),
        ("exc-1", "Exclusion Criteria:", "Pregnant or breastfeeding")]
    text = scaffold(study_from_json({"protocolSection": {"identificationModule": {"nctId": "NCT00000001"},
                                                         "eligibilityModule": {"eligibilityCriteria": "x\n\n* y"}}}))
    assert "read as an inclusion" in text
    compile_text(text, "t.yaml")


def test_heading_with_text_after_the_colon_and_numbered_without_blank_lines() -> None:
    ct = split_criteria("INCLUSION CRITERIA: adults over 18\n1. consent\nEXCLUSION CRITERIA:\n1. pregnancy")
    assert [(b.id, b.text) for b in ct.bullets] == [("inc-1", "adults over 18"), ("inc-2", "consent"),
                                                    ("exc-1", "pregnancy")]


def test_yaml_special_text_survives(tmp_path: Path) -> None:
    crit = ("Inclusion Criteria:\n\n* 'quoted' and \"double\" # not a comment: key: value\n"
            "* trailing backslash \\\n* - dash first\n* tab\tinside and control \x85 char\n")
    study = study_from_json({"protocolSection": {"identificationModule": {"nctId": "NCT00000002"},
                                                 "eligibilityModule": {"eligibilityCriteria": crit}}})
    text = scaffold(study)
    doc = yaml.safe_load(text)
    texts = [c["text"] for c in doc["criteria"] if c["id"].startswith("inc-")]
    assert texts == ["'quoted' and \"double\" # not a comment: key: value", "trailing backslash \\",
                     "- dash first", "tab\tinside and control \x85 char"]
    compile_text(text, "t.yaml")


def test_screening_new_on_the_command_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from screening.cli import app

    out = tmp_path / "NCT06388018.yaml"
    r = CliRunner().invoke(app, ["new", str(DATA / "NCT06388018.json"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "NCT06388018: 44 draft criteria, 3 proposed rules" in r.output
    r = CliRunner().invoke(app, ["check", str(out)])
    assert r.exit_code == 0 and "ok: NCT06388018, 46 criteria" in r.output
    r = CliRunner().invoke(app, ["coverage", "--json", str(out)])
    cov = json.loads(r.output)[0]
    assert (cov["machine"], cov["confirm"], cov["drafts"]) == (2, 44, 44)  # age-min and sex; no maximum age
    r = CliRunner().invoke(app, ["new", str(DATA / "NCT06388018.json"), "-o", str(out)])
    assert r.exit_code == 2 and "refusing to overwrite" in r.output
    bad = tmp_path / "bad.json"
    bad.write_text("{\n  \"studies\": [\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["new", str(bad), "-o", str(tmp_path / "x.yaml")])
    assert r.exit_code == 2 and r.output.startswith(f"{bad}:3:") and "invalid JSON" in r.output
