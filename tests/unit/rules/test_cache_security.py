"""The compiled-trial cache is data, never code: a planted or tampered entry is never used,
the folder is private (0700, owned by the user), and the key changes with the versions of
the libraries a compiled trial depends on."""

from __future__ import annotations

import os
import pickle
import stat
from datetime import date
from pathlib import Path

import pytest

from screening import compile_text, screen
from screening.rules import cache

DATA = Path(__file__).resolve().parents[2] / "data"
RULES = DATA / "lupus.yaml"
AS_OF = date(2026, 11, 23)


class _Planted:
    """Unpickling this runs code: it writes the marker file."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "code ran"))


def _entries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p.name not in ("key",) and not p.name.endswith(".tmp")]


@pytest.fixture
def counted(monkeypatch):
    """How many times the cache compiled a rule file (a hit compiles nothing)."""
    from screening.rules import compiler

    calls = []
    real = compiler.compile_text

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(compiler, "compile_text", counting)
    return calls


def _verdicts(trial) -> list:
    import json

    p = json.loads((DATA / "p1.json").read_text())
    r = screen(p, trial, AS_OF)
    return [(c.id, c.status.value) for c in r.criteria]


def test_a_planted_entry_never_runs_code(tmp_path, monkeypatch, counted):
    folder = tmp_path / "cache"
    monkeypatch.setenv("SCREENING_CACHE_DIR", str(folder))
    cache.load_criteria_cached(RULES)
    marker = tmp_path / "marker"
    for entry in _entries(folder):
        entry.write_bytes(pickle.dumps(_Planted(marker)))
    trial = cache.load_criteria_cached(RULES)
    assert not marker.exists(), "unpickling a planted cache entry ran code"
    assert trial.id and _verdicts(trial) == _verdicts(compile_text(RULES.read_text(), str(RULES)))


def test_a_tampered_entry_is_not_used(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("SCREENING_CACHE_DIR", str(folder))
    honest = cache.load_criteria_cached(RULES)
    other = compile_text(RULES.read_text().replace("upcr >= 1", "upcr >= 100"), str(RULES))
    assert _verdicts(other) != _verdicts(honest)  # the tampering would show
    for entry in _entries(folder):
        entry.write_bytes(pickle.dumps(other))
    assert _verdicts(cache.load_criteria_cached(RULES)) == _verdicts(honest)


def test_a_corrupted_entry_is_not_used(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("SCREENING_CACHE_DIR", str(folder))
    honest = cache.load_criteria_cached(RULES)
    for entry in _entries(folder):
        data = bytearray(entry.read_bytes())
        data[len(data) // 2] ^= 0x55
        entry.write_bytes(bytes(data))
    assert _verdicts(cache.load_criteria_cached(RULES)) == _verdicts(honest)


def test_the_cache_folder_is_private(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("SCREENING_CACHE_DIR", str(folder))
    cache.load_criteria_cached(RULES)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for entry in folder.rglob("*"):
        if entry.is_file():
            assert stat.S_IMODE(entry.stat().st_mode) & 0o077 == 0, entry


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the folder to another user")
def test_a_folder_owned_by_another_user_is_refused(tmp_path, monkeypatch, counted):
    folder = tmp_path / "cache"
    monkeypatch.setenv("SCREENING_CACHE_DIR", str(folder))
    cache.load_criteria_cached(RULES)
    os.chown(folder, 65534, 65534)  # nobody
    for entry in folder.rglob("*"):
        os.chown(entry, 65534, 65534)
    before = len(counted)
    trial = cache.load_criteria_cached(RULES)
    assert len(counted) == before + 1  # compiled afresh, the foreign folder not read
    assert trial.criteria


@pytest.mark.parametrize("dist", ["pint", "rule-engine", "ucumvert", "screening"])
def test_a_library_upgrade_invalidates_the_cache(tmp_path, monkeypatch, counted, dist):
    import importlib.metadata

    folder = tmp_path / "cache"
    monkeypatch.setenv("SCREENING_CACHE_DIR", str(folder))
    cache.load_criteria_cached(RULES)
    cache.load_criteria_cached(RULES)
    assert len(counted) == 1  # a hit
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "999.0" if name == dist else real(name))
    if hasattr(cache, "_versions"):
        cache._versions.cache_clear()
    cache.load_criteria_cached(RULES)
    assert len(counted) == 2  # the old entry was not used
