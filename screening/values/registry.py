"""The process-wide pint registry with the clinical definitions of ``data/units.txt``, and the
lock that every use of it holds (``units`` and ``ucum`` both read it; neither imports the other's).

Built once per process, lazily: importing pint costs about 0.2 s.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pint

# Held by every use of the pint registry; re-entrant, as parsing a UCUM code parses again.
REGISTRY_LOCK = threading.RLock()


def registry() -> "pint.UnitRegistry":
    """The process-wide unit registry with clinical units. Use it only while holding REGISTRY_LOCK."""
    with REGISTRY_LOCK:  # built once: two registries' quantities cannot be mixed
        return _build_registry()


@lru_cache(maxsize=1)
def _build_registry() -> "pint.UnitRegistry":
    import pint

    ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=False)
    text = resources.files(__package__).joinpath("data", "units.txt").read_text(encoding="utf-8")
    ureg.load_definitions(text.splitlines())
    return ureg
