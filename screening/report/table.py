"""Human-readable rendering of results for the terminal (rich tables)."""

from __future__ import annotations

from typing import Iterable

from ..model.result import ScreeningResult

_STATUS_STYLE = {"pass": "green", "fail": "bold red", "unknown": "yellow"}
_VERDICT_STYLE = {"eligible": "bold green", "ineligible": "bold red", "undetermined": "bold yellow"}


def print_results(results: Iterable[ScreeningResult], console=None) -> None:
    """Print one table per result: criterion, kind, status (coloured), reason; then the verdict."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    for r in results:
        table = Table(title=f"{r.trial} - patient {r.patient} - as of {r.as_of}", show_lines=True, expand=True)
        table.add_column("criterion", no_wrap=True)
        table.add_column("kind", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("reason", ratio=1)
        for c in r.criteria:
            status = c.status.value
            table.add_row(c.id, c.kind.value, f"[{_STATUS_STYLE[status]}]{status}[/]", _escape(c.reason))
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
        console.print()


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
