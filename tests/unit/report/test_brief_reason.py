"""The table's short reason keeps what decided the criterion.

A row of the screen table gives the reason in about two lines. Whatever it leaves out, it keeps what
decided: the value compared and the threshold (a row that says 'BMI ... computed as ...' without
'> 40 kg/m^2' tells the coordinator nothing), the record that decided, and for an unknown what would
decide it: the data item that is missing or the question asked. Checked on every criterion of every
example patient of every encoded trial, and on a few rows word for word.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from screening import load_criteria, load_patient, screen
from screening.report import table
from screening.report.table import BRIEF_WIDTH, brief_reason, details

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
CRITERIA = ROOT / "criteria"

# a comparison's threshold as reasons write it: "> 40 kg/m^2", ", not == 'positive'", "<= 1 x ULN", "in ['IA', 'IB']"
THRESHOLD = re.compile(r" (?:==|!=|<=|>=|<|>|in) (?:'[^']*'|\[[^\]]*\]|[-+]?\d[\d.]*(?: x [UL]LN| [^\s;,\[\]()]+)?)")
QUESTION = re.compile(r"[^:;(]*\?")  # 'is it >= 5 mg a day?', 'does it count as anti-obesity medication?'
HEADS = re.compile(r"^(?:(?:not applicable|needs confirmation|this alternative [a-z ]+?): )+")
CHART_REFERENCE = re.compile(r" \[[A-Z][A-Za-z]+/[^\]\s]+\]")


def _rows():
    for expected in sorted(EXAMPLES.glob("*/expected.json")):
        trial = load_criteria(CRITERIA / f"{expected.parent.name}.yaml")
        for name, case in json.loads(expected.read_text(encoding="utf-8")).items():
            r = screen(load_patient(expected.parent / name), trial, case["as_of"], complete=case.get("complete"))
            for c in r.criteria:
                yield trial, r, c


@pytest.fixture(scope="module")
def rows():
    return list(_rows())


def _plain(c) -> str:
    """The reason as the table may show it in full: without the reading, chart references and the why of a
    confirmation (the detail view gives those)."""
    text = c.reason
    if c.note and text.endswith(f" [reading: {c.note}]"):
        text = text[: -len(f" [reading: {c.note}]")]
    if text.startswith("needs confirmation ("):
        depth = 0
        for i in range(len("needs confirmation "), len(text)):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            if depth == 0:
                text = "needs confirmation" + text[i + 1:]
                break
    return CHART_REFERENCE.sub("", text)


def _label(trial, name: str) -> str:
    spec = trial.items.get(name) or trial.concepts.get(name)
    return spec.label if spec is not None else name.replace("_", " ")


def _shown(e) -> list[str]:
    """An evidence as a reason shows it: the value as recorded with its unit, and the record's name."""
    out = [e.record] if isinstance(e.record, str) else []
    if e.value is not None and not isinstance(e.value, bool):
        unit = "" if e.unit in (None, "", "1", "dimensionless") else f" {e.unit}"
        out.append(f"{e.value}{unit}")
    return out


def _threshold_in(threshold: str, row: str) -> bool:
    """A threshold in the row; a long list of values may be shortened after its first value."""
    if threshold in row:
        return True
    return threshold.startswith(("in [", "not in [")) and "," in threshold and threshold.split(",")[0] in row


def _parts(text: str) -> list[str]:
    """``text`` split at '; ' outside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth = depth + 1 if ch in "([" else max(0, depth - 1) if ch in ")]" else depth
        if depth == 0 and text.startswith("; ", i):
            parts.append(text[start:i])
            start = i + 2
    return parts + [text[start:]]


def what_was_lost(trial, c, row: str) -> list[str]:
    """What decided the criterion that the row does not show (empty when the row keeps it)."""
    full = _plain(c)
    lost = []
    if c.status.value == "unknown":  # what would decide it, and who
        questions = [q.strip() for q in QUESTION.findall(full)]
        if questions and not any(q in row for q in questions):
            lost.append("the question that would decide it")
        open_ = [label for label in (_label(trial, m) for m in c.missing) if label in full]
        if open_ and not any(label in row for label in open_):
            lost.append("the missing data that would decide it")
        records = [u.record for u in c.unrecognised if u.record in full]
        if records and not any(r in row for r in records):
            lost.append("the record a person is asked about")
        if full.startswith("needs confirmation") and not row.startswith("needs confirmation"):
            lost.append("that a person decides it")
        return lost
    first = _parts(HEADS.sub("", full))[0]  # the part that decided first: its value or record is shown
    values = [v for e in c.evidence for v in _shown(e) if v in first]
    if values and not any(v[:30] in row for v in values):
        lost.append("the value or record that decided")
    # a comparison is never cut before its threshold: where the row stops (or leaves out the middle of a part),
    # the part it stops in must keep its threshold
    stop = _parts(row.removesuffix(" ...").split(" ... ")[0])[-1]
    for part in _parts(full):
        threshold = THRESHOLD.search(part)
        if threshold and part.startswith(stop[:25]) and not _threshold_in(threshold.group(0).strip(", "), row):
            lost.append("the threshold")
            break
    return lost


def test_every_shortened_row_keeps_what_decided(rows):
    shortened = [(t, r, c, brief_reason(c)) for t, r, c in rows if brief_reason(c) != _plain(c)]
    assert len(rows) > 4000 and len(shortened) > 1000  # the examples put it to the test
    lost = [(r.trial, r.patient, c.id, what, row) for t, r, c, row in shortened
            if (what := what_was_lost(t, c, row))]
    assert not lost, "\n".join(map(str, lost[:20])) + f"\n... {len(lost)} rows in all"


def _row(rows, trial: str, patient: str, cid: str) -> str:
    return next(brief_reason(c) for _, r, c in rows if r.trial == trial and r.patient == patient and c.id == cid)


def test_a_computed_value_keeps_its_threshold(rows):
    """The computed BMI with what it was computed from, and the threshold; the formula and the height are in
    the detail view."""
    assert _row(rows, "NCT01056471", "ms-bmi-over-40", "exc-9") == (
        "BMI 44.4 kg/m^2 computed from body weight 300 lb (136 kg) on 2026-11-02 ... > 40 kg/m^2")


def test_a_value_and_its_threshold_take_three_lines_rather_than_lose_one(rows):
    assert _row(rows, "MSV-allo-LN", "msv-recurrence-old-biopsy", "inc-3a") == (
        "not applicable: course of lupus nephritis at selection moderate/severe recurrence on 2026-11-16, "
        "not in ['no response', 'partial response']")


def test_an_unknown_keeps_its_question(rows):
    assert _row(rows, "NCT05181449", "dt-pred", "exc-8") == (
        "prednisone or prednisolone 5 mg a day or more: cannot tell if taking: prednisone tablet started "
        "2026-03-01 (taken 268 days; daily dose not recorded: is it >= 5 mg a day?) ...")
    row = _row(rows, "Phase-II-Lupus-MSC", "lupus-mp-40", "exc-1a")
    assert row.startswith("bolus (pulse) intravenous methylprednisolone: cannot tell if started within 3 months: "
                          "Solu-Medrol 40 mg IV started 2026-10-01")
    assert row.endswith(" ... is the daily dose >= 200 mg?)")


def test_a_record_a_person_is_asked_about_is_named_with_the_question(rows):
    assert _row(rows, "NCT05181449", "dt-ozempic", "exc-3") == (
        "needs confirmation: no record of anti-obesity medication taking within 3 months ... Ozempic 1 mg pen "
        "weekly started 2025-06-01: does it count as anti-obesity medication?")


def test_an_unknown_says_first_what_is_open(rows):
    """The part still open comes before the parts that hold, whatever their order in the rule."""
    assert _row(rows, "NCT06388018", "nrg-review-35-B-CPT-58571", "inc-1").startswith(
        "no record of both tubes and ovaries removed (operative note)")
    assert _row(rows, "NCT06388018", "nrg-grade-missing", "inc-10.1.2") == (
        "this alternative not known to hold: no histological grade on record; FIGO stage (2009) IB on 2026-10-02 "
        "== 'IB' ...")
    assert _row(rows, "Phase-II-Lupus-MSC", "lupus-record-not-complete", "exc-2") == (
        "no record of cyclophosphamide started within 6 months; records outside it: cyclophosphamide 500 mg IV "
        "started 2026-04-23, stopped ... (medications not declared complete)")


def test_a_record_part_keeps_its_record_and_what_ruled_it_out(rows):
    """What the set looks for loses its aside, not the record; a record that did not count keeps why."""
    assert _row(rows, "Phase-II-Lupus-MSC", "lupus-anifrolumab", "exc-1b") == (
        "immunosuppressive drugs started within 3 months: Saphnelo 300 mg IV every 4 weeks started 2026-10-01")
    assert _row(rows, "Phase-II-Lupus-MSC", "lupus-mp-40-bid", "exc-1a") == (
        "no record of bolus (pulse) intravenous methylprednisolone started within 3 months; not counted: "
        "Solu-Medrol 40 mg IV ... = 80 mg a day: not daily dose >= 200 mg) ...")
    assert _row(rows, "NCT03722472", "tb-eligible", "exc-3") == (
        "no record of active or latent tuberculosis history; conditions declared complete ...")


def test_many_parts_show_whole_ones_first(rows):
    """Twenty laboratory values within their ranges: the first ones whole, each with its threshold."""
    assert _row(rows, "NCT03722472", "tb-eligible", "inc-3") == (
        "sodium 139 mmol/L on 2026-11-05 = 1.03 x LLN >= 1 x LLN; sodium 139 mmol/L on 2026-11-05 = 0.959 x ULN "
        "<= 1 x ULN ...")


@pytest.mark.parametrize("reason", [
    "x" * 400,  # no word to cut at
    "no record of (" + "a " * 150,  # a bracket never closed
    "ANA " + "1:80 " * 60 + "on 2026-01-01 >= 1:80",  # a value too long to keep with its threshold
    "what " * 60 + "is it?",  # a question too long to keep
    "; " * 100,
])
def test_a_reason_the_brief_cannot_read_is_still_cut_to_three_lines(rows, reason):
    c = rows[0][2].model_copy(update={"reason": reason, "note": None})
    row = brief_reason(c)
    assert len(row) <= table.BRIEF_MOST + 4 and row.endswith("...")


def test_short_reasons_are_unchanged(rows):
    short = [(c, brief_reason(c)) for _, _, c in rows if len(_plain(c)) <= BRIEF_WIDTH
             and "(since " not in c.reason]
    assert short and all(row == _plain(c) for c, row in short)


def test_the_detail_view_still_gives_the_whole_reason(rows):
    trial, r, c = next((t, r, c) for t, r, c in rows if r.patient == "ms-bmi-over-40" and c.id == "exc-9")
    assert "  reason: BMI 44.4 kg/m^2 computed as weight / height ** 2 from body weight 300 lb (136 kg) on " \
           "2026-11-02 [Observation/wt-2] (within 3 months); body height 175 cm (1.75 m) on 2019-04-11 " \
           "[Observation/ht-1] > 40 kg/m^2" in details(r, "exc-9")
