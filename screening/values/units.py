"""Units as physics: parse unit strings with pint, convert by precomputed factors, read titers.

The registry is built once per process, lazily (importing pint costs about 0.2 s), with
the clinical definitions of ``data/units.txt``. Conversion factors are memoised per
(unit, target, context, molar mass), so screening a patient multiplies floats instead of
building quantities.

Thread safety: the registry is shared by the whole process, and a pint context is
activated on the registry itself (``with registry().context(...)``), where every thread
would see it. So every use of the registry (parsing, converting, activating a context)
holds ``REGISTRY_LOCK``; the memoised results (factors, parsed units) are read without it.
A molar mass needs no context at all: it is a quantity the source is divided or
multiplied by.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..errors import UnitError
from .registry import REGISTRY_LOCK, registry

if TYPE_CHECKING:  # pragma: no cover
    import pint

_UCUM_HINT = re.compile(r"[\[\]{}]|\d+\*")

def _normalise(unit: str) -> str:
    s = unit.strip()
    s = unit_aliases().get(s, s)  # whole strings only: 'KG' is kg, 'Mmol' stays megamole
    if s in ("", "1"):
        return "dimensionless"
    if s.startswith("/"):
        s = "1" + s
    return s


@lru_cache(maxsize=4096)
def parse_unit(unit: str) -> "pint.Quantity":
    """Parse a unit string (pint syntax, or a UCUM code such as mm[Hg] or 10*9/L) to a quantity of 1 unit.

    Scaled units ("10^9/L") keep their scale in the magnitude. Raises UnitError.
    """
    with REGISTRY_LOCK:
        return _parse_unit(unit)


def _parse_unit(unit: str) -> "pint.Quantity":
    import pint

    ureg = registry()
    text = _normalise(unit)
    if _UCUM_HINT.search(text):  # UCUM's 10*9 is 10^9, and pint would read it as 90
        ucum = _from_ucum(text)
        if ucum is not None:
            return ucum
        raise UnitError(f"unknown unit {unit!r}: not valid UCUM")
    try:
        q = ureg.parse_expression(text)
        if not isinstance(q, ureg.Quantity):
            q = ureg.Quantity(float(q), "dimensionless")
        return q
    except Exception as pint_err:  # pint's parser also raises ZeroDivisionError, AssertionError, TokenError...
        ucum = _from_ucum(text) if re.fullmatch(r"[\w./%\[\]{}*^-]+", text) else None
        if ucum is not None:
            return ucum
        readable = isinstance(pint_err, (pint.errors.PintError, ValueError)) and str(pint_err)
        raise UnitError(f"unknown unit {unit!r}: {pint_err if readable else 'cannot be parsed'}") from None


def _from_ucum(code: str) -> "pint.Quantity | None":
    """Parse a UCUM code through ucumvert; None when it is not valid UCUM either."""
    from . import ucum

    return ucum.to_quantity(code)


@lru_cache(maxsize=4096)
def conversion_factor(unit: str, target: str, context: str | None = None, molar_mass: float | None = None) -> float:
    """Factor f such that value[unit] * f == value[target]. Raises UnitError if incompatible.

    ``context`` names a pint context of data/units.txt (creatinine_ratio); ``molar_mass``
    (g/mol) is the analyte's, for mass <-> amount of substance (mg/dL <-> mmol/L).
    """
    with REGISTRY_LOCK:
        return _conversion_factor(unit, target, context, molar_mass)


def _conversion_factor(unit: str, target: str, context: str | None, molar_mass: float | None) -> float:
    import pint

    src, dst = parse_unit(unit), parse_unit(target)
    if not (src.unitless or _is_multiplicative(src)) or not _is_multiplicative(dst):
        raise UnitError(f"cannot convert offset unit {unit!r} by a factor")
    if context is None and src.dimensionless and dst.dimensionless and _substance_ratio(src) != _substance_ratio(dst):
        ratio, plain = (unit, target) if _substance_ratio(src) else (target, unit)
        raise UnitError(f"unit {unit!r} cannot be converted to {target!r} by a factor: {ratio!r} is a ratio of amounts "
                        f"of substance and {plain!r} is not; an analyte reported on both scales relates them by its "
                        "own equation (HbA1c: NGSP % = 0.09148 x IFCC mmol/mol + 2.152), so the data item must name "
                        "its context (context: hba1c)")
    # With a molar mass, the recorded unit may count mass where the target counts moles
    # (divide by it) or the reverse (multiply). At most one of the three is dimensionally
    # possible, since a molar mass has a dimension: no choice is ever guessed.
    candidates = [src]
    if molar_mass is not None:
        mm = registry().Quantity(molar_mass, "g/mol")
        candidates += [src / mm, src * mm]
    try:
        for q in candidates:
            try:
                if context:
                    with registry().context(context):
                        converted = q.to(dst.units)
                else:
                    converted = q.to(dst.units)
            except pint.errors.DimensionalityError:
                continue
            return float(converted.magnitude) / float(dst.magnitude)
    except KeyError as err:
        raise UnitError(f"unknown unit context {context!r}") from err
    how = f" (with context {context})" if context else ""
    if molar_mass is not None:
        how += f" (with molar mass {format_number(molar_mass)} g/mol)"
    raise UnitError(f"unit {unit!r} ({_dim(src)}) cannot be converted to {target!r} ({_dim(dst)}){how}")


def _substance_ratio(q: "pint.Quantity") -> bool:
    """Is ``q``'s unit written as a ratio of amounts of substance (mmol/mol)? Such a ratio and a plain one
    (%) are both dimensionless, yet for an analyte such as HbA1c they are two scales, not a factor apart."""
    ureg = registry()
    return any("[substance]" in ureg.get_dimensionality(name) for name, _ in q.unit_items())


@lru_cache(maxsize=256)
def affine_conversion(unit: str, target: str) -> tuple[float, float]:
    """(factor, offset) such that value[unit] * factor + offset == value[target], for temperatures.

    Units with an offset (degC, degF, Cel, [degF]) convert by a line, not a factor: 100.4 degF
    is 38 degC. Raises UnitError when the two are not both temperatures (or not convertible).
    """
    import pint

    with REGISTRY_LOCK:
        src, dst = parse_unit(unit), parse_unit(target)
        if float(src.magnitude) != 1.0 or float(dst.magnitude) != 1.0:
            raise UnitError(f"cannot convert {unit!r} to {target!r}: scaled offset units")
        Q = registry().Quantity
        try:
            zero = float(Q(0.0, src.units).to(dst.units).magnitude)
            one = float(Q(1.0, src.units).to(dst.units).magnitude)
        except pint.errors.DimensionalityError:
            raise UnitError(f"unit {unit!r} ({_dim(src)}) cannot be converted to {target!r} ({_dim(dst)})") from None
    factor = one - zero
    if not factor > 0:
        raise UnitError(f"cannot convert {unit!r} to {target!r}")
    return factor, zero


@lru_cache(maxsize=256)
def molar_mass(text: str) -> float:
    """A molar mass such as '113.12 g/mol' (or '0.11312 kg/mol') in g/mol. Raises UnitError."""
    with REGISTRY_LOCK:
        ureg = registry()
        try:
            q = ureg.parse_expression(text)
        except Exception:
            raise UnitError(f"molar mass {text!r} cannot be read; write it like '113.12 g/mol'") from None
        if not isinstance(q, ureg.Quantity) or q.unitless:
            raise UnitError(f"molar mass {text!r} needs its unit, e.g. '113.12 g/mol'")
        if q.dimensionality != ureg.get_dimensionality("[mass] / [substance]"):
            raise UnitError(f"molar mass {text!r} is {_dim(q)}, not a mass per amount of substance "
                            "(e.g. '113.12 g/mol')")
        value = float(q.to("g/mol").magnitude)
    if not (0 < value < math.inf):
        raise UnitError(f"molar mass {text!r} must be a positive number of g/mol")
    return value


def check_context(name: str) -> None:
    """Raise UnitError unless ``name`` is a context defined in the registry or a scale of data/scales.txt."""
    with REGISTRY_LOCK:
        contexts = set(getattr(registry(), "_contexts", ())) | set(scales())  # pint lists no contexts publicly
    if name not in contexts:
        known = ", ".join(sorted(contexts))
        raise UnitError(f"unknown unit context {name!r} (defined: {known})")


@lru_cache(maxsize=1)
def scales() -> dict[str, dict[str, str]]:
    """data/scales.txt: context -> {recorded unit: registry unit}."""
    text = resources.files(__package__).joinpath("data", "scales.txt").read_text(encoding="utf-8")
    out: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            context, _, rest = line.partition(":")
            spelling, _, unit = rest.partition("=")
            out.setdefault(context.strip(), {})[spelling.strip()] = unit.strip()
    return out


@lru_cache(maxsize=4096)
def conversion(unit: str, target: str, context: str | None = None,
               molar_mass: float | None = None) -> tuple[float, float]:
    """(scale, offset) such that value[unit] * scale + offset == value[target]. Raises UnitError.

    A plain factor (offset 0) for most units; an offset unit (degF to degC) or an analyte's own
    scales (HbA1c NGSP % and IFCC mmol/mol, context hba1c) convert by the affine map pint gives,
    checked to be affine. Never a factor where an offset is needed.
    """
    table = scales().get(context or "")
    if table is not None:
        src, dst = table.get(_normalise(unit)), table.get(_normalise(target))
        if src is None or dst is None:
            bad = unit if src is None else target
            raise UnitError(f"unit {bad!r} is not a unit of {context} ({', '.join(table)})")
        return _affine(src, dst)
    try:
        return conversion_factor(unit, target, context, molar_mass), 0.0
    except UnitError:
        if context is not None or molar_mass is not None:
            raise
        with REGISTRY_LOCK:
            src, dst = parse_unit(unit), parse_unit(target)
            if is_multiplicative(src) and is_multiplicative(dst):
                raise
        return _affine(unit, target)


def _affine(unit: str, target: str) -> tuple[float, float]:
    """The affine map between two units (offset units included), from pint's own conversion."""
    import pint

    with REGISTRY_LOCK:
        ureg = registry()
        try:
            src, dst = ureg.Unit(_normalise(unit)) if unit in scales_units() else parse_unit(unit).units, \
                ureg.Unit(_normalise(target)) if target in scales_units() else parse_unit(target).units
            at = [float(ureg.Quantity(x, src).to(dst).magnitude) for x in (0.0, 1.0, 100.0)]
        except (pint.errors.PintError, ValueError) as err:
            raise UnitError(f"unit {unit!r} cannot be converted to {target!r}: {err}") from None
    offset, scale = at[0], at[1] - at[0]
    if not math.isclose(at[2], offset + 100 * scale, rel_tol=1e-9, abs_tol=1e-9) or scale <= 0:
        raise UnitError(f"unit {unit!r} does not convert to {target!r} by a linear map")
    return scale, offset


@lru_cache(maxsize=1)
def scales_units() -> frozenset[str]:
    """The registry units named by data/scales.txt (parsed directly, not as chart spellings)."""
    return frozenset(u for table in scales().values() for u in table.values())


def dimensionality(unit: str) -> Any:
    """Pint dimensionality of a unit string (for compatibility checks)."""
    with REGISTRY_LOCK:
        return parse_unit(unit).dimensionality


def _dim(q: "pint.Quantity") -> str:
    d = str(q.dimensionality)
    return "dimensionless" if d == "dimensionless" else d


def is_multiplicative(q: "pint.Quantity") -> bool:
    """Does ``q``'s unit convert by a factor alone? False for offset units (degC, degF), whose zero
    is not the zero of their root unit; False too when pint cannot say (fail closed)."""
    try:
        with REGISTRY_LOCK:
            zero = registry().Quantity(0.0, q.units).to_root_units().magnitude
        return float(zero) == 0.0
    except Exception:
        return False


_is_multiplicative = is_multiplicative


_TITER = re.compile(r"^\s*1\s*[:/]\s*(\d+(?:\.\d+)?)\s*$")


def parse_titer(value: Any) -> float | None:
    """Dilution of a titer: '1:160' and '1/160' give 160. Anything else (including '<1:40') gives None.

    YAML and pint both misread '1:80' (base-60 numbers, multiplication), so titers never
    go through either.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        dilution = float(value)
    else:
        m = _TITER.match(str(value))
        dilution = float(m.group(1)) if m else None
    # '1:0', negative numbers, NaN and infinities are no dilution at all
    return dilution if dilution is not None and 0 < dilution < math.inf else None


def format_number(x: float) -> str:
    """Short human form of a number: 1.0 -> '1', 1.326 -> '1.33', 150.01 -> '150'."""
    if abs(x) >= 1e15:
        return f"{x:.3g}"
    if x == int(x):
        return str(int(x))
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}".rstrip("0").rstrip(".")
    return f"{x:.3g}"


def format_against(x: float, threshold: float, test) -> str:
    """``x`` in its short form, or with as many more digits as it takes for ``x`` beside ``threshold`` to read
    as true as it is: 199.5 against < 200 shows '199.5', not '200' (which would read '200 < 200').

    ``test`` is the comparison (operator.lt, ...) applied to (x, threshold).
    """
    shown = format_number(x)
    truth = test(x, threshold)
    if x == threshold or (test(float(shown), threshold) == truth and float(shown) != threshold):
        return shown
    for digits in range(4, 16):
        shown = f"{x:.{digits}g}"
        if "e" not in shown and test(float(shown), threshold) == truth and float(shown) != threshold:
            return shown
    return repr(x)


@lru_cache(maxsize=1)
def _common_unit_lines() -> tuple[tuple[str, str | None], ...]:
    text = resources.files(__package__).joinpath("data", "common_units.txt").read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            spelling, _, meaning = line.partition(" = ")
            out.append((spelling.strip(), meaning.strip() or None))
    return tuple(out)


def common_units() -> tuple[str, ...]:
    """Chart spellings of units listed in data/common_units.txt (aliases included)."""
    return tuple(spelling for spelling, _ in _common_unit_lines())


@lru_cache(maxsize=1)
def unit_aliases() -> dict[str, str]:
    """Whole-string chart spellings and the unit each means ('mm Hg' -> 'mmHg'), from data/common_units.txt."""
    return {spelling: meaning for spelling, meaning in _common_unit_lines() if meaning is not None}


def precomputed_factors(target: str, context: str | None = None,
                        molar_mass: float | None = None) -> dict[str, float]:
    """Factors from every compatible common unit spelling to ``target`` (for a compiled item)."""
    out: dict[str, float] = {}
    for unit in common_units():
        try:
            out[unit] = conversion_factor(unit, target, context, molar_mass)
        except UnitError:
            continue
    return out
