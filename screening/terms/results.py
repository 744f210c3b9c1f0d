"""Words of coded results: synonyms of positive and negative ('Detected', 'non-reactive', '+'),
read from ``data/result_words.txt``, one table for coded results and titers alike.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def result_words() -> dict[str, str]:
    """Folded word -> 'positive' or 'negative', from data/result_words.txt."""
    text = resources.files(__package__).joinpath("data", "result_words.txt").read_text(encoding="utf-8")
    table: dict[str, str] = {}
    section = None
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            if section not in ("positive", "negative"):
                raise ValueError(f"result_words.txt: unknown section [{section}]")
            continue
        if section is None:
            raise ValueError(f"result_words.txt: {line!r} before any section")
        table[_fold(line)] = section
    return table


def _fold(value: Any) -> str:
    return " ".join(str(value).strip().lower().split())


def normalise_code(value: Any) -> str:
    """Coded text compared case-insensitively, with synonyms of positive/negative folded."""
    s = _fold(value)
    return result_words().get(s, s)


def is_negative(value: Any) -> bool:
    """Is ``value`` (text as recorded) one of the words for a negative result?"""
    return not isinstance(value, bool) and result_words().get(_fold(value)) == "negative"
