"""The evaluation program of a trial: each IR node compiled once into a closure (atoms in
``atoms.py``, data items in ``items.py``), joined by Kleene logic; each criterion's closure
gives its status, reason, evidence and what is missing.

Built from the IR beside the compiled trial, not by it: ``program_of`` builds it on first use
and keeps it in the trial's memo, so every patient screened against the trial reuses it.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Iterable

from ..model.result import CriterionResult, build
from ..model.rulefile import Kind
from ..rules import ir as X
from ..rules.compiled import CompiledCriterion, CompiledTrial
from ..values.logic import FAIL, PASS, UNKNOWN, Status, and_, not_, or_
from .atoms import Outcome, Program, compile_atom
from .events import EVENT_SOURCES, compile_event_compare
from .items import Env, format_reasons

def program_of(trial: CompiledTrial) -> tuple:
    """The closures of every criterion of ``trial``, built on first use and kept with the trial."""
    program = trial.memo.get("program")
    if program is None:  # two threads may both build it: the same closures, either is kept
        program = trial.memo["program"] = build_program(trial)
    return program


def _merge(outcomes: Iterable[Outcome], status: Status) -> Outcome:
    reasons, evidence, missing, unrecognised = [], {}, [], []
    for o in outcomes:
        reasons.extend(o.reasons)
        for e in o.evidence:
            evidence[id(e)] = e
        missing.extend(o.missing)
        unrecognised.extend(o.unrecognised)
    return Outcome(status, tuple(reasons), tuple(evidence.values()), tuple(dict.fromkeys(missing)),
                   tuple(dict.fromkeys(unrecognised)))


def _compile_junction(programs: list[Program], is_and: bool) -> Program:
    decisive = FAIL if is_and else PASS
    combine = and_ if is_and else or_

    def run(env: Env) -> Outcome:
        outs = [p(env) for p in programs]
        status = combine(o.status for o in outs)
        if status is decisive:
            return _merge((o for o in outs if o.status is decisive), status)
        if status is UNKNOWN and not is_and:  # what is open, then the alternatives that failed (named, not asked)
            open_ = _merge((o for o in outs if o.status is UNKNOWN), status)
            failed = [o for o in outs if o.status is FAIL]
            if not failed:
                return open_
            closed = _merge(failed, FAIL)
            return Outcome(status, open_.reasons + closed.reasons, open_.evidence + closed.evidence,
                           open_.missing, open_.unrecognised)
        # all parts: for an undecided 'and', what already holds shows why the open part matters
        # ('methylprednisolone started ...; no record of whether it was a bolus')
        return _merge(outs, status)

    return run


def compile_node(trial: CompiledTrial, node: Any, siblings: tuple[str, ...] = ()) -> Program:
    """Turn an IR node into a closure over an Env."""
    if isinstance(node, X.And) or isinstance(node, X.Or):
        return _compile_junction([compile_node(trial, n, siblings) for n in node.items], isinstance(node, X.And))
    if isinstance(node, X.Not):
        inner = compile_node(trial, node.item, siblings)

        def negate(env: Env) -> Outcome:
            o = inner(env)
            return Outcome(not_(o.status), o.reasons, o.evidence, o.missing, o.unrecognised)

        return negate
    if isinstance(node, X.Compare) and isinstance(node.source, EVENT_SOURCES):
        return compile_event_compare(trial, node)
    if isinstance(node, X.Const):
        out = Outcome(PASS if node.value else FAIL, ("constant " + ("true" if node.value else "false"),))
        return lambda env: out
    return compile_atom(trial, node, siblings)


# ---------------------------------------------------------------- criteria and verdict


def _compile_criterion(trial: CompiledTrial, cc: CompiledCriterion, own: dict | None = None):
    c = cc.criterion
    rule = _compile_alternatives(cc.rule, own if own is not None else {}) if isinstance(cc.rule, X.AtLeast) else \
        compile_node(trial, cc.rule, cc.items)
    applies = compile_node(trial, cc.applies_if, cc.items) if cc.applies_if is not None else None
    exclusion = c.kind is Kind.EXCLUSION
    note = f" [reading: {c.note}]" if c.note else ""
    # a rule with confirm: a person's recorded confirmation decides when the data cannot, or when it is
    # dated no earlier than the newest data (the person has seen them); the reason keeps what the data said
    confirmation = compile_node(trial, X.FactIs(X.CONFIRMATION + c.id)) if c.confirm and c.rule else None

    by_design = frozenset(c.absent_means_no)
    if by_design:
        rule = _absent_means_no(rule, by_design)

    def run(env: Env) -> tuple[CriterionResult, Status, Status]:
        """The criterion's result, with whether it applies and whether its rule holds (for its bullet)."""
        r = rule(env)
        if confirmation is not None:
            f = confirmation(env)
            if f.status is not UNKNOWN:
                said = format_reasons(f.reasons)
                if r.status is UNKNOWN or _not_older(f, r, env.as_of):
                    r = Outcome(f.status, (f"{said}, which decides; the data: {format_reasons(r.reasons)}",),
                                f.evidence + r.evidence)
                else:
                    why = "older than the data" if f.evidence and f.evidence[0].date else "undated"
                    r = Outcome(r.status, r.reasons + (f"{said}: {why}, not used over the data",),
                                r.evidence + f.evidence)
        a = applies(env) if applies is not None else None
        a_status = a.status if a is not None else PASS
        if exclusion:
            met = and_((a_status, r.status))
            status = not_(met)
        else:
            status = met = or_((not_(a_status), r.status))
        unrecognised = ()
        if a_status is FAIL:
            reason, evidence, missing = "not applicable: " + format_reasons(a.reasons), a.evidence, ()
        elif a_status is UNKNOWN and status is UNKNOWN:
            reason = "not known whether it applies (" + format_reasons(a.reasons) + "); " + format_reasons(r.reasons)
            evidence = tuple({id(e): e for e in a.evidence + r.evidence}.values())
            missing = tuple(dict.fromkeys(a.missing + r.missing))
            unrecognised = a.unrecognised + r.unrecognised
        else:
            reason, evidence = format_reasons(r.reasons), r.evidence
            missing = r.missing if status is UNKNOWN else ()
            unrecognised = r.unrecognised if status is UNKNOWN else ()
            if c.confirm and a is not None and a_status is PASS:
                # what a person is asked to confirm is about the records that made it apply: name them
                reason += "; applies: " + format_reasons(a.reasons)
                evidence = tuple({id(e): e for e in r.evidence + a.evidence}.values())
        if c.confirm:
            missing = tuple(m for m in missing if not m.startswith(X.CONFIRMATION))
        if status is UNKNOWN and c.confirm:
            reason = f"needs confirmation ({c.confirm}): {reason}"
        return build(CriterionResult,
            id=c.id, kind=c.kind, text=c.text, bullet=c.bullet, status=status, met=met.as_bool(),
            reason=reason + note, evidence=list(evidence), missing=list(missing),
            needs_confirmation=c.confirm is not None, applicable=(a_status.as_bool()),
            unrecognised=list(dict.fromkeys(unrecognised)), parent=c.parent, note=c.note,
        ), a_status, r.status

    return run


def _absent_means_no(rule: Program, parts: frozenset) -> Program:
    """The rule read as if ``parts`` were complete (absence by design), with its own memo of items, and a
    reason that says so when it decided."""
    said = ", ".join(sorted(parts))

    def run(env: Env) -> Outcome:
        missing = parts - env.complete
        if not missing:
            return rule(env)
        saved = env.complete, env.view.complete, env.memo
        env.complete = env.view.complete = env.complete | parts
        env.memo = {}
        try:
            o = rule(env)
        finally:
            env.complete, env.view.complete, env.memo = saved
        if o.status is UNKNOWN:
            return o
        return Outcome(o.status, o.reasons + (f"[by design of this criterion, no record in {said} counts as no]",),
                       o.evidence, o.missing, o.unrecognised)
    return run


def _not_older(confirmation: Outcome, data: Outcome, as_of: date) -> bool:
    """Is a dated confirmation no older than the newest dated evidence the data decided on?
    (A plan is dated when it is to happen, after the screening date: it counts as of that date.)"""
    when = confirmation.evidence[0].date if confirmation.evidence else None
    days = [min(e.date, as_of) for e in data.evidence if e.date is not None]
    return when is not None and (not days or when >= max(days))


def inferences_of(trial: CompiledTrial) -> dict:
    """The closures of the trial's inferred facts, built on first use and kept with the trial."""
    inferences = trial.memo.get("inferences")
    if inferences is None:
        inferences = trial.memo["inferences"] = build_inferences(trial)
    return inferences


def build_inferences(trial: CompiledTrial) -> dict:
    """Closures for the inferences of fact items: item -> ((program, value when it holds, text), ...)."""
    return {name: tuple((compile_node(trial, node), then, text) for node, then, text in spec.inferences)
            for name, spec in trial.items.items() if spec.inferences}


def build_program(trial: CompiledTrial) -> tuple:
    """Closures for every criterion of a trial (built once, reused for every patient).

    A bullet with ``at_least`` holds when enough of its nested bullets (alternatives) hold; each
    alternative is evaluated once per screen (memoised), shows its own reading, and takes the status
    of the outermost such bullet, so the verdict reads the bullet once, whatever the alternatives say.
    """
    own: dict[str, Any] = {}
    for cc in trial.criteria:
        own[cc.criterion.id] = _memoised(cc.criterion.id, _compile_criterion(trial, cc, own))
    out = []
    for cc in trial.criteria:
        run = own[cc.criterion.id]
        out.append(run if cc.group is None else _alternative(cc, run, own[cc.group]))
    return tuple(out)


def _memoised(cid: str, run):
    key = "criterion:" + cid  # item names never hold a colon

    def memo(env: Env) -> tuple:
        hit = env.memo.get(key)
        if hit is None:
            hit = env.memo[key] = run(env)
        return hit
    return memo


def _alternative(cc: CompiledCriterion, run, group_run):
    """An alternative's result: its own reading, with the status of the bullet it is an alternative of."""
    parent = cc.criterion.parent

    def alt(env: Env) -> tuple:
        (mine, _, _), (group, group_applies, group_holds) = run(env), group_run(env)
        said = "holds" if mine.met else "does not hold" if mine.met is False else "not known to hold"
        reason = (f"this alternative {said}: {mine.reason} [one of the alternatives of {parent}; "
                  f"{group.id}: {group.status.value}]")
        unknown = group.status is UNKNOWN
        # its bullet reads the outermost bullet's applicability and whether it holds: the alternatives of one
        # bullet all say the same, so the bullet (and the verdict) is the outermost bullet's
        return mine.model_copy(update={"status": group.status, "reason": reason,
                                       "missing": list(group.missing) if unknown else [],
                                       "unrecognised": list(group.unrecognised) if unknown else []}), \
            group_applies, group_holds
    return alt


def _compile_alternatives(node: X.AtLeast, own: dict) -> Program:
    """Kleene 'at least n of': pass when n alternatives hold, fail when fewer than n could."""
    def run(env: Env) -> Outcome:
        results = [(cid, own[cid](env)[0]) for cid in node.children if cid in own]
        held = [(cid, r) for cid, r in results if r.met is True]
        open_ = [(cid, r) for cid, r in results if r.met is None]
        need = "one" if node.n == 1 else f"at least {node.n}"
        if len(held) >= node.n:
            return Outcome(PASS, (f"{need} of the following holds: "
                                  + "; ".join(f"{cid}: {r.reason}" for cid, r in held),),
                           tuple(e for _, r in held for e in r.evidence))
        if len(held) + len(open_) < node.n:
            return Outcome(FAIL, (f"{'none' if not held else f'only {len(held)}'} of the {len(results)} "
                                  f"alternatives holds (needs {need}): "
                                  + "; ".join(f"{cid}: {r.reason}" for cid, r in results),),
                           tuple(e for _, r in results for e in r.evidence))
        return Outcome(UNKNOWN, (f"{len(held)} of the alternatives hold{'s' if len(held) == 1 else ''} and "
                                 f"{len(open_)} cannot be told (needs {need}): "
                                 + "; ".join(f"{cid}: {r.reason}" for cid, r in open_ + held),),
                       tuple(e for _, r in open_ for e in r.evidence),
                       tuple(dict.fromkeys(m for _, r in open_ for m in r.missing)),
                       tuple(u for _, r in open_ for u in r.unrecognised))
    return run
