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
from ..report.funnel import Funnel, spreadsheet_safe, unsafe_cell
from ..rules.compiled import CompiledTrial
from ..version import __version__
from .inputs import Source, chunks
from .journal import JOURNAL, JOURNAL_FORMAT, Journal, check_header, journal_as_of
from .outputs import (ERRORS, OUTPUTS, RESULTS, SUMMARY, PartialOutputs, fsync_dir, funnel_name, publish_outputs,
                      start_partials, truncate_partials)
from .worker import make_pool, screen_chunk

__all__ = ["JOURNAL", "BatchError", "BatchSummary", "Interrupted", "funnel_name", "journal_as_of", "run_batch"]


CHUNK_TIMEOUT = 600.0  # seconds for one chunk (at most 64 records): far above any real record's time


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
    seen: dict = field(default_factory=dict, repr=False)  # patient id -> where it was first screened

    @property
    def files(self) -> dict[str, Path]:
        names = list(OUTPUTS) + [funnel_name(f.trial) for f in self.funnels]
        return {n: self.out_dir / n for n in names}


def run_batch(source: "str | Path | Source", trials: Sequence[CompiledTrial], out_dir: str | Path, as_of: date,
              complete: Iterable[str] = (), workers: int | None = None, resume: bool = False,
              chunk_size: int | None = None, checkpoint_seconds: float = 2.0,
              progress: Callable[[int, int | None, int], None] | None = None,
              chunk_timeout: float | None = CHUNK_TIMEOUT) -> BatchSummary:
    """Screen every record of ``source`` against every trial, writing the outputs into ``out_dir``.

    ``workers``: processes (default: all cores; one is a process too, so that a record that kills it is
    reported and skipped). ``resume``: continue
    the interrupted run in ``out_dir``. ``progress(records_done, total_or_None, errors)`` is
    called as records complete. Raises BatchError for input that stops the run from starting;
    bad records never raise (they go to errors.ndjson). ``chunk_timeout``: seconds a worker may
    spend on one chunk; a chunk that takes longer, or whose worker dies (out of memory, a signal),
    is screened again record by record, and the record that stops a worker is reported and skipped.
    """
    started = time.perf_counter()
    if resume and str(source) == "-":
        raise BatchError("standard input cannot be resumed (it cannot be read again): save it to a file and "
                         "run the batch on the file")
    # inputs
    trials = _distinct(trials)
    complete = sorted({str(c) for c in complete})
    workers = worker_count(workers)
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
    writer = _Writer(PartialOutputs(out), journal, summary, start, src)

    def report() -> None:
        if progress:
            progress(summary.records, total, summary.errors)

    pool_factory = lambda n: make_pool(n, trials, as_of, complete, src.name)  # noqa: E731
    _screen_all(chunks(src.records(start), chunk_size), writer, pool_factory, workers, checkpoint_seconds, report,
                chunk_timeout)
    # outputs
    _finish(out, summary, journal)
    summary.elapsed = time.perf_counter() - started
    return summary


WORKERS_PER_CORE = 4  # more processes than this only add memory and switching: screening is CPU-bound


def worker_count(workers: int | None) -> int:
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
            "kind": src.kind, "input_hash": src.fingerprint(),
            "as_of": as_of.isoformat(), "complete": complete,
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
        if last is None:  # killed between the journal's header and its first checkpoint: start the outputs afresh
            start_partials(out)
            journal.open(None)
            return 1
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
        summary_seen = _ids_so_far(out)
        summary.seen.update(summary_seen)
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

    def __init__(self, outputs: PartialOutputs, journal: Journal, summary: BatchSummary, start: int,
                 source: "Source | None" = None):
        self.outputs, self.journal, self.summary, self.source = outputs, journal, summary, source
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
                _, position, pid, lines, rows, letters, verdicts, faults = o
                first = summary.seen.get(pid)
                if first is not None:  # the same patient twice: the second is an error, never a second row
                    errs.append(json.dumps(_duplicate(position, pid, first, self.source), ensure_ascii=False))
                    summary.errors += 1
                    continue
                summary.seen[pid] = _where(position, self.source)
                res.extend(lines)
                writer.writerows([spreadsheet_safe(v) for v in row] for row in rows)
                for f, s, v in zip(summary.funnels, letters, verdicts):
                    if s is not None:  # None: this trial failed on this patient (reported in errors)
                        f.add(s, v)
                errs.extend(json.dumps(e, ensure_ascii=False) for e in faults)
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
            raise Interrupted(self.interrupted)

    def checkpoint(self, done: bool = False) -> None:
        self.journal.append(_entry(self.next, self.outputs.sync(), self.summary, done))

    def on_sigint(self, signum, frame) -> None:
        """Ctrl-C (or SIGTERM) lands between chunks, so the last checkpoint keeps all finished work."""
        if self.consistent:
            raise Interrupted(signum)
        self.interrupted = signum

    def abandon(self) -> None:
        """After a failure or an interrupt: keep what is complete (a resume continues from here), close."""
        if self.consistent:
            try:
                self.checkpoint()
            except Exception:
                pass
        self.outputs.close()
        self.journal.close()


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (SIGINT or SIGTERM, in ``signum``); finished work is kept."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class _WorkerLost(Exception):
    """A chunk whose worker died or overran the timeout."""


def _screen_all(work: Iterator[list], writer: _Writer, pool_factory, workers: int, checkpoint_seconds: float,
                report: Callable[[], None], chunk_timeout: float | None = CHUNK_TIMEOUT) -> None:
    """Send chunks to the pool with a bounded number in flight, write them back in order, checkpoint.

    A chunk whose worker dies or overruns ``chunk_timeout`` is screened again one record at a
    time in a fresh process; the record that stops that process too is reported and skipped, and
    the other chunks in flight are sent again to a new pool.
    """
    from concurrent.futures import BrokenExecutor, TimeoutError as FutureTimeout

    pending: deque = deque()  # (future, chunk)
    last_checkpoint = time.monotonic()
    previous = _install_signals(writer.on_sigint)
    pool = pool_factory(workers)
    timeout = chunk_timeout

    def collect() -> None:
        nonlocal pool
        future, chunk = pending.popleft()
        try:
            outcomes = future.result(timeout=timeout)
        except (BrokenExecutor, FutureTimeout):
            _stop(pool)
            outcomes = _isolate(chunk, pool_factory, timeout)
            pool = pool_factory(workers)
            for i, (_, again) in enumerate(pending):  # their futures died with the pool
                pending[i] = (_submit(pool, again), again)
        writer.handle(outcomes)
        report()

    try:
        report()
        for chunk in work:
            pending.append((_submit(pool, chunk), chunk))
            while len(pending) >= workers * 3:
                collect()
                if time.monotonic() - last_checkpoint >= checkpoint_seconds:
                    writer.checkpoint()
                    last_checkpoint = time.monotonic()
        while pending:
            collect()
        writer.checkpoint(done=True)
    except BaseException:
        for f, _ in pending:
            f.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        writer.abandon()
        raise
    finally:
        _restore_signals(previous)
    pool.shutdown()
    writer.outputs.close()


def _submit(pool, chunk: list):
    """The chunk's future; a pool that broke since the last collect gives an already failed one, which
    ``collect`` handles like any chunk of a broken pool (the pool is replaced, the chunk screened again)."""
    from concurrent.futures import BrokenExecutor, Future

    try:
        return pool.submit(screen_chunk, chunk)
    except BrokenExecutor as err:
        failed: Future = Future()
        failed.set_exception(err)
        return failed


def _stop(pool) -> None:
    """Shut a broken or stuck pool down, killing its processes (a stuck worker never finishes)."""
    processes = list(getattr(pool, "_processes", {}).values())  # no public way to reach a hung worker
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        try:
            p.kill()
        except Exception:
            pass
    for p in processes:
        try:
            p.join(5)
        except Exception:
            pass


def _isolate(chunk: list, pool_factory, timeout: float | None) -> list[tuple]:
    """Screen a chunk that stopped its worker one record at a time, each in a fresh worker when the last
    one died: the record that stops a worker becomes an error record; the others are screened."""
    from concurrent.futures import BrokenExecutor, TimeoutError as FutureTimeout

    outcomes, pool = [], None
    for record in chunk:
        position, kind, payload = record
        pool = pool or pool_factory(2)
        try:
            outcomes.extend(pool.submit(screen_chunk, [record]).result(timeout=timeout))
            continue
        except FutureTimeout:
            why = f"took longer than {timeout:g} s"
        except BrokenExecutor:
            why = "stopped (killed by a signal or out of memory)"
        _stop(pool)
        pool = None
        file = payload if kind == "file" else None
        message = (f"the worker process screening this record {why}: record skipped (screen it alone with "
                   "'screening screen' to investigate)")
        outcomes.append(("error", position, {"file": file or "", "line": position if kind != "file" else None,
                                             "column": None, "message": message, "problems": [message]}))
    if pool is not None:
        _stop(pool)
    return outcomes


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


def _install_signals(handler) -> dict:
    """Use ``handler`` for SIGINT and SIGTERM where Python allows it (main thread) and the signal keeps its
    default meaning (not ignored, not handled by the caller); the previous handlers, to restore."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for signum, default in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL)):
        if signal.getsignal(signum) is default:
            previous[signum] = default
            signal.signal(signum, handler)
    return previous


def _restore_signals(previous: dict) -> None:
    import signal

    for signum, handler in previous.items():
        signal.signal(signum, handler)


def _where(position: int, source: "Source | None") -> str:
    if source is not None and source.kind == "dir":
        return source.files[position - 1]
    return f"line {position}"


def _duplicate(position: int, pid: str, first: str, source: "Source | None") -> dict:
    """The error record of a patient id met a second time."""
    message = f"patient id {pid!r} again (first at {first}): not screened twice"
    file = os.path.join(source.path, source.files[position - 1]) if source is not None and source.kind == "dir" \
        else (getattr(source, "name", source.path) if source is not None else "")
    return {"file": file, "line": position if source is None or source.kind != "dir" else None, "column": None,
            "message": message, "problems": [message], "patient": pid}


def _ids_so_far(out: Path) -> dict:
    """Patient ids already written by an interrupted run (from its partial summary and errors)."""
    seen: dict = {}
    try:
        with open(out / (SUMMARY + ".partial"), newline="", encoding="utf-8") as fh:
            rows = csv.reader(fh)
            next(rows, None)
            for row in rows:
                if row:
                    seen.setdefault(unsafe_cell(row[0]), "earlier in this run")
        with open(out / (ERRORS + ".partial"), encoding="utf-8") as fh:
            for line in fh:
                try:
                    pid = json.loads(line).get("patient")
                except ValueError:
                    continue
                if pid is not None:
                    seen.setdefault(pid, "earlier in this run")
    except OSError:
        pass
    return seen
