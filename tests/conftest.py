"""Shared fixtures: paths to the repository's rule files and examples."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CRITERIA = ROOT / "criteria"
EXAMPLES = ROOT / "examples"
SEEDS = ROOT.parent / "shared" / "seeds"

os.environ.setdefault("SCREENING_CACHE_DIR", "")  # tests compile rule files afresh


@pytest.fixture
def root() -> Path:
    return ROOT
