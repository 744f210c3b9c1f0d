"""The checkpoint journal of a batch run (``batch.journal.partial``): a header line describing
the run (input, screening date, record parts, rule files, version), then one JSON line per
checkpoint (next input position, byte sizes of the partial outputs, counts and funnels),
each written after the outputs are fsynced. A torn last line is ignored.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

from ..errors import BatchError, Problem
from .outputs import atomic_write

JOURNAL = "batch.journal.partial"
JOURNAL_FORMAT = 2  # 2: the input is identified by a content hash


class Journal:
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


def journal_as_of(out_dir: str | Path) -> date | None:
    """The screening date of the interrupted run in ``out_dir``, if there is one."""
    path = Path(out_dir) / JOURNAL
    if not path.exists():
        return None
    try:
        header, _ = Journal.read(path)
        return date.fromisoformat(header["as_of"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_header(old: dict | None, new: dict, out: Path) -> None:
    """BatchError unless the interrupted run (header ``old``) is the run asked for now (``new``)."""
    if old is None:
        raise BatchError(Problem(f"{JOURNAL} is empty or unreadable: delete the *.partial files to start over",
                                 str(out)))
    for key, what in (("format", "journal format"), ("version", "screening version"), ("input", "input"),
                      ("kind", "input kind"),
                      ("input_hash", "input (its content changed)"), ("as_of", "screening date (--as-of)"),
                      ("complete", "--complete"), ("trials", "rule files")):
        if old.get(key) != new.get(key):
            raise BatchError(Problem(f"cannot resume: the interrupted run used a different {what} "
                                     f"({old.get(key)!r}, now {new.get(key)!r})", str(out)))
