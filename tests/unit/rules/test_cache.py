"""The compiled-trial cache: reused when nothing changed, never used after a change."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from screening.rules import cache
from screening import screen
from screening.rules.compiled import CompiledTrial

DATA = Path(__file__).resolve().parents[2] / "data"


def _compiles(monkeypatch) -> list:
    """Records every compile the cache does: a hit compiles nothing."""
    from screening.rules import compiler

    calls: list = []
    real = compiler.compile_text
    monkeypatch.setattr(compiler, "compile_text", lambda *a, **k: calls.append(a) or real(*a, **k))
    return calls


def test_cache_is_reused_and_screens_like_a_fresh_compile(tmp_path, monkeypatch):
    monkeypatch.setenv("SCREENING_CACHE_DIR", str(tmp_path))
    compiles = _compiles(monkeypatch)
    rules = DATA / "lupus.yaml"
    first = cache.load_criteria_cached(rules)
    entries = list(tmp_path.glob("*.pickle"))
    assert len(entries) == 1
    second = cache.load_criteria_cached(rules)
    assert len(compiles) == 1, "the second load must come from the cache"
    assert isinstance(second, CompiledTrial) and second is not first
    patient = (DATA / "p1.json").read_text()
    import json
    p = json.loads(patient)
    assert screen(p, first, date(2026, 11, 23)) == screen(p, second, date(2026, 11, 23))


def test_a_code_change_invalidates_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SCREENING_CACHE_DIR", str(tmp_path))
    compiles = _compiles(monkeypatch)
    rules = DATA / "lupus.yaml"
    cache.load_criteria_cached(rules)
    cache.load_criteria_cached(rules)
    assert len(compiles) == 1
    before = cache._code_fingerprint()
    module = Path(cache.__file__)
    st = module.stat()
    try:
        os.utime(module, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        assert cache._code_fingerprint() != before
        cache.load_criteria_cached(rules)
        assert len(compiles) == 2  # compiled again: the old entry not used
        assert len(list(tmp_path.glob("*.pickle"))) == 2
    finally:
        os.utime(module, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_a_corrupt_entry_falls_back_to_compiling(tmp_path, monkeypatch):
    monkeypatch.setenv("SCREENING_CACHE_DIR", str(tmp_path))
    rules = DATA / "lupus.yaml"
    cache.load_criteria_cached(rules)
    (entry,) = tmp_path.glob("*.pickle")
    entry.write_bytes(b"not a pickle")
    compiles = _compiles(monkeypatch)
    trial = cache.load_criteria_cached(rules)
    assert len(compiles) == 1
    assert trial.id and len(trial.criteria) > 0


def test_empty_cache_dir_disables_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SCREENING_CACHE_DIR", "")
    assert cache.cache_dir() is None
    assert cache.load_criteria_cached(DATA / "lupus.yaml").criteria


def test_the_fingerprint_covers_every_subpackage():
    import screening.engine.evaluate as evaluate

    before = cache._code_fingerprint()
    module = Path(evaluate.__file__)  # outside rules/, where the cache module sits
    st = module.stat()
    try:
        os.utime(module, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        assert cache._code_fingerprint() != before
    finally:
        os.utime(module, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_a_new_vocabulary_database_invalidates_the_cache(tmp_path, monkeypatch):
    # a compiled trial expands its concept sets through the OMOP vocabulary: after `screening vocab
    # load` writes another database, the trial compiled against the old one must not be reused
    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("SCREENING_CACHE_DIR", str(cache_dir))
    db = tmp_path / "vocabulary.sqlite"
    db.write_bytes(b"first")
    monkeypatch.setenv("SCREENING_VOCABULARY", str(db))
    compiles = _compiles(monkeypatch)
    rules = DATA / "lupus.yaml"
    cache.load_criteria_cached(rules)
    cache.load_criteria_cached(rules)
    assert len(compiles) == 1
    st = db.stat()
    db.write_bytes(b"second, loaded again")
    os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    cache.load_criteria_cached(rules)
    assert len(compiles) == 2
    monkeypatch.setenv("SCREENING_VOCABULARY", "")  # no vocabulary at all: another compile again
    cache.load_criteria_cached(rules)
    assert len(compiles) == 3
