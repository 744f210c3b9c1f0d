"""Batch screening: stream many patients through one or more trials on every core.

    summary = run_batch("patients.ndjson", [trial_a, trial_b], "out/", as_of=date(2026, 11, 23))

Input is an NDJSON file (one profile per line; ``-`` reads standard input) or a directory
of ``*.json`` files (native profiles or FHIR bundles), read lazily. Records travel to a
process pool in chunks with a bounded number of chunks in flight, and results are written
in input order as they come back, so memory stays flat whatever the number of patients.

Outputs in the output directory:

* ``results.ndjson``: one ``ScreeningResult`` per line and patient-trial pair (the JSON
  contract of ``screening screen --json``);
* ``summary.csv``: patient, trial, verdict, failed and unknown criteria;
* ``funnel-<trial>.csv``: per criterion pass/fail/unknown counts and patients remaining;
* ``errors.ndjson``: one line per record that could not be read, with its file or line.

A bad record is reported and skipped; the others are screened. While running, outputs
live under ``*.partial`` names next to a journal (``batch.journal.partial``) of
checkpoints: each checkpoint records the next input position, the byte sizes of the
partial outputs and the funnel counts, written after the outputs are fsynced. Resuming
truncates the partial outputs to the last checkpoint and continues from its position, so
no patient is screened twice or lost. At the end the partial files are fsynced and
renamed to their final names (atomically), and the journal is removed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from ..errors import BatchError, Problem
from ..report.funnel import Funnel
from ..rules.compiled import CompiledTrial
from ..version import __version__
from .inputs import Source, chunks
from .journal import JOURNAL, JOURNAL_FORMAT, Journal, check_header, journal_as_of
from .outputs import (ERRORS, OUTPUTS, RESULTS, SUMMARY, PartialOutputs, fsync_dir, funnel_name, publish_outputs,
                      start_partials, truncate_partials)
from .worker import make_pool, screen_chunk

__all__ = ["JOURNAL", "BatchError", "BatchSummary", "funnel_name", "journal_as_of", "run_batch"]


@dataclass
class BatchSummary:
    """What a batch run did; ``funnels`` hold the per-trial counts over all records of the run."""

    out_dir: Path
    records: int = 0  # input records handled (screened or reported as errors), resumed ones included
    patients: int = 0  # records screened
    results: int = 0  # patient-trial results written
    errors: int = 0
    resumed_from: int = 0  # records already handled by the interrupted run this one resumed
    funnels: list[Funnel] = field(default_factory=list)
    elapsed: float = 0.0
    already_complete: bool = False

    @property
    def files(self) -> dict[str, Path]:
        names = list(OUTPUTS) + [funnel_name(f.trial) for f in self.funnels]
        return {n: self.out_dir / n for n in names}


def run_batch(source: "str | Path | Source", trials: Sequence[CompiledTrial], out_dir: str | Path, as_of: date,
              complete: Iterable[str] = (), workers: int | None = None, resume: bool = False,
              chunk_size: int | None = None, checkpoint_seconds: float = 2.0,
              progress: Callable[[int, int | None, int], None] | None = None) -> BatchSummary:
    """Screen every record of ``source`` against every trial, writing the outputs into ``out_dir``.

    ``workers``: processes (default: all cores; 1 runs in this process). ``resume``: continue
    the interrupted run in ``out_dir``. ``progress(records_done, total_or_None, errors)`` is
    called as records complete. Raises BatchError for input that stops the run from starting;
    bad records never raise (they go to errors.ndjson).
    """
    started = time.perf_counter()
    # inputs
    trials = _distinct(trials)
    complete = sorted({str(c) for c in complete})
    workers = _workers(workers)
    src = source if hasattr(source, "records") else Source.open(source)  # an open input (OMOP) or a path
    out = _output_dir(out_dir)
    summary = BatchSummary(out_dir=out, funnels=[Funnel.for_trial(t) for t in trials])
    # journal: a new run, or where the interrupted one stopped
    journal = Journal(out / JOURNAL)
    start = _start_or_resume(journal, _header(src, as_of, complete, trials), summary, resume)
    if start is None:
        if not summary.already_complete:
            summary.elapsed = time.perf_counter() - started
        return summary
    # run loop, with progress
    total = src.total()
    if chunk_size is None:
        chunk_size = 64 if total is None else max(1, min(64, total // (workers * 4) or 1))
    writer = _Writer(PartialOutputs(out), journal, summary, start)

    def report() -> None:
        if progress:
            progress(summary.records, total, summary.errors)

    pool = make_pool(workers, trials, as_of, complete, src.name)
    _screen_all(chunks(src.records(start), chunk_size), writer, pool, workers, checkpoint_seconds, report)
    # outputs
    _finish(out, summary, journal)
    summary.elapsed = time.perf_counter() - started
    return summary


WORKERS_PER_CORE = 4  # more processes than this only add memory and switching: screening is CPU-bound


def _workers(workers: int | None) -> int:
    """The number of worker processes: all cores by default; BatchError above WORKERS_PER_CORE per core."""
    cores = os.cpu_count() or 1
    if workers is None:
        return cores
    limit = WORKERS_PER_CORE * cores
    if int(workers) > limit:
        raise BatchError(f"--workers {workers}: at most {limit} on this machine ({WORKERS_PER_CORE} per core, "
                         f"{cores} cores)")
    return max(1, int(workers))


def _distinct(trials: Sequence[CompiledTrial]) -> list[CompiledTrial]:
    """The trials, refused when there are none or two share an id (or ids that clash as file names)."""
    trials = list(trials)
    if not trials:
        raise BatchError("no trials to screen against")
    ids = [t.id for t in trials]
    names = [funnel_name(i) for i in ids]
    if len(set(names)) != len(names):
        dup = next(i for i in ids if names.count(funnel_name(i)) > 1)
        raise BatchError(f"two rule files have the trial id {dup!r} (or ids that clash as file names)")
    return trials


def _output_dir(out_dir: str | Path) -> Path:
    """The output directory, created if need be; BatchError when it is a file or cannot be made."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise BatchError(Problem("the output must be a directory, and this is a file", str(out)))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BatchError(Problem(f"cannot create the output directory: {err.strerror}", str(out))) from None
    return out


def _header(src: Source, as_of: date, complete: list[str], trials: list[CompiledTrial]) -> dict:
    """What a resume must find unchanged: input, screening date, record parts, rule files, version."""
    return {"format": JOURNAL_FORMAT, "input": os.path.abspath(src.path) if src.path != "-" else "-",
            "kind": src.kind, "input_size": src.size(), "as_of": as_of.isoformat(), "complete": complete,
            "trials": [{"id": t.id, "digest": t.digest} for t in trials], "version": __version__}


def _start_or_resume(journal: Journal, header: dict, summary: BatchSummary, resume: bool) -> int | None:
    """The input position to screen from, with the journal open and the partial outputs ready; None when
    there is nothing left to do (the run was complete: published now if it had not been)."""
    out = summary.out_dir
    if journal.path.exists():
        if not resume:
            raise BatchError(Problem(f"holds an interrupted batch run ({JOURNAL}): use --resume to continue it, "
                                     "or delete the *.partial files to start over", str(out)))
        old, last = Journal.read(journal.path)
        check_header(old, header, out)
        start, sizes = 1, {name: 0 for name in OUTPUTS}
        if last is not None:
            start, sizes = int(last["next"]), dict(last["sizes"])
            summary.records, summary.patients = int(last["records"]), int(last["patients"])
            summary.results, summary.errors = int(last["results"]), int(last["errors"])
            summary.resumed_from = summary.records
            for f in summary.funnels:
                f.restore(last["funnels"][f.trial])
            if last.get("done"):
                _finish(out, summary, journal)
                return None
        truncate_partials(out, sizes)
        journal.open(None)
        return start
    if resume and (out / RESULTS).exists():
        summary.already_complete = True
        return None
    sizes = start_partials(out)
    journal.open(header)
    journal.append(_entry(1, sizes, summary))  # a resume before the first checkpoint keeps the CSV header
    fsync_dir(out)
    return 1


class _Writer:
    """Writes the outcomes of each chunk in input order and checkpoints them; between chunks the
    outputs and counts are consistent, which is when an interrupt may land."""

    def __init__(self, outputs: PartialOutputs, journal: Journal, summary: BatchSummary, start: int):
        self.outputs, self.journal, self.summary = outputs, journal, summary
        self.next = start  # the input position after the last record written
        self.consistent = True
        self.interrupted = False

    def handle(self, outcomes: list[tuple]) -> None:
        self.consistent = False
        summary = self.summary
        res, summ, errs = [], io.StringIO(), []
        writer = csv.writer(summ, lineterminator="\n")
        for o in outcomes:
            if o[0] == "ok":
                _, _, lines, rows, letters, verdicts = o
                res.extend(lines)
                writer.writerows(rows)
                for f, s, v in zip(summary.funnels, letters, verdicts):
                    f.add(s, v)
                summary.patients += 1
                summary.results += len(lines)
            else:
                errs.append(json.dumps(o[2], ensure_ascii=False))
                summary.errors += 1
        self.outputs.append(RESULTS, res)
        self.outputs.append_text(SUMMARY, summ.getvalue())
        self.outputs.append(ERRORS, errs)
        summary.records += len(outcomes)
        self.next = outcomes[-1][1] + 1
        self.consistent = True
        if self.interrupted:
            raise KeyboardInterrupt

    def checkpoint(self, done: bool = False) -> None:
        self.journal.append(_entry(self.next, self.outputs.sync(), self.summary, done))

    def on_sigint(self, signum, frame) -> None:
        """Ctrl-C lands between chunks, so the last checkpoint keeps all finished work."""
        if self.consistent:
            raise KeyboardInterrupt
        self.interrupted = True

    def abandon(self) -> None:
        """After a failure or an interrupt: keep what is complete (a resume continues from here), close."""
        if self.consistent:
            try:
                self.checkpoint()
            except Exception:
                pass
        self.outputs.close()
        self.journal.close()


def _screen_all(work: Iterator[list], writer: _Writer, pool, workers: int, checkpoint_seconds: float,
                report: Callable[[], None]) -> None:
    """Send chunks to the pool with a bounded number in flight, write them back in order, checkpoint."""
    pending: deque = deque()
    last_checkpoint = time.monotonic()
    previous = _install_sigint(writer.on_sigint)
    try:
        report()
        for chunk in work:
            pending.append(pool.submit(screen_chunk, chunk))
            while len(pending) >= workers * 3:
                writer.handle(pending.popleft().result())
                report()
                if time.monotonic() - last_checkpoint >= checkpoint_seconds:
                    writer.checkpoint()
                    last_checkpoint = time.monotonic()
        while pending:
            writer.handle(pending.popleft().result())
            report()
        writer.checkpoint(done=True)
    except BaseException:
        for f in pending:
            f.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        writer.abandon()
        raise
    finally:
        _restore_sigint(previous)
    pool.shutdown()
    writer.outputs.close()


def _entry(next_position: int, sizes: dict, summary: BatchSummary, done: bool = False) -> dict:
    """A checkpoint: where to continue, how long each partial output is, and the counts so far."""
    return {"next": next_position, "sizes": sizes, "records": summary.records, "patients": summary.patients,
            "results": summary.results, "errors": summary.errors,
            "funnels": {f.trial: f.state() for f in summary.funnels}, "done": done}


def _finish(out: Path, summary: BatchSummary, journal: Journal) -> None:
    """Write the funnels, publish the partial outputs under their final names, drop the journal."""
    journal.close()
    publish_outputs(out, summary.funnels)
    os.unlink(journal.path)
    fsync_dir(out)


def _install_sigint(handler):
    """Use ``handler`` for SIGINT where Python allows it (main thread) and SIGINT is not ignored."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:
        return None  # ignored (a background job) or handled by the caller: leave it alone
    signal.signal(signal.SIGINT, handler)
    return previous


def _restore_sigint(previous) -> None:
    if previous is not None:
        import signal

        signal.signal(signal.SIGINT, previous)
