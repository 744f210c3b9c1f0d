"""Absence by design: a criterion that says no record counts as 'no' for its own data, visibly in its reason;
records the vocabularies cannot place still leave it unknown (the fail-safe)."""

from __future__ import annotations

from screening import screen
from screening.rules.compiler import compile_text
from screening.sql.plan import plan_trials

RULES = """
format: 1
trial: {id: ABS, title: absence by design}
concepts:
  anaphylaxis: {label: anaphylaxis, codes: ['icd10:T78.2', 'icd10:T88.6'], names: [anaphylaxis]}
criteria:
  - {id: exc-1, kind: exclusion, text: "No known history of anaphylaxis", rule: history_of(anaphylaxis),
     absent_means_no: [conditions]}
  - {id: exc-2, kind: exclusion, text: "History of anaphylaxis", rule: history_of(anaphylaxis)}
"""


def test_no_record_counts_as_no_for_that_criterion_only():
    trial = compile_text(RULES, "abs.yaml")
    r = {c.id: c for c in screen({"id": "p", "conditions": [{"code": "icd10:I10", "name": "Hypertension"}]},
                                 trial, as_of="2026-11-23").criteria}
    assert r["exc-1"].status.value == "pass"
    assert "by design of this criterion, no record in conditions counts as no" in r["exc-1"].reason
    assert r["exc-2"].status.value == "unknown"  # the same rule without it: conditions not declared complete
    r = {c.id: c for c in screen({"id": "p", "conditions": [{"name": "Anaphylactic reaction to peanuts",
                                                              "code": "icd10:T78.2"}]}, trial, as_of="2026-11-23").criteria}
    assert r["exc-1"].status.value == "fail"
    # a record nothing can place keeps it open
    r = {c.id: c for c in screen({"id": "p", "conditions": [{"name": "Zorblax syndrome"}]}, trial,
                                 as_of="2026-11-23").criteria}
    assert r["exc-1"].status.value == "unknown" and r["exc-1"].unrecognised
    assert {"exc-1"} <= {c for _, c, _ in plan_trials([trial]).untranslated}
