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
import re
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from .atomic import atomic_write, fsync_dir, publish
from .compiled import CompiledTrial
from .errors import InputError, PatientError, Problem
from .funnel import LETTER, Funnel, verdict_key

RESULTS, SUMMARY, ERRORS = "results.ndjson", "summary.csv", "errors.ndjson"
OUTPUTS = (RESULTS, SUMMARY, ERRORS)
PARTIAL = ".partial"
JOURNAL = "batch.journal.partial"
SUMMARY_COLUMNS = ["patient", "trial", "verdict", "failed", "unknown"]
JOURNAL_FORMAT = 1


class BatchError(InputError):
    """A batch that cannot start or resume: missing input, mismatched checkpoint, clashing trials."""


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


def funnel_name(trial_id: str) -> str:
    """File name of a trial's funnel report (the id with unsafe characters replaced)."""
    return "funnel-" + re.sub(r"[^A-Za-z0-9._-]", "_", trial_id) + ".csv"


# ---------------------------------------------------------------- input


@dataclass(frozen=True)
class Source:
    """Where the records come from: an NDJSON file, standard input ('-') or a directory of JSON files."""

    path: str
    kind: str  # "ndjson" | "dir"
    files: tuple[str, ...] = ()  # sorted file names, for a directory

    @classmethod
    def open(cls, path: str | Path) -> "Source":
        text = str(path)
        if text == "-":
            return cls("-", "ndjson")
        p = Path(path)
        if p.is_dir():
            names = sorted(e.name for e in os.scandir(p) if e.name.lower().endswith(".json") and e.is_file())
            if not names:
                raise BatchError(Problem("no *.json files in this directory: nothing to screen", text))
            return cls(str(p), "dir", tuple(names))
        if not p.exists():
            raise BatchError(Problem("no such file or directory", text))
        try:
            _check_ndjson(p)
        except OSError as err:
            raise BatchError(Problem(f"cannot read input: {err.strerror}", text)) from None
        return cls(str(p), "ndjson")

    @property
    def name(self) -> str:
        """How error records name the input."""
        return "<stdin>" if self.path == "-" else self.path

    def size(self) -> int | None:
        """Bytes of an NDJSON file, files in a directory, None for standard input: a resume checks it is unchanged."""
        if self.kind == "dir":
            return len(self.files)
        return None if self.path == "-" else os.path.getsize(self.path)

    def total(self) -> int | None:
        """Number of records (lines for NDJSON, blank ones included), or None for standard input."""
        if self.kind == "dir":
            return len(self.files)
        if self.path == "-":
            return None
        n, last = 0, b"\n"
        with open(self.path, "rb") as fh:
            while block := fh.read(1 << 20):
                n += block.count(b"\n")
                last = block[-1:]
        return n + (last != b"\n")

    def records(self, start: int = 1) -> Iterator[tuple[int, str, Any]]:
        """(position, kind, payload) from position ``start`` on: NDJSON line numbers, or 1-based file indexes."""
        if self.kind == "dir":
            for i, name in enumerate(self.files[start - 1:], start):
                yield i, "file", os.path.join(self.path, name)
            return
        fh = sys.stdin.buffer if self.path == "-" else open(self.path, "rb")
        try:
            for n, line in enumerate(fh, 1):
                if n >= start and line.strip():
                    yield n, "line", line
        finally:
            if fh is not sys.stdin.buffer:
                fh.close()


_WHOLE_FILE_LIMIT = 256 << 20  # a file this large is not one pretty-printed profile


def _check_ndjson(path: Path) -> None:
    """BatchError if the file is one JSON document rather than one profile per line.

    A pretty-printed profile or a JSON array of profiles would otherwise give one error per
    line and screen nobody. Only the first record is looked at unless it is not an object.
    """
    with open(path, "rb") as fh:
        for raw in fh:
            if raw.strip():
                break
        else:
            raise BatchError(Problem("empty file: no profiles to screen", str(path)))
    try:
        if isinstance(json.loads(raw.decode("utf-8-sig")), dict):
            return
    except ValueError:
        pass
    if path.stat().st_size > _WHOLE_FILE_LIMIT:
        return
    try:
        whole = json.loads(path.read_bytes().decode("utf-8-sig"))
    except ValueError:
        return  # not one document either: its bad lines are reported one by one
    if isinstance(whole, list):
        raise BatchError(Problem(f"holds a JSON array of {len(whole)} item(s), not NDJSON: write one profile "
                                 "per line, or one profile per file in a directory", str(path)))
    if isinstance(whole, dict):
        raise BatchError(Problem("holds one JSON document spread over several lines, not NDJSON (one profile "
                                 "per line): screen it with 'screening screen', or put it in a directory",
                                 str(path)))


# ---------------------------------------------------------------- worker side

_WORKER: dict[str, Any] = {}


def _init_worker(trials: Sequence[CompiledTrial], as_of: date, complete: Sequence[str], source: str,
                 ignore_sigint: bool = True) -> None:
    """Per-process setup: the compiled trials (unpickled once per worker), the date and record parts."""
    if ignore_sigint:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt means
    _WORKER.update(trials=list(trials), as_of=as_of, complete=list(complete), source=source)


def _to_patient(data: Any, file: str, line: int | None, text: str | None = None):
    """A validated patient; ``line`` is the NDJSON line (problems then carry it, and their column in it)."""
    from .patients import parse_patient

    try:
        if isinstance(data, dict) and data.get("resourceType") == "Bundle":
            try:
                from .fhir import bundle_to_patient  # imported only for FHIR input
            except ImportError:
                raise PatientError(Problem("FHIR Bundle input is not supported by this installation", file)) from None
            return bundle_to_patient(data, file, text=text)
        return parse_patient(data, file, text)
    except InputError as err:
        if line is None:
            raise
        # an NDJSON record is one line: a position found in it is a column of that line
        raise PatientError([Problem(p.message, p.file or file, line, p.column if p.line == 1 else None)
                            for p in err.problems]) from None


def _decode_line(raw: bytes, file: str, line: int) -> tuple[Any, str]:
    """(decoded record, its text) of one NDJSON line."""
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (a file from a Windows tool) is dropped
    except UnicodeDecodeError:
        raise PatientError(Problem("not UTF-8 text", file, line)) from None
    try:
        return json.loads(text), text
    except json.JSONDecodeError as err:
        raise PatientError(Problem(f"invalid JSON: {err.msg}", file, line, err.colno)) from None


def screen_record(kind: str, position: int, payload: Any, trials: Sequence[CompiledTrial], as_of: date,
                  complete: Sequence[str], source: str) -> tuple:
    """Screen one input record against every trial.

    Returns ("ok", position, [result JSON lines], [summary rows], [status letters per trial],
    [verdict per trial]) or ("error", position, error record).
    """
    from .evaluate import screen
    from .patients import decode_json, read_text

    file = payload if kind == "file" else source
    line = position if kind == "line" else None
    try:
        if kind == "file":
            text = read_text(payload)
            data = decode_json(text, payload)
        else:
            data, text = _decode_line(payload, source, position)
        patient = _to_patient(data, file, line, text)
        lines, rows, letters, verdicts = [], [], [], []
        for trial in trials:
            r = screen(patient, trial, as_of, complete)
            lines.append(r.model_dump_json())
            verdict = r.verdict.value
            rows.append((r.patient, r.trial, verdict, ";".join(r.failed), ";".join(r.unknown)))
            letters.append("".join(LETTER[c.status.value] for c in r.criteria))
            verdicts.append(verdict_key(r))
        return ("ok", position, lines, rows, letters, verdicts)
    except InputError as err:
        return ("error", position, _error_record(err.problems, file, line))
    except Exception as err:  # an engine fault on one record must not stop the batch
        problem = Problem(f"internal error while screening: {type(err).__name__}: {err}", file, line)
        return ("error", position, _error_record([problem], file, line))


def _error_record(problems: list[Problem], file: str, line: int | None) -> dict:
    first = problems[0] if problems else Problem("invalid record", file, line)
    return {"file": first.file or file, "line": first.line if first.line is not None else line,
            "column": first.column, "message": first.message, "problems": [str(p) for p in problems]}


def _screen_chunk(chunk: list[tuple[int, str, Any]]) -> list[tuple]:
    w = _WORKER
    return [screen_record(kind, pos, payload, w["trials"], w["as_of"], w["complete"], w["source"])
            for pos, kind, payload in chunk]


class _Inline:
    """Stand-in for a process pool when running in-process (--workers 1)."""

    class _Done:
        def __init__(self, value):
            self._value = value

        def result(self):
            return self._value

        def cancel(self):
            return False

    def submit(self, fn, *args):
        return self._Done(fn(*args))

    def shutdown(self, wait=True, cancel_futures=False):
        pass


# ---------------------------------------------------------------- checkpoint journal


class _Journal:
    """Append-only journal: a header line describing the run, then one JSON line per checkpoint."""

    def __init__(self, path: Path):
        self.path = path
        self.fh = None

    @staticmethod
    def read(path: Path) -> tuple[dict | None, dict | None]:
        """(header, last complete checkpoint); a torn last line (interrupted write) is ignored."""
        header = last = None
        with open(path, "rb") as fh:
            for raw in fh:
                if not raw.endswith(b"\n"):
                    break
                try:
                    entry = json.loads(raw)
                except ValueError:
                    break
                if header is None:
                    header = entry
                else:
                    last = entry
        return header, last

    def open(self, header: dict | None) -> None:
        """Start a new journal with ``header``, or (header None) append to the existing one."""
        if header is not None:
            with atomic_write(self.path, "wb") as fh:
                fh.write(_jline(header))
        else:
            self._drop_torn_tail()
        self.fh = open(self.path, "ab")

    def _drop_torn_tail(self) -> None:
        with open(self.path, "rb+") as fh:
            data = fh.read()
            keep = data.rfind(b"\n") + 1
            if keep != len(data):
                fh.truncate(keep)

    def append(self, entry: dict) -> None:
        self.fh.write(_jline(entry))
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


def _jline(obj: dict) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


# ---------------------------------------------------------------- the run


def run_batch(source: str | Path, trials: Sequence[CompiledTrial], out_dir: str | Path, as_of: date,
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
    trials = list(trials)
    if not trials:
        raise BatchError("no trials to screen against")
    ids = [t.id for t in trials]
    names = [funnel_name(i) for i in ids]
    if len(set(names)) != len(names):
        dup = next(i for i in ids if names.count(funnel_name(i)) > 1)
        raise BatchError(f"two rule files have the trial id {dup!r} (or ids that clash as file names)")
    complete = sorted({str(c) for c in complete})
    workers = max(1, int(workers or os.cpu_count() or 1))
    src = Source.open(source)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise BatchError(Problem("the output must be a directory, and this is a file", str(out)))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BatchError(Problem(f"cannot create the output directory: {err.strerror}", str(out))) from None
    journal = _Journal(out / JOURNAL)
    summary = BatchSummary(out_dir=out, funnels=[Funnel.for_trial(t) for t in trials])
    header = {"format": JOURNAL_FORMAT, "input": os.path.abspath(src.path) if src.path != "-" else "-",
              "kind": src.kind, "input_size": src.size(), "as_of": as_of.isoformat(), "complete": complete,
              "trials": [{"id": t.id, "digest": t.digest} for t in trials], "version": _version()}

    start, sizes = 1, {name: 0 for name in OUTPUTS}
    if journal.path.exists():
        if not resume:
            raise BatchError(Problem(f"holds an interrupted batch run ({JOURNAL}): use --resume to continue it, "
                                     "or delete the *.partial files to start over", str(out)))
        old, last = _Journal.read(journal.path)
        _check_header(old, header, out)
        if last is not None:
            start, sizes = int(last["next"]), dict(last["sizes"])
            summary.records, summary.patients = int(last["records"]), int(last["patients"])
            summary.results, summary.errors = int(last["results"]), int(last["errors"])
            summary.resumed_from = summary.records
            for f in summary.funnels:
                f.restore(last["funnels"][f.trial])
            if last.get("done"):
                _finish(out, summary, journal)
                summary.elapsed = time.perf_counter() - started
                return summary
        _truncate_partials(out, sizes)
        journal.open(None)
    else:
        if resume and (out / RESULTS).exists():
            summary.already_complete = True
            return summary
        for old_output in [*(out / n for n in OUTPUTS), *out.glob("funnel-*.csv")]:
            old_output.unlink(missing_ok=True)  # a previous run's outputs must not pass for this run's
        for name in OUTPUTS:
            with open(out / (name + PARTIAL), "wb") as fh:
                if name == SUMMARY:
                    fh.write((",".join(SUMMARY_COLUMNS) + "\n").encode())
                fh.flush()
                os.fsync(fh.fileno())
        sizes = {name: (out / (name + PARTIAL)).stat().st_size for name in OUTPUTS}
        journal.open(header)
        journal.append(_entry(start, sizes, summary))  # a resume before the first checkpoint keeps the CSV header
        fsync_dir(out)

    total = src.total()
    if chunk_size is None:
        chunk_size = 64 if total is None else max(1, min(64, total // (workers * 4) or 1))
    files = {name: open(out / (name + PARTIAL), "ab", buffering=1 << 20) for name in OUTPUTS}
    state = {"next": start, "consistent": True, "interrupted": False}

    def checkpoint(done: bool = False) -> None:
        for fh in files.values():
            fh.flush()
            os.fsync(fh.fileno())
        journal.append(_entry(state["next"], {n: fh.tell() for n, fh in files.items()}, summary, done))

    def handle(outcomes: list[tuple]) -> None:
        state["consistent"] = False
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
        if res:
            files[RESULTS].write(("\n".join(res) + "\n").encode())
        if summ.tell():
            files[SUMMARY].write(summ.getvalue().encode())
        if errs:
            files[ERRORS].write(("\n".join(errs) + "\n").encode())
        summary.records += len(outcomes)
        state["next"] = outcomes[-1][1] + 1
        state["consistent"] = True
        if state["interrupted"]:
            raise KeyboardInterrupt

    def on_sigint(signum, frame):  # Ctrl-C lands between chunks, so the last checkpoint keeps all finished work
        if state["consistent"]:
            raise KeyboardInterrupt
        state["interrupted"] = True

    pool = _make_pool(workers, trials, as_of, complete, src.name)
    pending: deque = deque()
    last_checkpoint = time.monotonic()
    previous = _install_sigint(on_sigint)
    try:
        if progress:
            progress(summary.records, total, summary.errors)
        for chunk in _chunks(src.records(start), chunk_size):
            pending.append(pool.submit(_screen_chunk, chunk))
            while len(pending) >= workers * 3:
                handle(pending.popleft().result())
                if progress:
                    progress(summary.records, total, summary.errors)
                if time.monotonic() - last_checkpoint >= checkpoint_seconds:
                    checkpoint()
                    last_checkpoint = time.monotonic()
        while pending:
            handle(pending.popleft().result())
            if progress:
                progress(summary.records, total, summary.errors)
        checkpoint(done=True)
    except BaseException:
        for f in pending:
            f.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        if state["consistent"]:
            try:
                checkpoint()  # keep what is complete; a resume continues from here
            except Exception:
                pass
        for fh in files.values():
            fh.close()
        journal.close()
        raise
    finally:
        _restore_sigint(previous)
    pool.shutdown()
    for fh in files.values():
        fh.close()
    _finish(out, summary, journal)
    summary.elapsed = time.perf_counter() - started
    return summary


def _entry(next_position: int, sizes: dict, summary: BatchSummary, done: bool = False) -> dict:
    """A checkpoint: where to continue, how long each partial output is, and the counts so far."""
    return {"next": next_position, "sizes": sizes, "records": summary.records, "patients": summary.patients,
            "results": summary.results, "errors": summary.errors,
            "funnels": {f.trial: f.state() for f in summary.funnels}, "done": done}


def journal_as_of(out_dir: str | Path) -> date | None:
    """The screening date of the interrupted run in ``out_dir``, if there is one."""
    path = Path(out_dir) / JOURNAL
    if not path.exists():
        return None
    try:
        header, _ = _Journal.read(path)
        return date.fromisoformat(header["as_of"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _version() -> str:
    from . import __version__

    return __version__


def _check_header(old: dict | None, new: dict, out: Path) -> None:
    if old is None:
        raise BatchError(Problem(f"{JOURNAL} is empty or unreadable: delete the *.partial files to start over",
                                 str(out)))
    for key, what in (("format", "journal format"), ("version", "screening version"), ("input", "input"),
                      ("kind", "input kind"),
                      ("input_size", "input (its size changed)"), ("as_of", "screening date (--as-of)"),
                      ("complete", "--complete"), ("trials", "rule files")):
        if old.get(key) != new.get(key):
            raise BatchError(Problem(f"cannot resume: the interrupted run used a different {what} "
                                     f"({old.get(key)!r}, now {new.get(key)!r})", str(out)))


def _truncate_partials(out: Path, sizes: dict) -> None:
    for name in OUTPUTS:
        path = out / (name + PARTIAL)
        want = int(sizes.get(name, 0))
        size = path.stat().st_size if path.exists() else -1
        if size < want:
            raise BatchError(Problem(f"cannot resume: {path.name} is shorter than its checkpoint "
                                     "(delete the *.partial files to start over)", str(out)))
        with open(path, "rb+") as fh:
            fh.truncate(want)
            os.fsync(fh.fileno())


def _finish(out: Path, summary: BatchSummary, journal: _Journal) -> None:
    """Write the funnels, publish the partial outputs under their final names, drop the journal."""
    journal.close()
    for f in summary.funnels:
        with atomic_write(out / funnel_name(f.trial), newline="") as fh:
            f.write_csv(fh)
    for name in OUTPUTS:
        partial = out / (name + PARTIAL)
        if partial.exists():
            publish(partial, out / name)
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


def _chunks(records: Iterator, size: int) -> Iterator[list]:
    chunk = []
    for r in records:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _make_pool(workers: int, trials, as_of: date, complete, source: str):
    args = (trials, as_of, complete, source)
    if workers == 1:
        _init_worker(*args, ignore_sigint=False)
        return _Inline()
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if sys.platform.startswith("linux") else None  # workers inherit the loaded modules
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method),
                               initializer=_init_worker, initargs=args)
    pool.submit(int).result()  # start the workers now, before any progress-bar thread exists in this process
    return pool
