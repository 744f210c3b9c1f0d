"""Criteria a person confirms, freshness of computed values, and results that are not final."""

from __future__ import annotations

import pytest

from screening import Status, Verdict, compile_text, screen

from engine_helpers import AS_OF, DATA, obs, run

P, F, U = Status.PASS, Status.FAIL, Status.UNKNOWN

MARROW = """
  - id: inc-marrow
    kind: inclusion
    text: adequate marrow function
    rule: hb >= 9
    confirm: the investigator reviews marrow function
  - id: inc-consent
    kind: inclusion
    text: written consent
    confirm: consent is collected by the site
"""


def trial(criteria: str = MARROW):
    text = (DATA / "items.yaml").read_text(encoding="utf-8") + "criteria:\n" + criteria.strip("\n") + "\n"
    return compile_text(text, "confirm.yaml")


def screen_it(patient: dict, complete=None):
    return screen({"id": "p", **patient}, trial(), AS_OF, complete=complete)


def test_missing_data_is_not_pending_confirmation():
    r = screen_it({"facts": [{"code": "inc-consent", "value": True}]})
    (marrow, consent) = r.criteria
    assert (marrow.status, marrow.missing, consent.status) == (U, ["hb"], P)
    assert r.pending_confirmation == [] and r.missing == ["hb"]
    assert r.summary == "undetermined: 1 criteria unknown; missing: hb"


def test_only_a_persons_word_outstanding_is_pending_confirmation():
    r = screen_it({"observations": [obs("haemoglobin", 11, "g/dL")]})
    assert [c.status for c in r.criteria] == [P, U]
    assert r.pending_confirmation == ["inc-consent"]
    assert r.summary == "eligible pending confirmation of: inc-consent"


def test_a_recorded_confirmation_decides_a_rule_the_data_cannot():
    r = screen_it({"facts": [{"code": "inc-marrow", "value": True, "date": "2026-11-20"}]})
    c = r.criteria[0]
    assert (c.status, c.missing) == (P, [])
    assert c.reason == ("confirmation of inc-marrow: yes (recorded 2026-11-20), which decides; "
                        "the data: no haemoglobin on record")


def test_a_recorded_confirmation_outweighs_the_data_and_the_reason_keeps_both():
    patient = {"observations": [obs("haemoglobin", 11, "g/dL")],
               "facts": [{"code": "inc-marrow", "value": False, "date": "2026-11-20"}]}
    c = screen_it(patient).criteria[0]
    assert c.status is F
    assert c.reason == ("confirmation of inc-marrow: no (recorded 2026-11-20), which decides; "
                        "the data: haemoglobin 11 g/dL on 2026-11-01 >= 9 g/dL")


@pytest.mark.parametrize("fact", [{"code": "inc-marrow", "value": True, "date": "2024-01-01"},
                                  {"code": "inc-marrow", "value": True}])
def test_a_confirmation_older_than_the_data_or_undated_does_not_override_them(fact):
    patient = {"observations": [obs("haemoglobin", 7, "g/dL", "2026-11-20")], "facts": [fact]}
    c = screen_it(patient).criteria[0]
    assert c.status is F
    when = f" (recorded {fact['date']}): older than the data" if "date" in fact else ": undated"
    assert c.reason == (f"haemoglobin 7 g/dL on 2026-11-20, not >= 9 g/dL; "
                        f"confirmation of inc-marrow: yes{when}, not used over the data")
    # with no data to decide, the same confirmation decides
    c = screen_it({"facts": [fact]}).criteria[0]
    assert c.status is P


def test_facts_declared_complete_never_stand_in_for_a_persons_confirmation():
    r = screen_it({"observations": [obs("haemoglobin", 11, "g/dL")]}, complete=["facts"])
    consent = r.criteria[1]
    assert (consent.status, consent.reason) == (
        U, "needs confirmation (consent is collected by the site): no record of confirmation of inc-consent")
    assert r.verdict is Verdict.UNDETERMINED and r.pending_confirmation == ["inc-consent"]
    # while an ordinary fact is still decided by completeness
    c, _ = run(trial("  - {id: c, kind: exclusion, text: pregnancy, rule: pregnant}"), {}, complete=["facts"])
    assert (c.status, c.met) == (P, False)


def test_this_trials_confirmation_beats_a_bare_one_whatever_the_order():
    own = {"code": "TEST-ENGINE/inc-consent", "value": False}
    bare = {"code": "inc-consent", "value": True}
    t = trial()
    for facts in ([own, bare], [bare, own]):
        c = screen({"id": "p", "facts": facts}, t, AS_OF).criteria[1]
        assert c.status is F, facts


# ------------------------------------------------------------------ computed values and their window

PF = """
  - id: c
    kind: inclusion
    text: P/F below 200
    rule: pf_recent < 200
"""


@pytest.mark.parametrize("day, status", [("2026-11-22", P), ("2026-11-21", U), ("2025-01-10", U)])
def test_a_computed_value_obeys_its_own_window(day, status):
    text = (DATA / "items.yaml").read_text(encoding="utf-8").replace("  weight:\n", (
        "  pf_recent:\n    label: PaO2/FiO2 (last day)\n    unit: mmHg\n    window: P1D\n"
        "    derive: {formula: pao2 / fio2, max_spread: P0D}\n  weight:\n"))
    t = compile_text(text + "criteria:\n" + PF.strip("\n") + "\n", "pf.yaml")
    r = screen({"id": "p", "observations": [obs("PaO2", 100, "mmHg", day), obs("FiO2", 0.8, None, day)]}, t, AS_OF)
    c = r.criteria[0]
    assert c.status is status
    if status is U:
        assert c.reason.endswith(f"newest value {day} is outside the 1 day window (since 2026-11-22)")
        assert c.missing == ["pf_recent"]


def test_registered_results_are_flagged_as_not_final():
    c, _ = run(trial("  - {id: c, kind: inclusion, text: UPCR, rule: upcr >= 1}"),
               {"observations": [obs("UPCR", 2, "mg/mg", status="registered")]})
    assert (c.status, c.reason) == (P, "UPCR 2 mg/mg on 2026-11-01 (registered, not final) (within 3 months) >= 1 mg/mg")


def test_a_confirmation_on_the_screening_date_decides_over_a_plan_dated_later():
    text = (DATA / "items.yaml").read_text(encoding="utf-8")
    text = text.replace("concepts:\n", "concepts:\n  ecmo: {label: ECMO, names: [ECMO]}\n", 1)
    t = compile_text(text + "criteria:\n  - {id: exc-ecmo, kind: exclusion, text: ECMO planned, "
                     "rule: procedure_planned(ecmo), confirm: the site checks}\n", "plan.yaml")
    patient = {"id": "p", "procedures": [{"name": "ECMO", "date": "2026-12-10", "status": "planned"}],
               "facts": [{"code": "exc-ecmo", "value": False, "date": "2026-11-23"}]}
    c = screen(patient, t, AS_OF).criteria[0]
    assert (c.status, c.met) == (P, False), c.reason


CONFIRMED_BY = """
  - id: inc-consent
    kind: inclusion
    text: written consent
    confirm: consent is collected by the site
    confirmed_by: [consent-given/NCT00000001]
  - id: exc-refusal
    kind: exclusion
    text: refusal to give informed consent
    confirm: consent (or its refusal) is recorded by the site
    confirmed_by: [consent-refused/NCT00000001]
"""


@pytest.mark.parametrize("facts, consent, refusal", [
    ([("consent-given/NCT00000001", True), ("consent-refused/NCT00000001", False)], P, P),
    ([("consent-given/NCT00000001", False), ("consent-refused/NCT00000001", True)], F, F),
    ([("consent-given/NCT00000002", True), ("consent-refused/NCT00000002", False)], U, U),  # another study
    ([("consent-given/NCT00000001", False)], F, U),  # withdrawn: not a refusal
])
def test_a_criterion_reads_the_facts_its_rule_file_names(facts, consent, refusal):
    patient = {"id": "p", "facts": [{"code": c, "value": v, "date": "2026-11-20"} for c, v in facts]}
    r = screen(patient, trial(CONFIRMED_BY), AS_OF)
    assert [c.status for c in r.criteria] == [consent, refusal]


def test_confirmed_by_needs_confirm():
    from screening.errors import RuleFileError

    with pytest.raises(RuleFileError) as err:
        trial("""
  - id: inc-consent
    kind: inclusion
    text: written consent
    rule: age >= 18
    confirmed_by: [consent-given/NCT00000001]
""")
    assert "confirmed_by" in str(err.value) and "confirm:" in str(err.value)
