"""Write a draft rule file from a registry record: the library side of ``screening new``."""

from __future__ import annotations

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
    from ..rules.compiler import compile_text

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
