"""The Python path for what the SQL path refers to it: only the referred criteria, on worker processes.

The SQL query decides most statuses; for the rest (per person and trial, the criteria an atom
referred, and the parts of bullets with their own and/or) the persons are read from the database in
chunks (one query per table for a chunk of persons, ``OmopSource``), and each is screened for those
criteria only: the trial's closures (``engine.program``) run for the referred criteria on the same
per-screen state the engine's ``screen`` uses, so a status is the one ``screen`` gives. Chunks are
screened on a process pool while the next chunk is read.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from typing import Iterable, Iterator, Sequence

from ..engine.evaluate import bullets_of
from ..engine.items import Env
from ..engine.program import inferences_of, program_of
from ..engine.records import PatientView
from ..model.patient import Category, Patient
from ..rules.compiled import CompiledTrial
from ..sources.omop.reader import OmopSource, PersonMapper

# persons per task sent to a worker; fewer referred persons than this are screened in this process
TASK = 200
_PARTS = frozenset(c.value for c in Category)


def view_of(patient: Patient, as_of: dt.date, complete: Iterable[str]) -> PatientView:
    """The patient's records as ``screen`` sees them on ``as_of`` (the same for every trial)."""
    parts = frozenset(str(c) for c in complete) | frozenset(str(c) for c in patient.complete)
    if parts - _PARTS:  # as screen() refuses them
        raise ValueError(f"unknown record parts in complete: {sorted(parts - _PARTS)}")
    return PatientView(patient, as_of, parts)


def screen_referred(patient: Patient, trial: CompiledTrial, as_of: dt.date, complete: Iterable[str],
                    want: Iterable[str], view: PatientView | None = None,
                    own: frozenset[str] = frozenset()) -> tuple[dict[str, str], dict[str, str]]:
    """The statuses of the criteria ``want`` of ``trial`` for ``patient`` as ``engine.evaluate.screen`` gives
    them, and the statuses of the trial's bullets with their own and/or (each from all its parts), without
    running the other criteria nor writing the result's reasons. ``own``: the bullets with their own and/or
    (``population.own_bullets``), whose statuses are wanted. ``view``: the patient's ``view_of`` on
    ``as_of`` with ``complete``, made once for several trials (look-ups only: a screen does not change it)."""
    if view is None:
        view = view_of(patient, as_of, complete)
    want = frozenset(want)
    wanted = want | {c.id for c in trial.rules.criteria if c.parent in own}
    env = Env(trial, view, inferences_of(trial))
    runs = [run(env) for cc, run in zip(trial.criteria, program_of(trial)) if cc.criterion.id in wanted]
    got = {r.id: r.status.value for r, _, _ in runs if r.id in want}
    bullets = {}
    if own:
        bullets = {b.bullet: b.status.value for b in bullets_of(trial, [r for r in runs if r[0].parent in own])}
    return got, bullets


Task = tuple[PersonMapper, list[tuple[object, list[tuple[int, list[str]]]]]]  # mapper, [(rows, [(trial, criteria)])]


def _screen_task(task: Task, trials: Sequence[CompiledTrial], own: Sequence[frozenset[str]], as_of: dt.date,
                 complete: Sequence[str]) -> list:
    mapper, persons = task
    out = []
    for person, wants in persons:
        patient, pid = mapper.patient(person), person.row[0]
        view = view_of(patient, as_of, complete)
        for k, want in wants:
            got, bullets = screen_referred(patient, trials[k], as_of, complete, want, view, own[k])
            out.append((pid, k, got, bullets))
    return out


_WORKER: dict = {}


def _init_worker(trials, own, as_of, complete) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt means
    _WORKER.update(trials=list(trials), own=list(own), as_of=as_of, complete=list(complete))


def screen_chunk(task: Task) -> list:
    """A worker's task: persons' rows mapped to profiles and screened for their referred criteria:
    [(person_id, trial index, {criterion: status}, {own bullet: status})]."""
    w = _WORKER
    return _screen_task(task, w["trials"], w["own"], w["as_of"], w["complete"])


def run_fallback(source: OmopSource, refer: dict[int, list[tuple[int, list[str]]]],
                 trials: Sequence[CompiledTrial], own: Sequence[frozenset[str]], as_of: dt.date,
                 complete: Sequence[str], workers: int | None) -> Iterator[tuple]:
    """(person_id, trial index, statuses, own bullet statuses) for every referred person and trial.
    ``source`` reads the referred persons (in chunks), ``refer`` says which criteria of which trials (by
    index) each needs, ``own`` the bullets with their own and/or of each trial. ``workers``: processes
    (None: every core; the CLI checks it as the batch's ``--workers``); fewer persons than one task are
    screened in this process."""
    import multiprocessing
    import os
    import sys
    from concurrent.futures import ProcessPoolExecutor

    n = max(1, int(workers or os.cpu_count() or 1))
    tasks = ((mapper, [(p, refer[p.row[0]]) for p in people[i:i + TASK]])
             for people, mapper in source.rows() for i in range(0, len(people), TASK))
    if len(refer) < TASK:
        for task in tasks:
            yield from _screen_task(task, trials, own, as_of, complete)
        return
    method = "fork" if sys.platform.startswith("linux") else None  # workers inherit the loaded modules
    pool = ProcessPoolExecutor(n, mp_context=multiprocessing.get_context(method), initializer=_init_worker,
                               initargs=(list(trials), list(own), as_of, list(complete)))
    try:
        pending: deque = deque()
        for task in tasks:
            pending.append(pool.submit(screen_chunk, task))
            while len(pending) > 2 * n:  # reading stays a few tasks ahead of the workers, no further
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
