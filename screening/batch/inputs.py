"""Batch input: an NDJSON file (one profile per line; ``-`` reads standard input) or a directory
of ``*.json`` files (native profiles or FHIR bundles), read lazily as (position, kind, payload)
records that worker processes decode, so that the parent never parses a patient.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..errors import BatchError, PatientError, Problem
from ..sources.files import file_sha256


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
        """Bytes of an NDJSON file, files in a directory, None for standard input."""
        if self.kind == "dir":
            return len(self.files)
        return None if self.path == "-" else os.path.getsize(self.path)

    def fingerprint(self) -> str | None:
        """What a resume checks is unchanged: the SHA-256 of an NDJSON file's bytes, or of a directory's
        file names, sizes and contents; None for standard input, which cannot be read twice."""
        if self.path == "-":
            return None
        digest = hashlib.sha256()
        if self.kind == "dir":
            for name in self.files:
                path = os.path.join(self.path, name)
                digest.update(f"{name}\0{os.path.getsize(path)}\0".encode())
                digest.update(file_sha256(path))
        else:
            digest.update(file_sha256(self.path))
        return digest.hexdigest()

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
            for n, line in enumerate(bounded_lines(fh), 1):
                if line is None:  # longer than the limit: skipped unread, reported by the worker
                    if n >= start:
                        yield n, "long", MAX_LINE_BYTES
                elif n >= start and line.strip():
                    yield n, "line", line
        finally:
            if fh is not sys.stdin.buffer:
                fh.close()


_WHOLE_FILE_LIMIT = 256 << 20  # a file this large is not one pretty-printed profile
MAX_LINE_BYTES = 32 << 20  # one profile per line: a FHIR bundle of a long stay is a few MB


def bounded_lines(fh) -> Iterator[bytes | None]:
    """The lines of a binary file, each read with at most MAX_LINE_BYTES in memory; None stands for a
    line over that length (the rest of it is skipped), so memory stays flat on a file with no newline."""
    limit = MAX_LINE_BYTES
    while True:
        line = fh.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while True:  # skip to the end of this line, a block at a time
                rest = fh.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
            continue
        yield line


def _check_ndjson(path: Path) -> None:
    """BatchError if the file is one JSON document rather than one profile per line.

    A pretty-printed profile or a JSON array of profiles would otherwise give one error per
    line and screen nobody. Only the first record is looked at unless it is not an object.
    """
    with open(path, "rb") as fh:
        n = 0
        while True:  # the first non-blank line, read with a bounded buffer (never skipped: /dev/zero has no end)
            raw = fh.readline(MAX_LINE_BYTES + 1)
            n += 1
            if not raw:
                raise BatchError(Problem("empty file: no profiles to screen", str(path)))
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                raise BatchError(Problem(f"line {n} is longer than {MAX_LINE_BYTES} bytes: not NDJSON of patient "
                                         "profiles (one profile per line)", str(path)))
            if raw.strip():
                break
    if not path.is_file():
        return  # a pipe or device: read once, line by line
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
