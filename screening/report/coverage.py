"""Coverage of a rule file: how much of a trial a machine decides, and what data it needs.

``coverage`` is a pure function of a compiled trial: it counts criteria that carry a
rule (machine-decidable) and criteria only a person can decide (``confirm:`` without a
rule), and lists the data items and concept sets the rules read, so a site knows which
parts of its records must be mapped before screening can run.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..model.rulefile import DataType, Kind
from ..rules import ir as X
from ..rules.compiled import CompiledTrial


class TrialCoverage(BaseModel):
    """What one rule file decides by machine and what it needs from the record."""

    model_config = ConfigDict(frozen=True)

    trial: str
    title: str
    source: str | None = None
    criteria: int = Field(description="Criteria (and separately decidable parts of bullets).")
    inclusions: int
    exclusions: int
    machine: int = Field(description="Criteria with a rule: decided from the record.")
    confirm: int = Field(description="Criteria without a rule: a person must confirm them.")
    machine_share: float = Field(description="machine / criteria, 0 to 1.")
    conditional: int = Field(description="Criteria with applies_if (e.g. women of childbearing potential).")
    confirm_ids: list[str] = Field(default_factory=list, description="Ids of the criteria a person decides.")
    drafts: int = Field(0, description="Criteria drafted by `screening new` and not yet encoded (among confirm).")
    data_items: list[str] = Field(default_factory=list,
                                  description="Data items the rules read, with the operands of derived items.")
    builtins: list[str] = Field(default_factory=list, description="Built-in values read: age (birth date), sex.")
    concept_sets: list[str] = Field(default_factory=list, description="Concept sets the rules read.")
    record_parts: list[str] = Field(default_factory=list,
                                    description="Parts of the profile read: observations, conditions, ...")


def coverage(trial: CompiledTrial) -> TrialCoverage:
    """Coverage of one compiled trial (no I/O)."""
    items: list[str] = []
    builtins: list[str] = []
    concepts: list[str] = []
    parts: set[str] = set()
    for cc in trial.criteria:
        for node in (cc.rule, cc.applies_if):
            if node is None:
                continue
            for n in X.walk(node):
                if isinstance(n, X.Compare) and X.source_concepts(n.source):
                    for concept, part in X.source_concepts(n.source):
                        concepts.append(concept)
                        parts.add(part)
                elif isinstance(n, X.Compare):
                    name = n.source.name if isinstance(n.source, X.Item) else n.source.item
                    if name in X.BUILTIN_SYMBOLS:
                        builtins.append(name)
                    else:
                        items.append(name)
                elif isinstance(n, X.FactIs) and not n.item.startswith(X.CONFIRMATION):
                    items.append(n.item)
                elif isinstance(n, X.Records):
                    concepts.append(n.concept)
                    parts.add(X.RECORD_FUNCTIONS[n.function][0])
    needed = _with_operands(trial, items)
    for name in needed:
        spec = trial.items[name]
        parts.add("facts" if spec.dtype is DataType.FACT else "observations")
    crits = [cc.criterion for cc in trial.criteria]
    confirm_ids = [c.id for c in crits if c.rule is None and c.at_least is None]
    total = len(crits)
    machine = total - len(confirm_ids)
    return TrialCoverage(
        trial=trial.id,
        title=trial.info.title,
        source=trial.info.source,
        criteria=total,
        inclusions=sum(c.kind is Kind.INCLUSION for c in crits),
        exclusions=sum(c.kind is Kind.EXCLUSION for c in crits),
        machine=machine,
        confirm=len(confirm_ids),
        machine_share=round(machine / total, 3) if total else 0.0,
        conditional=sum(c.applies_if is not None for c in crits),
        confirm_ids=confirm_ids,
        drafts=sum(c.draft for c in crits),
        data_items=needed,
        builtins=sorted(set(builtins)),
        concept_sets=sorted(set(concepts)),
        record_parts=sorted(parts),
    )


def _with_operands(trial: CompiledTrial, names: list[str]) -> list[str]:
    """The names, plus (recursively) the operands of derived items, sorted and unique."""
    out: set[str] = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        if name in out:
            continue
        out.add(name)
        formula = trial.items[name].formula
        if formula is not None:
            stack.extend(formula.operands)
    return sorted(out)


def print_coverage(rows: list[TrialCoverage], console=None) -> None:
    """A rich table: one row per trial."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    table = Table(title="Rule-file coverage", show_lines=True)
    table.add_column("trial", overflow="fold")
    for name in ("criteria", "by data", "to confirm", "%"):
        table.add_column(name, justify="right")
    table.add_column("data items", overflow="fold")  # one per line: the lists are long
    table.add_column("concept sets", overflow="fold")
    for r in rows:
        confirm = f"{r.confirm}\n({r.drafts} drafts)" if r.drafts else str(r.confirm)
        table.add_row(escape(r.trial), str(r.criteria), str(r.machine), confirm,
                      f"{100 * r.machine_share:.0f}%",
                      escape("\n".join(r.builtins + r.data_items)), escape("\n".join(r.concept_sets)))
    console.print(table)
