"""Write a draft rule file from a registry record: the library side of ``screening new``."""

from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .ctgov import read_study
from .scaffold import scaffold


@dataclass(frozen=True)
class Drafted:
    """What was written: the file, the trial id, and the number of bullets and proposals."""

    path: Path
    trial: str
    bullets: int
    proposals: int


def new_rule_file(record: str | Path, out: str | Path, source: str | None = None, registry_id: str | None = None,
                  overwrite: bool = False) -> Drafted:
    """Read a study record, write its draft rule file atomically, and check that it compiles."""
    from ..compiler import compile_text

    study = read_study(record, registry_id)
    text = scaffold(study, source if source is not None else str(record))
    out = Path(out)
    compile_text(text, str(out))  # the draft must load with `screening check` (raises RuleFileError if not)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; refusing to overwrite an author's rule file (use --force)")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    proposals = sum(1 for line in text.splitlines() if line.lstrip().startswith("# proposed ("))
    bullets = sum(1 for line in text.splitlines() if line.startswith("  - id: inc-") or line.startswith("  - id: exc-"))
    return Drafted(out, study.registry_id, bullets, proposals)


def main(argv: list[str]) -> int:
    """Command-line shell (exit 0 written, 2 bad input)."""
    ap = argparse.ArgumentParser(prog="screening new", description=__doc__)
    ap.add_argument("record")
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--source")
    ap.add_argument("--nct")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)
    try:
        d = new_rule_file(args.record, args.out, args.source, args.nct, args.force)
    except InputError as e:
        print(e.first_line, file=__import__("sys").stderr)
        return 2
    except FileExistsError as e:
        print(f"error: {e}", file=__import__("sys").stderr)
        return 2
    print(f"{d.path}: {d.trial}: {d.bullets} draft criteria, {d.proposals} proposed rules")
    return 0
