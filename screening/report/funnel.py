"""Attrition funnel of one trial over a cohort, as cohort-selection tools report it.

Per criterion, in rule-file order: how many patients pass, fail or are unknown, and how
many remain after it: ``remaining`` counts patients not failed by this or any earlier
criterion (they may still be eligible), ``all_passed`` those that passed all of them.
A patient's outcome is given as a string of status letters, one per criterion
(``p`` pass, ``f`` fail, ``u`` unknown), which is what batch workers send back.
"""

from __future__ import annotations

import csv
from typing import IO, Iterable

from ..model.result import ScreeningResult

LETTER = {"pass": "p", "fail": "f", "unknown": "u"}
COLUMNS = ["step", "criterion", "kind", "text", "pass", "fail", "unknown", "remaining", "all_passed"]


def status_letters(result: ScreeningResult) -> str:
    """The result's criterion statuses as letters, in rule-file order."""
    return "".join(LETTER[c.status.value] for c in result.criteria)


PENDING = "pending_confirmation"


def verdict_key(result: ScreeningResult) -> str:
    """The verdict, or PENDING for an undetermined result whose unknowns all await a person (a deceased patient's
    result is ineligible whatever its criteria say: never pending)."""
    if result.verdict.value == "undetermined" and result.unknown and \
            len(result.pending_confirmation) == len(result.unknown) and not result.failed:
        return PENDING
    return result.verdict.value


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A CSV cell that a spreadsheet shows as text: a string starting like a formula ('=', '+', '-', '@')
    gets a leading apostrophe, so that opening the file runs nothing (OWASP's CSV-injection advice)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def unsafe_cell(value: str) -> str:
    """The value ``spreadsheet_safe`` wrote ``value`` for."""
    return value[1:] if value.startswith("'") and value[1:2] in _FORMULA_START and value[1:2] != "" else value


class Funnel:
    """Counts for one trial; add one status string per patient screened."""

    def __init__(self, trial: str, criteria: Iterable[tuple[str, str, str]]):
        self.trial = trial
        self.criteria = [tuple(c) for c in criteria]  # (id, kind, text)
        n = len(self.criteria)
        self.screened = 0
        self.counts = {"p": [0] * n, "f": [0] * n, "u": [0] * n}
        self.first_fail = [0] * n  # patients whose first failed criterion is this one
        self.first_not_pass = [0] * n  # patients whose first fail-or-unknown criterion is this one
        self.verdicts = {"eligible": 0, "ineligible": 0, "undetermined": 0}
        self.pending = 0  # undetermined only for want of a person's confirmation

    @classmethod
    def for_trial(cls, trial) -> "Funnel":
        """An empty funnel for a compiled trial."""
        return cls(trial.id, [(c.criterion.id, c.criterion.kind.value, c.criterion.text) for c in trial.criteria])

    def add(self, letters: str, verdict: str, count: int = 1) -> None:
        """Count ``count`` patients with these status letters and this verdict (or PENDING, see
        ``verdict_key``)."""
        if len(letters) != len(self.criteria):
            raise ValueError(f"{self.trial}: {len(letters)} statuses for {len(self.criteria)} criteria")
        self.screened += count
        if verdict == PENDING:
            self.pending += count
            verdict = "undetermined"
        self.verdicts[verdict] += count
        counts = self.counts
        for i, s in enumerate(letters):
            counts[s][i] += count
        f = letters.find("f")
        if f >= 0:
            self.first_fail[f] += count
        for i, s in enumerate(letters):
            if s != "p":
                self.first_not_pass[i] += count
                break

    def add_result(self, result: ScreeningResult) -> None:
        self.add(status_letters(result), verdict_key(result))

    def rows(self) -> list[dict]:
        """One row per criterion (after a step-0 row for everyone screened), cumulative counts included."""
        out = [{"step": 0, "criterion": "(screened)", "kind": "", "text": "", "pass": "", "fail": "", "unknown": "",
                "remaining": self.screened, "all_passed": self.screened}]
        remaining = passed = self.screened
        for i, (cid, kind, text) in enumerate(self.criteria):
            remaining -= self.first_fail[i]
            passed -= self.first_not_pass[i]
            out.append({"step": i + 1, "criterion": cid, "kind": kind, "text": text, "pass": self.counts["p"][i],
                        "fail": self.counts["f"][i], "unknown": self.counts["u"][i], "remaining": remaining,
                        "all_passed": passed})
        return out

    def write_csv(self, fh: IO[str]) -> None:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: spreadsheet_safe(v) for k, v in row.items()} for row in self.rows())

    def table(self):
        """A rich Table of the funnel, for the terminal."""
        from rich.markup import escape
        from rich.table import Table

        v = self.verdicts
        table = Table(title=f"{escape(self.trial)}: attrition over {self.screened} patients",
                      caption=f"eligible {v['eligible']}, ineligible {v['ineligible']}, "
                              f"undetermined {v['undetermined']} ({self.pending} of them awaiting only a "
                              f"person's confirmation)", caption_justify="left")
        for name, justify in [("#", "right"), ("criterion", "left"), ("kind", "left"), ("pass", "right"),
                              ("fail", "right"), ("unknown", "right"), ("remaining", "right"),
                              ("all passed", "right")]:
            table.add_column(name, justify=justify, no_wrap=name != "criterion")
        for r in self.rows():
            table.add_row(str(r["step"]), escape(r["criterion"]), r["kind"], str(r["pass"]), str(r["fail"]),
                          str(r["unknown"]), str(r["remaining"]), str(r["all_passed"]))
        return table

    # state for a checkpoint journal (plain JSON types)
    def state(self) -> dict:
        return {"screened": self.screened, "counts": self.counts, "first_fail": self.first_fail,
                "first_not_pass": self.first_not_pass, "verdicts": self.verdicts, "pending": self.pending}

    def restore(self, state: dict) -> None:
        n = len(self.criteria)
        if any(len(state["counts"][k]) != n for k in "pfu") or len(state["first_fail"]) != n:
            raise ValueError(f"{self.trial}: checkpoint counts do not match the trial's {n} criteria")
        self.screened = int(state["screened"])
        self.counts = {k: list(map(int, state["counts"][k])) for k in "pfu"}
        self.first_fail = list(map(int, state["first_fail"]))
        self.first_not_pass = list(map(int, state["first_not_pass"]))
        self.verdicts = {k: int(state["verdicts"][k]) for k in self.verdicts}
        self.pending = int(state.get("pending", 0))


def print_funnels(funnels: Iterable[Funnel], console=None) -> None:
    """Print each funnel's table (to ``console``, else standard output)."""
    from rich.console import Console

    console = console or Console()
    for f in funnels:
        console.print(f.table())
