"""Human-readable rendering of results for the terminal (rich tables).

The table is for scanning: one row per criterion (under its bullet when the bullet was split into
parts), the status with "excluded" / "not excluded" in words for exclusions, and a short reason
without chart references or the rule file's reading. The detail view (``print_details``: `screen
--explain`, `explain PATIENT CRITERION`) gives each criterion once in full: its words, the whole
reason, the reading, the evidence and what would decide it.
"""

from __future__ import annotations

import re
from typing import Iterable

from ..model.result import BulletResult, CriterionResult, ScreeningResult

_STATUS_STYLE = {"pass": "green", "fail": "bold red", "unknown": "yellow"}
_VERDICT_STYLE = {"eligible": "bold green", "ineligible": "bold red", "undetermined": "bold yellow"}
_EXCLUSION_WORDS = {"pass": "not excluded", "fail": "excluded", "unknown": None}
_CHART_REFERENCE = re.compile(r" \[[A-Z][A-Za-z]+/[^\]\s]+\]")
_WINDOW_DATES = re.compile(r" before \d{4}-\d\d-\d\d \(since \d{4}-\d\d-\d\d\)")  # the title has the date
BRIEF_WIDTH = 120  # characters of reason in a table row: two lines of the reason column at 100 columns


def status_words(c: CriterionResult | BulletResult) -> str:
    """The status, and for an exclusion what it means in words: 'fail: excluded', 'pass: not excluded'."""
    status = c.status.value
    words = _EXCLUSION_WORDS[status] if c.kind.value == "exclusion" else None
    return f"{status}: {words}" if words else status


def reading_suffix(c: CriterionResult) -> str:
    """The rule file's reading as the reason ends with it (' [reading: ...]'), or ''."""
    return f" [reading: {c.note}]" if getattr(c, "note", None) else ""


def brief_reason(c: CriterionResult, width: int = BRIEF_WIDTH) -> str:
    """The reason for a table row: without the reading and chart references, cut at a clause or word
    boundary near ``width`` characters (' ...' says there is more: the detail view has it)."""
    text = c.reason
    suffix = reading_suffix(c)
    if suffix and text.endswith(suffix):
        text = text[: -len(suffix)]
    text = _WINDOW_DATES.sub("", _CHART_REFERENCE.sub("", _without_why_confirm(text)))
    if len(text) <= width:
        return text
    cut = text.rfind("; ", 0, width)
    if cut < width // 2:
        cut = text.rfind(" ", 0, width)
    return text[: cut if cut > 0 else width].rstrip(" ,;:") + " ..."


def _without_why_confirm(text: str) -> str:
    """'needs confirmation (why a person decides it): ...' without the why (the detail view has it)."""
    head = "needs confirmation ("
    if not text.startswith(head):
        return text
    depth = 0
    for i in range(len(head) - 1, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return "needs confirmation" + text[i + 1:]
    return text


def print_results(results: Iterable[ScreeningResult], console=None, explain: bool = False) -> None:
    """Print one table per result: criterion, status (coloured, in words for exclusions), short reason;
    then the verdict; with ``explain``, every criterion in full after the table."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    for r in results:
        table = Table(title=f"{r.trial} - patient {r.patient} - as of {r.as_of}", show_lines=True, expand=True)
        table.add_column("criterion", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("reason", ratio=1)
        shortened = False
        criteria = {c.id: c for c in r.criteria}
        for key, parts in _rows(r):
            if key is not None:  # a bullet split into parts: its own status, then its parts
                table.add_row(f"[bold]{key.bullet}[/]", _status_cell(key), _escape(f"bullet ({key.combine}): "
                                                                                  f"{key.reason}"))
            for c in (criteria[p] for p in parts):
                brief = brief_reason(c)
                shortened = shortened or brief != c.reason
                label = f"  {c.id}" if key is not None else c.id
                table.add_row(label, _status_cell(c), _escape(brief))
        console.print(table)
        verdict = r.verdict.value
        console.print(f"verdict: [{_VERDICT_STYLE[verdict]}]{verdict}[/]  {_escape(r.summary)}")
        if r.missing:
            console.print("missing data: " + ", ".join(r.missing))
        if r.pending_confirmation:
            console.print("to confirm: " + ", ".join(r.pending_confirmation))
        unmapped = getattr(r, "unmapped", None) or []
        if unmapped:  # chart records that were not used: the coordinator should know
            console.print(f"not used from the chart ({len(unmapped)}):")
            for u in unmapped:
                console.print(f"  {_escape(u.resource)}: {_escape(u.reason)}")
        if explain:
            console.print()
            print_details(r, console=console)
        elif shortened:
            console.print("[dim]reasons shortened; each in full, with its reading and evidence: --explain[/]")
        console.print()


def _rows(r: ScreeningResult) -> list[tuple[BulletResult | None, list[str]]]:
    """Criterion ids in rule-file order, grouped under the bullets that were split into parts."""
    bullets = getattr(r, "bullets", None) or []
    if not bullets:
        return [(None, [c.id for c in r.criteria])]
    return [(b if len(b.parts) > 1 or b.parts[0].id != b.bullet else None, [p.id for p in b.parts])
            for b in bullets]


def _status_cell(c) -> str:
    status = c.status.value
    return f"[{_STATUS_STYLE[status]}]{status_words(c)}[/]"


def details(r: ScreeningResult, only: str | None = None) -> list[str]:
    """The detail view of a result as lines of text: each criterion once, in full. ``only``: one criterion
    id, or a bullet id (its parts). Raises KeyError naming the ids when ``only`` is none of them."""
    chosen = list(r.criteria)
    bullets = {b.bullet: b for b in getattr(r, "bullets", None) or []}
    if only is not None:
        chosen = [c for c in r.criteria if c.id == only or c.parent == only]
        if not chosen:
            ids = ", ".join(dict.fromkeys([c.id for c in r.criteria] + list(bullets)))
            raise KeyError(f"no criterion or bullet {only!r} in {r.trial} (it has: {ids})")
    lines: list[str] = []
    shown_bullets: set[str] = set()
    for c in chosen:
        b = bullets.get(c.parent) if c.parent else None
        if b is not None and b.bullet not in shown_bullets:
            shown_bullets.add(b.bullet)
            lines += [f"{b.bullet} ({b.kind.value} bullet, parts combined by '{b.combine}'): {status_words(b)}",
                      f"  bullet: {_one_line(b.text)}", f"  why: {b.reason}", ""]
        lines.append(f"{c.id} ({c.kind.value}{', part of ' + c.parent if c.parent else ''}): {status_words(c)}")
        lines.append(f"  text: {_one_line(c.text)}")
        reason = c.reason
        suffix = reading_suffix(c)
        if suffix and reason.endswith(suffix):
            reason = reason[: -len(suffix)]
        lines.append(f"  reason: {reason}")
        if getattr(c, "note", None):
            lines.append(f"  reading: {c.note}")
        if c.applicable is not True:
            lines.append("  applies: " + ("no" if c.applicable is False else "not known"))
        for e in c.evidence:
            lines.append(f"  evidence: {evidence_line(e)}")
        if c.missing:
            lines.append("  would be decided by (chart data): " + ", ".join(c.missing))
        if c.needs_confirmation and c.status.value == "unknown":
            lines.append("  would be decided by: a person's confirmation")
        for u in c.unrecognised:
            lines.append(f"  could not be ruled out: {u.record} ({u.why}); ask: {u.question}")
        lines.append("")
    return lines


def print_details(r: ScreeningResult, only: str | None = None, console=None) -> None:
    """Print the detail view (``details``) of one result."""
    from rich.console import Console

    console = console or Console()
    console.print(f"[bold]{_escape(r.trial)} - patient {_escape(r.patient)} - as of {r.as_of}: "
                  f"{r.verdict.value}[/]")
    for line in details(r, only):
        console.print(_escape(line), soft_wrap=True)


def evidence_line(e, digits: int = 4) -> str:
    """One piece of evidence as recorded and converted (to ``digits`` significant digits), with its
    date, record and chart reference."""
    parts = [f"{e.item}:"]
    if e.value is not None:
        parts.append(f"{e.value}{' ' + e.unit if e.unit else ''}")
    if e.converted is not None and (e.converted != e.value or e.converted_unit != e.unit):
        parts.append(f"(= {e.converted:.{digits}g} {e.converted_unit or ''})".replace(" )", ")"))
    if e.date:
        parts.append(f"on {e.date.isoformat()}")
    if e.record:
        parts.append(f"'{e.record}'")
    if e.source:
        parts.append(f"[{e.source}]")
    return " ".join(parts)


def _one_line(text: str) -> str:
    return " / ".join(line.strip() for line in text.splitlines() if line.strip())


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
