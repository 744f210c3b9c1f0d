"""On-disk cache of compiled trials, keyed by the rule file's content and every version it depends on.

Compiling needs rule-engine and pint (about a second of imports); a cached trial needs
neither, so a repeated `screening screen` starts fast. The cache is an optimisation only:
any problem reading it falls back to compiling.

A cache entry is a pickle, and unpickling runs code: so an entry is used only when it
carries a valid HMAC-SHA256 made with this user's secret key (a 0600 file in the cache
folder), and only from a folder that is this user's own and private (0700). A file planted
or altered by anyone without the key is never unpickled; a folder owned by someone else is
not used at all.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import secrets
import stat
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from .compiled import CompiledTrial

_MAGIC = b"screening-cache-1\n"
_KEY_FILE = "key"
# The distributions a compiled trial's pickle (and meaning) depends on.
_DISTRIBUTIONS = ("screening", "pint", "rule-engine", "ucumvert", "pydantic")


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


@lru_cache(maxsize=1)
def _versions() -> bytes:
    """Python's and each dependency's version: an upgrade must not reuse an entry pickled before it."""
    import importlib.metadata

    parts = [sys.version]
    for name in _DISTRIBUTIONS:
        try:
            parts.append(f"{name}={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{name}=?")
    return "\n".join(parts).encode()


def _vocabulary_identity() -> bytes:
    """The OMOP vocabulary database concept sets are expanded through when compiling (its path, size
    and modification time), or none: after a new `screening vocab load` (or another
    SCREENING_VOCABULARY) a trial compiled against the old vocabulary must not be reused."""
    from ..terms.athena import default_db

    db = default_db()
    if db is None:
        return b"no vocabulary"
    try:
        st = db.stat()
    except OSError:
        return f"{db}: absent".encode()
    return f"{db.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()


def _private_folder(folder: Path) -> bool:
    """Create ``folder`` 0700 if needed; True only if it is a real folder owned by this user and private."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(folder)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        return False  # a symbolic link, or someone else's folder: never read or written
    if stat.S_IMODE(st.st_mode) & 0o077:
        try:
            os.chmod(folder, 0o700)
        except OSError:
            return False
    return True


def _secret(folder: Path) -> bytes | None:
    """This user's cache key (created on first use, 0600); None if it cannot be trusted."""
    path = folder / _KEY_FILE
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(2):
        try:
            fd = os.open(path, flags)
        except FileNotFoundError:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            except FileExistsError:
                continue  # created meanwhile by another process: read it
            except OSError:
                return None
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(32))
            continue
        except OSError:
            return None
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & 0o077 or not stat.S_ISREG(st.st_mode):
                return None
            key = fh.read(64)
        return key if len(key) == 32 else None
    return None


def _read_entry(entry: Path, key: bytes) -> CompiledTrial | None:
    """The trial in ``entry`` if its HMAC is valid; the bytes are unpickled only then."""
    try:
        with open(entry, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    head = len(_MAGIC) + 32
    if len(data) <= head or not data.startswith(_MAGIC):
        return None
    mac, payload = data[len(_MAGIC):head], data[head:]
    if not hmac.compare_digest(mac, hmac.new(key, payload, hashlib.sha256).digest()):
        return None
    try:
        trial = pickle.loads(payload)
    except Exception:
        return None
    return trial if isinstance(trial, CompiledTrial) else None


def _write_entry(folder: Path, entry: Path, key: bytes, trial: CompiledTrial) -> None:
    payload = pickle.dumps(trial, protocol=pickle.HIGHEST_PROTOCOL)
    mac = hmac.new(key, payload, hashlib.sha256).digest()
    with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".tmp") as tmp:  # created 0600
        tmp.write(_MAGIC + mac + payload)
    os.replace(tmp.name, entry)


def load_criteria_cached(path: str | Path) -> CompiledTrial:
    """Like load_criteria, reusing a compiled copy when the file's bytes and every version are unchanged."""
    from . import compiler

    path = Path(path)
    folder = cache_dir()
    try:
        data = path.read_bytes()
    except OSError:
        return compiler.load_criteria(path)  # reports the error with the file name
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return compiler.load_criteria(path)  # reports where the file stops being UTF-8
    secret = _secret(folder) if folder is not None and _private_folder(folder) else None
    if secret is None:
        return compiler.compile_text(text, str(path))
    digest = hashlib.sha256()
    for part in (data, str(path).encode(), _versions(), _code_fingerprint(), _vocabulary_identity()):
        digest.update(hashlib.sha256(part).digest())
    entry = folder / f"{digest.hexdigest()[:32]}.pickle"
    trial = _read_entry(entry, secret)
    if trial is not None:
        return trial
    trial = compiler.compile_text(text, str(path))
    try:
        _write_entry(folder, entry, secret, trial)
    except OSError:
        pass
    return trial
