"""Batch outputs and atomic file output: a file appears under its final name complete, or not at all.

A run appends to ``*.partial`` files (``PartialOutputs``); at the end they are fsynced and
renamed to their final names (``publish``). Single files (funnels, journal header, synthetic
patients) are written whole through ``atomic_write``.

Data goes to a temporary file in the same directory, is flushed and fsynced, then renamed
over the final name (a rename within one file system is atomic), and the directory is
fsynced so the rename itself survives a crash. An interrupted write leaves at most a
stray ``.<name>.*.tmp`` file, never a truncated file under the final name.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import IO, Iterator

from ..errors import BatchError, Problem

RESULTS, SUMMARY, ERRORS = "results.ndjson", "summary.csv", "errors.ndjson"
OUTPUTS = (RESULTS, SUMMARY, ERRORS)
PARTIAL = ".partial"
SUMMARY_COLUMNS = ["patient", "trial", "verdict", "failed", "unknown"]


def funnel_name(trial_id: str) -> str:
    """File name of a trial's funnel report (the id with unsafe characters replaced)."""
    return "funnel-" + re.sub(r"[^A-Za-z0-9._-]", "_", trial_id) + ".csv"


def fsync_dir(folder: str | Path) -> None:
    """Make a rename or unlink inside ``folder`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(str(folder), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def publish(temp: str | Path, final: str | Path) -> None:
    """fsync ``temp`` and rename it to ``final`` (both in the same directory), durably."""
    with open(temp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(temp, final)
    fsync_dir(Path(final).parent)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = "utf-8",
                 newline: str | None = None) -> Iterator[IO]:
    """Open a temporary file next to ``path``; on a clean exit fsync it and rename it to ``path``.

    On an exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    if "b" in mode:
        encoding = None
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_dir(path.parent)


def start_partials(out: Path) -> dict[str, int]:
    """Remove a previous run's outputs, create empty partial outputs (the summary with its header), fsynced;
    their sizes."""
    for old_output in [*(out / n for n in OUTPUTS), *out.glob("funnel-*.csv")]:
        old_output.unlink(missing_ok=True)  # a previous run's outputs must not pass for this run's
    for name in OUTPUTS:
        with open(out / (name + PARTIAL), "wb") as fh:
            if name == SUMMARY:
                fh.write((",".join(SUMMARY_COLUMNS) + "\n").encode())
            fh.flush()
            os.fsync(fh.fileno())
    return {name: (out / (name + PARTIAL)).stat().st_size for name in OUTPUTS}


def truncate_partials(out: Path, sizes: dict) -> None:
    """Cut the partial outputs back to a checkpoint's sizes (BatchError if one is shorter)."""
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


class PartialOutputs:
    """The partial outputs of a run, open for appending (buffered; ``sync`` makes them durable)."""

    def __init__(self, out: Path):
        self.files = {name: open(out / (name + PARTIAL), "ab", buffering=1 << 20) for name in OUTPUTS}

    def append(self, name: str, lines: list[str]) -> None:
        if lines:
            self.files[name].write(("\n".join(lines) + "\n").encode())

    def append_text(self, name: str, text: str) -> None:
        if text:
            self.files[name].write(text.encode())

    def sync(self) -> dict[str, int]:
        """Flush and fsync every output; their sizes (what a checkpoint records)."""
        for fh in self.files.values():
            fh.flush()
            os.fsync(fh.fileno())
        return {n: fh.tell() for n, fh in self.files.items()}

    def close(self) -> None:
        for fh in self.files.values():
            fh.close()


def publish_outputs(out: Path, funnels) -> None:
    """Write the funnels and publish the partial outputs under their final names."""
    for f in funnels:
        with atomic_write(out / funnel_name(f.trial), newline="") as fh:
            f.write_csv(fh)
    for name in OUTPUTS:
        partial = out / (name + PARTIAL)
        if partial.exists():
            publish(partial, out / name)
