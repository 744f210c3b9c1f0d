"""Helpers for engine tests: trials built from tests/data/items.yaml plus a few criteria."""

from __future__ import annotations

import textwrap
from datetime import date
from functools import lru_cache
from pathlib import Path

from screening import compile_text, screen

DATA = Path(__file__).resolve().parent.parent / "data"
AS_OF = date(2026, 11, 23)


@lru_cache(maxsize=None)
def make_trial(criteria: str):
    """Compile items.yaml with ``criteria`` (YAML list items, dedented) as its criteria."""
    text = (DATA / "items.yaml").read_text(encoding="utf-8")
    text += "criteria:\n" + textwrap.indent(textwrap.dedent(criteria).strip("\n"), "  ") + "\n"
    return compile_text(text, "items.yaml")


def criterion(rule: str, kind: str = "inclusion", **extra: str):
    """A trial with one criterion 'c' whose rule is ``rule``."""
    lines = ["- id: c", f"  kind: {kind}", "  text: test criterion", f"  rule: {rule!r}" if "'" not in rule
             else f'  rule: "{rule}"']
    lines += [f"  {k}: \"{v}\"" for k, v in extra.items()]
    return make_trial("\n".join(lines))


def run(trial, patient: dict, as_of: date = AS_OF, complete=None):
    """Screen ``patient`` (a dict; id added) and return the single criterion result and the whole result."""
    result = screen({"id": "t", **patient}, trial, as_of=as_of, complete=complete)
    return result.criteria[0], result


def obs(name: str, value, unit: str | None = None, day: str = "2026-11-01", **extra) -> dict:
    out = {"name": name, "value": value, "date": day, **extra}
    if unit is not None:
        out["unit"] = unit
    return out
