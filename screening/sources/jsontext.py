"""Decoding JSON text without trusting it: json.loads, plus refusal of what a trusting reader
gets wrong (duplicate keys, nesting deep enough to exhaust the stack, integers beyond
Python's digit limit, lone surrogates), each with the character index where it happens.
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring
from typing import Any


MAX_DEPTH = 100  # levels of objects and arrays; a FHIR Bundle with a deep questionnaire needs about 60
MAX_DIGITS = 4300  # Python's own limit for converting digits to an int


class JSONProblem(ValueError):
    """Why a JSON text is refused, and the character index where."""

    def __init__(self, message: str, index: int):
        super().__init__(message)
        self.message, self.index = message, index


class _DuplicateKey(Exception):
    pass


def _no_duplicates(pairs: list) -> dict:
    out = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD]([89abAB]|[c-fC-F])[0-9a-fA-F]{2}")
_LONG_NUMBER = re.compile(r"-?\d{%d,}" % (MAX_DIGITS + 1))


def loads(text: str) -> Any:
    """json.loads that refuses what a trusting reader would get wrong: the last of duplicate keys
    silently winning, nesting deep enough to exhaust the stack, integers beyond Python's digit
    limit, and lone surrogates (which no UTF-8 output can hold). Raises JSONProblem."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as err:
        raise JSONProblem("empty file" if not text.strip() else f"invalid JSON: {err.msg}", err.pos) from None
    except _DuplicateKey as dup:
        found = _duplicate_key_at(text)
        raise JSONProblem(f"duplicate key {dup.args[0]!r}", found if found is not None else 0) from None
    except RecursionError:
        raise JSONProblem(f"JSON nested too deeply (more than {MAX_DEPTH} levels)", _too_deep_at(text)) from None
    except ValueError as err:  # integer conversion beyond the digit limit
        m = _LONG_NUMBER.search(text)
        if m is None:
            raise JSONProblem(f"invalid JSON: {err}", 0) from None
        raise JSONProblem(f"a number with {len(m.group(0).lstrip('-'))} digits (at most {MAX_DIGITS})",
                          m.start()) from None
    _check_tree(data, text)
    return data


def _check_tree(data: Any, text: str) -> None:
    """Depth and lone surrogates, checked on the decoded values (iteratively: cost grows with the values)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if depth > MAX_DEPTH:
                raise JSONProblem(f"JSON nested too deeply (more than {MAX_DEPTH} levels)", _too_deep_at(text))
            for k, v in value.items():
                if not k.isascii() and _SURROGATE.search(k):
                    raise JSONProblem("invalid JSON: a lone surrogate (\\ud800-\\udfff) is not a character",
                                      _lone_surrogate_at(text))
                stack.append((v, depth + 1))
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                raise JSONProblem(f"JSON nested too deeply (more than {MAX_DEPTH} levels)", _too_deep_at(text))
            stack.extend((v, depth + 1) for v in value)
        elif isinstance(value, str) and not value.isascii() and _SURROGATE.search(value):
            raise JSONProblem("invalid JSON: a lone surrogate (\\ud800-\\udfff) is not a character",
                              _lone_surrogate_at(text))


def _lone_surrogate_at(text: str) -> int:
    """Index of the first \\uD800-\\uDFFF escape that is not half of a pair (or of a raw surrogate)."""
    matches = list(_SURROGATE_ESCAPE.finditer(text))
    for i, m in enumerate(matches):
        high = m.group(1) in "89abAB"
        nxt = matches[i + 1] if i + 1 < len(matches) else None
        paired_after = high and nxt is not None and nxt.start() == m.end() and nxt.group(1) not in "89abAB"
        prev = matches[i - 1] if i > 0 else None
        paired_before = not high and prev is not None and prev.end() == m.start() and prev.group(1) in "89abAB"
        if not (paired_after or paired_before):
            return m.start()
    raw = _SURROGATE.search(text)
    return raw.start() if raw else 0


def _structure(text: str):
    """(index, character) of every bracket, brace and comma outside strings, and each string's span."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            try:
                _, end = scanstring(text, i + 1)
            except ValueError:
                return
            yield i, '"', end
            i = end
            continue
        if c in "{}[],":
            yield i, c, i + 1
        i += 1


def _too_deep_at(text: str) -> int:
    depth = 0
    for i, c, _ in _structure(text):
        if c in "{[":
            depth += 1
            if depth > MAX_DEPTH:
                return i
        elif c in "}]":
            depth -= 1
    return 0


def _duplicate_key_at(text: str) -> int | None:
    """Index of the first key repeated in its object (a scan, done only once a duplicate is known)."""
    stack: list[set | None] = []
    expect_key = False
    for i, c, end in _structure(text):
        if c == '"':
            if expect_key and stack and stack[-1] is not None:
                key = scanstring(text, i + 1)[0]
                if key in stack[-1]:
                    return i
                stack[-1].add(key)
            expect_key = False
        elif c == "{":
            stack.append(set())
            expect_key = True
        elif c == "[":
            stack.append(None)
            expect_key = False
        elif c in "}]":
            if stack:
                stack.pop()
            expect_key = False
        elif c == ",":
            expect_key = bool(stack) and stack[-1] is not None
    return None


def position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of character ``index`` of ``text``."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1
