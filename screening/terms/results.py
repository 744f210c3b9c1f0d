"""Words of coded results: synonyms of positive and negative ('Detected', 'non-reactive', '+'),
read from ``data/result_words.txt``, one table for coded results and titers alike; and the words
that make a positive no positive ('variant of uncertain significance').
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def result_words() -> dict[str, str]:
    """Folded word -> 'positive' or 'negative', from data/result_words.txt."""
    return _sections()[0]


@lru_cache(maxsize=1)
def uncertain_phrases() -> tuple[tuple[str, ...], ...]:
    """Phrases (as word tuples) of the [uncertain] section of data/result_words.txt."""
    from .names import words

    return tuple(words(p) for p in _sections()[1])


def uncertain_words(*texts: Any) -> str | None:
    """The first [uncertain] phrase found, as whole words, in any of ``texts`` (a result's name or its
    value): 'variant of uncertain significance' makes a 'detected' no pathogenic mutation."""
    from .names import words

    for text in texts:
        if not isinstance(text, str) or not text:
            continue
        toks = words(text)
        for p in uncertain_phrases():
            if any(toks[i:i + len(p)] == p for i in range(len(toks) - len(p) + 1)):
                return " ".join(p)
    return None


@lru_cache(maxsize=1)
def _sections() -> tuple[dict[str, str], list[str]]:
    text = resources.files(__package__).joinpath("data", "result_words.txt").read_text(encoding="utf-8")
    table: dict[str, str] = {}
    uncertain: list[str] = []
    section = None
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            if section not in ("positive", "negative", "uncertain"):
                raise ValueError(f"result_words.txt: unknown section [{section}]")
            continue
        if section is None:
            raise ValueError(f"result_words.txt: {line!r} before any section")
        if section == "uncertain":
            uncertain.append(line)
        else:
            table[_fold(line)] = section
    return table, uncertain


def _fold(value: Any) -> str:
    return " ".join(str(value).strip().lower().split())


def normalise_code(value: Any) -> str:
    """Coded text compared case-insensitively, with synonyms of positive/negative folded."""
    s = _fold(value)
    return result_words().get(s, s)


def is_negative(value: Any) -> bool:
    """Is ``value`` (text as recorded) one of the words for a negative result?"""
    return not isinstance(value, bool) and result_words().get(_fold(value)) == "negative"
