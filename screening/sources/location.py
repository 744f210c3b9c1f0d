"""Where in a JSON text a value sits: line and column of a path of keys and indexes, and a
pydantic error's location and message in this project's words. Shared by every JSON source
(native profiles, FHIR Bundles) so that all of them point at the same place the same way.
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def locate(text: str, loc: tuple) -> tuple[int, int] | None:
    """Line and column (1-based) of the value at ``loc`` (keys and indexes) in a JSON text.

    Where ``loc`` goes further than the document (a missing field), the deepest value that
    exists; None if the text is not JSON.
    """
    def skip(i: int) -> int:
        return _SPACE.match(text, i).end()

    def members(i: int):
        """(key or index, start of its value) of the object or array starting at ``i``."""
        is_object = text[i] == "{"
        close = "}" if is_object else "]"
        i, n = skip(i + 1), 0
        while i < len(text) and text[i] != close:
            key = n
            if is_object:
                key, i = scanstring(text, i + 1)
                i = skip(skip(i) + 1)  # past the colon
            yield key, i
            _, i = _DECODER.raw_decode(text, i)
            i = skip(i)
            if text.startswith(",", i):
                i = skip(i + 1)
            n += 1

    try:
        at = skip(0)
        for part in loc:
            if at >= len(text) or text[at] not in "{[" or (text[at] == "{") != isinstance(part, str):
                break
            found = None
            for key, start in members(at):
                if key == part:
                    found = start  # the last of duplicate keys, as json.loads keeps
                    if isinstance(part, int):
                        break
            if found is None:
                break
            at = found
    except (ValueError, IndexError):
        return None
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def error_path(loc: tuple, whole: str = "profile") -> str:
    """A pydantic error location as a path: ('observations', 2, 'date') -> observations[2].date."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (("." if out else "") + str(part))
    return out or whole


def error_message(e: dict) -> str:
    """A pydantic error message in the words of this project's other messages."""
    if e["type"] == "extra_forbidden":
        return "unknown field"
    if e["type"] in ("missing", "model_field_validation.missing"):
        return "missing required field"
    if e["type"] == "string_too_long" and isinstance(e.get("input"), str):
        from ..model.patient import too_long

        return too_long(len(e["input"]), (e.get("ctx") or {}).get("max_length", len(e["input"]) - 1))
    msg = e["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    return msg.rstrip(".")
