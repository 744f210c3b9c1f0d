"""The worker side of a batch: each process holds the compiled trials, decodes its records,
screens them and sends back what the parent writes (result lines, summary rows, funnel letters)
or a located error record. One bad record, even an engine fault, never stops the batch.
"""

from __future__ import annotations

import sys
from datetime import date
from typing import Any, Sequence

from ..engine.evaluate import screen
from ..errors import InputError, PatientError, Problem
from ..report.funnel import LETTER, verdict_key
from ..rules.compiled import CompiledTrial
from ..sources.files import decode_json, patient_from_document, read_text
from .inputs import decode_line

_WORKER: dict[str, Any] = {}


def init_worker(trials: Sequence[CompiledTrial], as_of: date, complete: Sequence[str], source: str) -> None:
    """Per-process setup: the compiled trials (unpickled once per worker), the date and record parts."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt means
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    _WORKER.update(trials=list(trials), as_of=as_of, complete=list(complete), source=source)


def _die_with_parent() -> None:
    """A worker must not outlive its parent (killed, even with SIGKILL): the kernel kills it (Linux
    prctl PR_SET_PDEATHSIG), and a watcher thread exits it wherever that is not available."""
    import os
    import threading
    import time

    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _to_patient(data: Any, file: str, line: int | None, text: str | None = None):
    """A validated patient; ``line`` is the NDJSON line (problems then carry it, and their column in it)."""
    try:
        return patient_from_document(data, file, text)
    except InputError as err:
        if line is None:
            raise
        # an NDJSON record is one line: a position found in it is a column of that line
        raise PatientError([Problem(p.message, p.file or file, line, p.column if p.line == 1 else None)
                            for p in err.problems]) from None


def screen_record(kind: str, position: int, payload: Any, trials: Sequence[CompiledTrial], as_of: date,
                  complete: Sequence[str], source: str) -> tuple:
    """Screen one input record against every trial.

    Returns ("ok", position, patient id, [result JSON lines], [summary rows], [status letters per
    trial, None for a trial that failed], [verdict per trial], [error records of trials that
    failed]) or ("error", position, error record). One trial's fault is reported against that
    trial; the patient's other trials keep their results.
    """
    file = payload if kind == "file" else payload[0] if kind == "patient" else source
    line = position if kind in ("line", "long") else None
    try:
        if kind == "long":  # a line over the length limit: never read whole
            raise PatientError(Problem(f"line longer than {payload} bytes: not read (one profile per line, "
                                       "each under that size)", source, position))
        if kind == "patient":  # read by the parent from a database (an OMOP person): (location, Patient)
            patient = payload[1]
        else:
            if kind == "file":
                text = read_text(payload)
                data = decode_json(text, payload)
            else:
                data, text = decode_line(payload, source, position)
            patient = _to_patient(data, file, line, text)
    except InputError as err:
        return ("error", position, _error_record(err.problems, file, line))
    except Exception as err:  # a fault reading one record must not stop the batch
        problem = Problem(f"internal error while reading: {type(err).__name__}: {err}", file, line)
        return ("error", position, _error_record([problem], file, line))
    lines, rows, letters, verdicts, faults = [], [], [], [], []
    for trial in trials:
        try:
            r = screen(patient, trial, as_of, complete)
            lines.append(r.model_dump_json())
            verdict = r.verdict.value
            rows.append((r.patient, r.trial, verdict, ";".join(r.failed), ";".join(r.unknown)))
            letters.append("".join(LETTER[c.status.value] for c in r.criteria))
            verdicts.append(verdict_key(r))
        except Exception as err:  # an engine fault in one trial: reported against that trial only
            problem = Problem(f"internal error while screening against {trial.id}: {type(err).__name__}: {err}",
                              file, line)
            faults.append({**_error_record([problem], file, line), "patient": patient.id, "trial": trial.id})
            letters.append(None)
            verdicts.append(None)
    return ("ok", position, patient.id, lines, rows, letters, verdicts, faults)


def _error_record(problems: list[Problem], file: str, line: int | None) -> dict:
    first = problems[0] if problems else Problem("invalid record", file, line)
    return {"file": first.file or file, "line": first.line if first.line is not None else line,
            "column": first.column, "message": first.message, "problems": [str(p) for p in problems]}


def screen_chunk(chunk: list[tuple[int, str, Any]]) -> list[tuple]:
    w = _WORKER
    return [screen_record(kind, pos, payload, w["trials"], w["as_of"], w["complete"], w["source"])
            for pos, kind, payload in chunk]


def make_pool(workers: int, trials, as_of: date, complete, source: str):
    """A process pool whose workers hold the trials. One worker is a process too: a record that kills
    or hangs it is reported and skipped, never the end of the batch (nor of every resume)."""
    args = (trials, as_of, complete, source)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if sys.platform.startswith("linux") else None  # workers inherit the loaded modules
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method),
                               initializer=init_worker, initargs=args)
    pool.submit(int).result()  # start the workers now, before any progress-bar thread exists in this process
    return pool
