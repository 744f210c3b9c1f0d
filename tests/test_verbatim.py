"""Every bullet of every seed record is in its rule file, verbatim: nothing is silently left out.

The seed records are registry pages saved as text. Their eligibility sections are parsed
here independently of the rule files: each bullet ('* ', '- ', '• ', or a bare '-' line
followed by the bullet's text), each continuation line of a multi-line bullet, and the
age and sex lines. Each must equal the `text` or the `bullet` of a criterion in the
trial's rule file; each part's `text` must be words of its `bullet`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"
CRITERIA = ROOT / "criteria"

RULE_FILES = {
    "000_be1adc5db296ce7d.txt": "Phase-II-Lupus-MSC.yaml",
    "001_7eec3db7379f51b9.txt": "MSV-allo-LN.yaml",
    "002_0cc629ee872ee6e3.txt": "NCT01056471.yaml",
    "004_986fadfa8ced92ce.txt": "NCT04348461.yaml",
}

_MARKER = re.compile(r"^(?:\* |- |• )")
_HEADING = re.compile(r"^(?:Inclusion|Exclusion) Criteria:?$")
_STOP = re.compile(r"^(?:\d+ Years$|Locations$|To learn more)")


def eligibility_items(text: str) -> list[str]:
    """Bullets (markers stripped) and continuation lines of the eligibility section.

    A bullet followed by lines without a marker is multi-line: the whole bullet (lines
    joined by newlines) is one item and each continuation line after its first is an
    item of its own (the first line is a heading such as 'Fulfilling following
    criteria ...:', covered by the whole bullet).
    """
    lines = text.splitlines()
    # The section starts at the 'Inclusion Criteria' heading; records without one
    # (a list of '• ' bullets under 'Participation Requirements') at the first bullet.
    start = next((i for i, line in enumerate(lines) if _HEADING.match(line.strip())), None)
    if start is None:
        start = next((i for i, line in enumerate(lines) if _MARKER.match(line.strip())), None)
    assert start is not None, "no eligibility section found"
    items: list[str] = []
    current: list[str] | None = None
    pending_marker = False

    def close() -> None:
        if current:
            items.append("\n".join(current))
            items.extend(current[1:])  # continuation lines: conditions of their own

    for raw in lines[start:]:
        line = raw.strip()
        if _STOP.match(line):
            break
        if not line:
            close()
            current = None
            continue
        if _HEADING.match(line):
            close()
            current = None
            continue
        if line == "-":  # a bare marker: the bullet's text is on the next line
            close()
            current, pending_marker = None, True
            continue
        if _MARKER.match(line) or pending_marker:
            close()
            current = [_MARKER.sub("", line).strip()]
            pending_marker = False
            continue
        if current is None:  # text outside any bullet (e.g. after a blank line)
            current = [line]
        else:
            current.append(line)
    close()
    return list(dict.fromkeys(items))


def age_sex_items(text: str) -> list[str]:
    """The age and sex bounds as the record states them outside the bullets."""
    lines = [line.strip() for line in text.splitlines()]
    found: list[str] = []
    for i, line in enumerate(lines):
        m = re.match(r"^(?:Ages|Sexes) Eligible for Study: \| (.+?) \|$", line)
        if m:
            found.append(m.group(1))
        elif re.match(r"^(?:Sex|Minimum Age|Maximum Age): \S", line):
            found.append(line)
        elif re.match(r"^\d+ Years$", line):  # the bare age fields, then the sex field
            found.append(line)
            if i + 1 < len(lines) and lines[i + 1] in ("ALL", "FEMALE", "MALE"):
                found.append(lines[i + 1])
    return list(dict.fromkeys(found))


def rule_file(seed: str) -> dict:
    return yaml.safe_load((CRITERIA / RULE_FILES[seed]).read_text(encoding="utf-8"))


def covered(doc: dict) -> set[str]:
    out: set[str] = set()
    for c in doc["criteria"]:
        out.add(c["text"])
        if c.get("bullet"):
            out.add(c["bullet"])
    return out


@pytest.mark.parametrize("seed", sorted(RULE_FILES))
def test_every_bullet_is_in_the_rule_file_verbatim(seed: str) -> None:
    text = (SEEDS / seed).read_text(encoding="utf-8")
    items = eligibility_items(text)
    assert len(items) >= 7, items
    missing = [item for item in items if item not in covered(rule_file(seed))]
    assert not missing, f"{RULE_FILES[seed]} lacks these bullets of {seed}: {missing}"


@pytest.mark.parametrize("seed", sorted(RULE_FILES))
def test_age_and_sex_lines_are_in_the_rule_file(seed: str) -> None:
    text = (SEEDS / seed).read_text(encoding="utf-8")
    items = age_sex_items(text)
    assert len(items) >= 2, items
    texts = {c["text"] for c in rule_file(seed)["criteria"]}
    assert not [i for i in items if i not in texts]


@pytest.mark.parametrize("seed", sorted(RULE_FILES))
def test_parts_quote_their_bullet(seed: str) -> None:
    doc = rule_file(seed)
    bullets = set(eligibility_items((SEEDS / seed).read_text(encoding="utf-8")))
    for c in doc["criteria"]:
        if c.get("bullet"):
            assert c["text"] in c["bullet"], c["id"]
            assert c["bullet"] in bullets, c["id"]
            assert c.get("parent"), f"{c['id']} is a part of a bullet but names no parent"


@pytest.mark.parametrize("seed", sorted(RULE_FILES))
def test_the_rule_file_names_its_source(seed: str) -> None:
    assert rule_file(seed)["trial"]["source"].endswith(seed)


def test_parser_sees_the_known_bullets() -> None:
    """The parser itself, on the shapes the records use (so a broken parser cannot pass vacuously)."""
    lupus = eligibility_items((SEEDS / "000_be1adc5db296ce7d.txt").read_text(encoding="utf-8"))
    assert "UPC ratio ≥ 1" in lupus
    assert "Addition during prior 6 months of randomization of Cyclophosphamide" in lupus
    assert any(i.startswith("Fulfilling following criteria for active renal disease:\nClass III") for i in lupus)
    ms = eligibility_items((SEEDS / "002_0cc629ee872ee6e3.txt").read_text(encoding="utf-8"))
    assert "Pregnancy or lactation" in ms
    assert "Body mass index> 40 kg/m2." in ms
    assert len(ms) == 16
    msv = eligibility_items((SEEDS / "001_7eec3db7379f51b9.txt").read_text(encoding="utf-8"))
    assert len(msv) == 7 and msv[-1].startswith("Have been vaccinated")
    covid = eligibility_items((SEEDS / "004_986fadfa8ced92ce.txt").read_text(encoding="utf-8"))
    assert len(covid) == 17
    assert age_sex_items((SEEDS / "000_be1adc5db296ce7d.txt").read_text(encoding="utf-8")) == ["18 Years", "75 Years", "ALL"]


def test_removing_a_bullet_is_detected() -> None:
    seed = "000_be1adc5db296ce7d.txt"
    doc = rule_file(seed)
    doc["criteria"] = [c for c in doc["criteria"] if c["id"] != "exc-2"]
    items = eligibility_items((SEEDS / seed).read_text(encoding="utf-8"))
    assert [i for i in items if i not in covered(doc)] == [
        "Addition during prior 6 months of randomization of Cyclophosphamide"]
