"""UCUM unit codes (as FHIR carries them) read through ucumvert's grammar into our pint registry.

ucumvert parses the UCUM syntax (prefixes, exponents, annotations, 10*9); its output names
a few UCUM atoms that our registry spells differently, mapped by ``_ATOMS``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from .registry import REGISTRY_LOCK, registry

if TYPE_CHECKING:  # pragma: no cover
    import pint

# UCUM special atoms -> pint names in data/units.txt or pint's defaults.
_ATOMS = {
    "[HPF]": "hpf",
    "[LPF]": "lpf",
    "[IU]": "IU",
    "[iU]": "IU",
    "[lb_av]": "lb",
    "[oz_av]": "oz",
    "[in_i]": "inch",
    "[ft_i]": "foot",
    "[degF]": "degF",
    "Cel": "degC",
    "mm[Hg]": "mmHg",
    "cm[H2O]": "cmH2O",
    "_10": "10",
    "%": "percent",
}
_ATOM_RE = re.compile("|".join(re.escape(a) for a in sorted(_ATOMS, key=len, reverse=True)))


@lru_cache(maxsize=1)
def _parser():
    from ucumvert import get_ucum_parser

    return get_ucum_parser()


@lru_cache(maxsize=2048)
def to_pint_string(code: str) -> str | None:
    """Pint expression for a UCUM code, or None when the code is not valid UCUM."""
    from ucumvert import UcumToPintStrTransformer

    try:
        text = UcumToPintStrTransformer().transform(_parser().parse(code))
    except Exception:  # lark raises several unrelated types for bad input
        return None
    return _ATOM_RE.sub(lambda m: _ATOMS[m.group(0)], text)


def to_quantity(code: str) -> "pint.Quantity | None":
    """A quantity of one ``code`` in our registry, or None if it cannot be read."""
    text = to_pint_string(code)
    if text is None:
        return None
    with REGISTRY_LOCK:
        ureg = registry()
        try:
            q = ureg.parse_expression(text)
        except Exception:
            return None
        return q if isinstance(q, ureg.Quantity) else ureg.Quantity(float(q), "dimensionless")
