"""The draft rule file for a study record, as YAML text that ``screening check`` accepts.

Every bullet becomes a draft criterion: ``confirm:`` says it awaits encoding (so a person
decides it until a rule is written) and, when the rule-file format has it, ``draft:
true`` marks it for ``coverage``. The structured age and sex bounds are rules. Proposed
rules are comments under their criterion. The text is checked to load back with every
bullet unchanged before it is returned.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from .bullets import EXCLUSION, INCLUSION, Bullet, split_criteria
from .ctgov import Age, Study
from .patterns import Proposal, propose

DRAFT_CONFIRM = "draft: not yet encoded; write a rule (or say why a person decides) and remove this line"
_NON_PRINTABLE = re.compile("[^\x09\x0A\x20-\x7E\xA0-\u2027\u202A-\uD7FF\uE000-\uFEFE\uFF00-\uFFFD\U00010000-\U0010FFFF]")
_SEXES = {"ALL": "All", "FEMALE": "Female", "MALE": "Male"}


def _draft_field_supported() -> bool:
    from ..model.rulefile import Criterion

    return "draft" in Criterion.model_fields


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar for any string (JSON escapes, and non-printables as \\u escapes)."""
    out = json.dumps(text, ensure_ascii=False)
    return _NON_PRINTABLE.sub(lambda m: f"\\u{ord(m.group(0)):04x}" if ord(m.group(0)) <= 0xFFFF
                              else f"\\U{ord(m.group(0)):08x}", out)


def _scalar(text: str, indent: int) -> str:
    """A scalar: a literal block for plain multi-line text (readable), else double-quoted."""
    lines = text.split("\n")
    if (len(lines) > 1 and not _NON_PRINTABLE.search(text) and "\t" not in text
            and all(line == line.strip() for line in lines) and lines[0]):
        pad = " " * indent
        return "|-\n" + "\n".join(pad + line if line else "" for line in lines)
    return _quoted(text)


def _flow(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6, sort_keys=False).strip()


def _age_criterion(key: str, age: Age | None, text: str | None, op: str) -> list[str]:
    if text is None:
        return []
    label = "Minimum Age" if key == "age-min" else "Maximum Age"
    head = [f"  - id: {key}", "    kind: inclusion", f"    text: {_quoted(f'{label}: {text}')}"]
    years = age.whole_years if age else None
    if years is not None:
        return head + [f"    rule: age {op} {years}",
                       "    note: \"from the record's structured age field; age in completed years, bound inclusive\""]
    return head + [f"    confirm: {_quoted('the age bound is not in whole years; a person checks it')}",
                   "    note: \"age is known in completed years only: a bound in months, weeks or days is not encoded\""]


def _sex_criterion(study: Study) -> list[str]:
    if study.sex is None:
        return []
    lines = ["  - id: sex", "    kind: inclusion", f"    text: {_quoted(f'Sex: {study.sex}')}"]
    rule = {"ALL": "'true'", "FEMALE": "sex == 'female'", "MALE": "sex == 'male'"}.get(study.sex.upper())
    if rule is None:
        return lines + [f"    confirm: {_quoted('the sex field is not ALL, FEMALE or MALE; a person checks it')}"]
    lines.append(f"    rule: {rule}")
    if study.sex.upper() == "ALL":
        lines.append("    note: \"all sexes are eligible\"")
    return lines


def _proposal_comments(proposals: list[Proposal]) -> list[str]:
    out = []
    for p in proposals:
        head = f"    # proposed ({p.pattern}): "
        if p.rule:
            head += f"rule: {p.rule}"
            if p.applies_if:
                head += f"   applies_if: {p.applies_if}"
        else:
            head += "no rule"
        out.append(head)
        for name, spec in p.data.items():
            out.append(f"    #   data: {name}: {_flow(spec)}")
        if p.note:
            out.append(f"    #   note: {p.note}")
    return [line.replace("\n", " ") for line in out]


def _criterion(b: Bullet, draft_field: bool) -> list[str]:
    lines = [f"  - id: {b.id}", f"    kind: {b.kind}"]
    if b.parent:
        lines.append(f"    parent: {b.parent}")
    lines.append(f"    text: {_scalar(b.text, 6)}")
    lines.append(f"    confirm: {_quoted(DRAFT_CONFIRM)}")
    if draft_field:
        lines.append("    draft: true")
    if b.section is None:
        lines.append("    note: \"stands before any Inclusion/Exclusion heading in the record: read as an inclusion\"")
    return lines + _proposal_comments(propose(b.text, b.kind))


def scaffold(study: Study, source: str | None = None) -> str:
    """The draft rule file for a study as YAML text (checked to load back with every bullet verbatim)."""
    criteria = split_criteria(study.criteria)
    draft_field = _draft_field_supported()
    n_inc, n_exc = len(criteria.of_kind(INCLUSION)), len(criteria.of_kind(EXCLUSION))
    out = [
        f"# Draft rule file for {study.registry_id}, written by 'screening new' from its ClinicalTrials.gov record.",
        "# Every eligibility bullet is below, verbatim (markdown escapes such as \\>= kept), as a draft",
        "# criterion a person confirms until a rule is written. '# proposed' comments are rules read",
        "# from common patterns: check each against its text before accepting it.",
        "format: 1",
        "trial:",
        f"  id: {study.registry_id}",
        f"  title: {_quoted(study.title)}",
        f"  registry_id: {study.registry_id}",
    ]
    if study.org_study_id:
        out.append(f"  org_study_id: {_quoted(study.org_study_id)}")
    if study.phase:
        out.append(f"  phase: {_quoted(study.phase)}")
    if study.sponsor:
        out.append(f"  sponsor: {_quoted(study.sponsor)}")
    out.append(f"  source: {_quoted(source or f'https://clinicaltrials.gov/study/{study.registry_id}')}")
    if study.minimum_age and study.minimum_age.whole_years is not None:
        out.append(f"  min_age: {study.minimum_age.whole_years}")
    if study.maximum_age and study.maximum_age.whole_years is not None:
        out.append(f"  max_age: {study.maximum_age.whole_years}")
    if study.sex:
        out.append(f"  sexes: {_SEXES.get(study.sex.upper(), study.sex)}")
    notes = [f"Drafted from the ClinicalTrials.gov record {study.registry_id}: {n_inc} inclusion and {n_exc} "
             f"exclusion bullets (nested bullets included), none encoded yet."]
    if study.brief_title and study.brief_title != study.title:
        notes.append(f"Brief title: {study.brief_title}")
    if study.healthy_volunteers is not None:
        notes.append(f"Accepts healthy volunteers: {'yes' if study.healthy_volunteers else 'no'}.")
    if study.gender_based:
        notes.append(f"Eligibility is gender-based: {study.gender_description or '(no description given)'}")
    plain = {"Inclusion Criteria:", "Exclusion Criteria:"}
    for h in criteria.headings:
        if h not in plain:
            notes.append(f"The record's heading reads {h!r}: check whether the list is complete.")
    if any(b.section is None for b in criteria.bullets):
        notes.append("Some bullets stand before any Inclusion/Exclusion heading: they are read as inclusions.")
    out.append("  notes:")
    out.extend(f"    - {_quoted(n)}" for n in notes)
    out += ["", "criteria:"]
    out += _age_criterion("age-min", study.minimum_age, study.minimum_age_text, ">=")
    out += _age_criterion("age-max", study.maximum_age, study.maximum_age_text, "<=")
    out += _sex_criterion(study)
    section = object()
    for b in criteria.bullets:
        if b.section != section and b.parent is None:
            section = b.section
            out += ["", f"  # {b.section if b.section else '(before any heading)'}"]
        out += _criterion(b, draft_field)
    text = "\n".join(out) + "\n"
    _check_round_trip(text, criteria.bullets)
    return text


def _check_round_trip(text: str, bullets: tuple[Bullet, ...]) -> None:
    """The YAML loads back with every bullet's text unchanged (a defect here is ours, never the record's)."""
    from ..rules import yamlsource

    doc = yamlsource.load(text, "<draft>").data
    texts = {c["id"]: c["text"] for c in doc["criteria"]}
    for b in bullets:
        if texts.get(b.id) != b.text:
            raise AssertionError(f"draft rule file does not keep bullet {b.id} verbatim")
