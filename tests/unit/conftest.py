"""Unit tests mirror the package (tests/unit/values/ for screening/values/, ...); the shared
helpers (engine_helpers.py) stay here, importable from every subfolder."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
