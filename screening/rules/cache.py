"""On-disk cache of compiled trials, keyed by the rule file's content and the package version.

Compiling needs rule-engine and pint (about a second of imports); a cached trial needs
neither, so a repeated `screening screen` starts fast. The cache is an optimisation only:
any problem reading it falls back to compiling.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path

from .compiled import CompiledTrial


def cache_dir() -> Path | None:
    """SCREENING_CACHE_DIR, else the user's cache folder; None when SCREENING_CACHE_DIR is empty (disabled)."""
    env = os.environ.get("SCREENING_CACHE_DIR")
    if env is not None:
        return Path(env) if env else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "screening"


def _code_fingerprint() -> bytes:
    """Size and modification time of every module and data file of the package.

    A compiled trial pickles this package's classes: after any code change (even without a
    version bump) an old entry must not be used. Stat calls only, so start-up stays fast.
    """
    root = Path(__file__).resolve().parents[1]  # the whole package, not only rules/
    parts = []
    for f in sorted(root.rglob("*")):
        if f.suffix in (".py", ".txt", ".yaml", ".json"):
            st = f.stat()
            parts.append(f"{f.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}")
    return "\n".join(parts).encode()


def load_criteria_cached(path: str | Path) -> CompiledTrial:
    """Like load_criteria, reusing a compiled copy when the file's bytes are unchanged."""
    from ..version import __version__
    from .compiler import compile_text, load_criteria

    path = Path(path)
    folder = cache_dir()
    try:
        data = path.read_bytes()
    except OSError:
        return load_criteria(path)  # reports the error with the file name
    if folder is None:
        return load_criteria(path)
    key = hashlib.sha256(data + __version__.encode() + str(path).encode() + _code_fingerprint()).hexdigest()[:32]
    entry = folder / f"{key}.pickle"
    try:
        with open(entry, "rb") as fh:
            trial = pickle.load(fh)
        if isinstance(trial, CompiledTrial):
            return trial
    except Exception:  # missing, stale or corrupt: compile afresh
        pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return load_criteria(path)  # reports where the file stops being UTF-8
    trial = compile_text(text, str(path))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".tmp") as tmp:
            pickle.dump(trial, tmp, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp.name, entry)
    except OSError:
        pass
    return trial
