"""Batch input: an NDJSON file (one profile per line; ``-`` reads standard input) or a directory
of ``*.json`` files (native profiles or FHIR bundles), read lazily as (position, kind, payload)
records that worker processes decode, so that the parent never parses a patient.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..errors import BatchError, PatientError, Problem


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


def decode_line(raw: bytes, file: str, line: int) -> tuple[Any, str]:
    """(decoded record, its text) of one NDJSON line."""
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (a file from a Windows tool) is dropped
    except UnicodeDecodeError:
        raise PatientError(Problem("not UTF-8 text", file, line)) from None
    from ..sources.jsontext import JSONProblem, loads, position

    try:
        return loads(text), text
    except JSONProblem as err:
        raise PatientError(Problem(err.message, file, line, position(text, err.index)[1])) from None


def chunks(records: Iterator, size: int) -> Iterator[list]:
    """Records in lists of ``size`` (the last one shorter): the unit of work sent to a worker."""
    chunk = []
    for r in records:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
