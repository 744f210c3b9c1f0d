"""Condition qualifiers a concept set asks for (clinical_status, severity, note_words): read from the record,
and never guessed when the chart does not say."""

from __future__ import annotations

import pytest

from screening import RuleFileError, Status, compile_text, screen

P, F, U = Status.PASS, Status.FAIL, Status.UNKNOWN
RULES = """
trial: {id: Q, title: qualifiers}
concepts:
  ln_flare:
    label: lupus nephritis recurrence
    names: [lupus nephritis]
    clinical_status: [recurrence, relapse]
  severe_ln:
    label: moderate or severe lupus nephritis
    names: [lupus nephritis]
    severity: [Moderate, severe]
  class_iv_ln:
    label: class IV lupus nephritis
    names: [lupus nephritis]
    note_words: [class IV]
criteria:
  - {id: flare, kind: inclusion, text: t, rule: has_condition(ln_flare)}
  - {id: severe, kind: inclusion, text: t, rule: has_condition(severe_ln)}
  - {id: class-iv, kind: inclusion, text: t, rule: has_condition(class_iv_ln)}
"""


@pytest.fixture(scope="module")
def trial():
    return compile_text(RULES, "q.yaml")


def statuses(trial, **condition) -> dict:
    ln = {"name": "lupus nephritis", "onset": "2026-01-10", **condition}
    r = screen({"id": "p", "conditions": [ln], "complete": ["conditions"]}, trial, "2026-11-23")
    return {c.id: (c.status, c.reason) for c in r.criteria}


@pytest.mark.parametrize("status, expected", [
    ("recurrence", P), ("relapse", P),
    ("active", U),       # FHIR's recurrence and relapse are kinds of active: the chart does not tell them apart
    ("unknown", U),
    ("remission", F),    # not active: the set's has_condition fails (conditions declared complete)
])
def test_clinical_status(trial, status, expected):
    assert statuses(trial, status=status)["flare"][0] is expected


@pytest.mark.parametrize("severity, expected", [
    ("severe", P), ("moderate", P), ("moderate to severe", P),
    ("mild to moderate", U),   # reaches past what is asked
    (None, U),                 # not recorded
    ("mild", F),
])
def test_severity(trial, severity, expected):
    got, reason = statuses(trial, severity=severity)["severe"]
    assert got is expected, reason
    if expected is F:
        assert "not counted: lupus nephritis (active, mild) onset 2026-01-10 (severity mild, not moderate/severe)" in reason


def test_note_words_decide_only_when_the_note_says_them(trial):
    assert statuses(trial, note="Biopsy: ISN/RPS class IV, active lesions.")["class-iv"][0] is P
    got, reason = statuses(trial, note="Biopsy pending.")["class-iv"]
    assert got is U and "the note does not say 'class iv'" in reason
    assert statuses(trial)["class-iv"][0] is U


def test_qualifiers_belong_to_condition_sets():
    text = RULES.replace("rule: has_condition(ln_flare)", "rule: ever_taken(ln_flare)")
    with pytest.raises(RuleFileError) as err:
        compile_text(text, "q.yaml")
    assert "clinical_status qualifies conditions, but concept set 'ln_flare' is read among medications" in str(err.value)
