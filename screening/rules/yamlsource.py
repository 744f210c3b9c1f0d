"""Safe YAML loading that remembers where every value came from.

PyYAML's safe loader with YAML 1.1 surprises removed: ``1:40`` stays the string '1:40'
(not the base-60 integer 100), ``no``/``yes``/``on``/``off`` stay strings, dates stay
strings (pydantic parses them where a date is expected). Positions are kept for every
mapping value and sequence item, so validation errors name file, line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import Problem

Path = tuple[Any, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2-like implicit types (bool, int, float, null only)."""


_Loader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^[-+]?(?:0|[1-9][0-9]*)$", list("-+0123456789")),
    ("tag:yaml.org,2002:float", r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$", list("-+0123456789.")),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
]:
    _Loader.add_implicit_resolver(_tag, re.compile(_regexp), _first)


@dataclass
class Located:
    """A YAML document as plain data, with the position of every node."""

    data: Any
    file: str
    text: str
    marks: dict[Path, yaml.Mark] = field(default_factory=dict)
    ends: dict[Path, yaml.Mark] = field(default_factory=dict)
    aliases: bool = False  # the text uses aliases (a huge value count then says so)

    def problem(self, path: Path, message: str, offset: int | None = None) -> Problem:
        """A problem located at ``path`` (the nearest known ancestor), optionally ``offset`` chars into its scalar."""
        p = tuple(path)
        while p and p not in self.marks:
            p = p[:-1]
        mark = self.marks.get(p)
        if mark is None:
            return Problem(message, self.file)
        if offset is not None and p in self.ends:
            pos = self._find_in_scalar(p, offset)
            if pos is not None:
                return Problem(message, self.file, pos[0], pos[1])
        return Problem(message, self.file, mark.line + 1, mark.column + 1)

    def _find_in_scalar(self, path: Path, offset: int) -> tuple[int, int] | None:
        """Line and column of character ``offset`` of a scalar's value, found in the raw text."""
        value = _get(self.data, path)
        if not isinstance(value, str):
            return None
        start, end = self.marks[path].index, self.ends[path].index
        raw = self.text[start:end]
        # Look for the value's text from `offset` (up to the end of its line) inside the raw scalar.
        tail = value[offset:].split("\n", 1)[0]
        head = value[:offset]
        for probe in (tail[:24], tail[:8], tail[:1]):
            if not probe.strip():
                continue
            # Count earlier occurrences of the probe in the value, to pick the same one in the raw text.
            nth = head.count(probe)
            idx = -1
            for _ in range(nth + 1):
                idx = raw.find(probe, idx + 1)
                if idx < 0:
                    break
            if idx >= 0:
                absolute = start + idx
                line = self.text.count("\n", 0, absolute)
                col = absolute - (self.text.rfind("\n", 0, absolute) + 1)
                return line + 1, col + 1
        if offset >= len(value):  # error at the end of the expression
            absolute = end
            line = self.text.count("\n", 0, absolute)
            col = absolute - (self.text.rfind("\n", 0, absolute) + 1)
            return line + 1, col + 1
        return None


def _get(data: Any, path: Path) -> Any:
    for key in path:
        data = data[key]
    return data


MAX_DEPTH = 50  # levels of mappings and sequences; a rule file needs about 6
_CORE_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("map", "seq", "str", "int", "float", "bool", "null")}


def _check_events(text: str, file: str) -> bool:
    """A first pass over the parser's events (a loop, not a recursion): nesting deeper than MAX_DEPTH
    and tags outside YAML's core schema ('!foo', '!!python/...') are refused where they stand, before
    composing (which recurses). True when the text uses aliases."""
    from ..errors import RuleFileError

    depth, aliases, values = 0, False, 0
    loader = _Loader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            tag = getattr(event, "tag", None)
            if tag is not None and tag not in _CORE_TAGS and tag != "!":
                mark = event.start_mark
                raise RuleFileError(Problem(f"unknown YAML tag {tag!r}: rule files use plain YAML (no tags)",
                                            file, mark.line + 1, mark.column + 1))
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise RuleFileError(Problem(f"nested too deeply (more than {MAX_DEPTH} levels)", file,
                                                mark.line + 1, mark.column + 1))
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                aliases = True
            if isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                values += 1
                if values > MAX_VALUES:
                    mark = event.start_mark
                    raise RuleFileError(Problem(f"more than {MAX_VALUES} values: a rule file this large is not "
                                                "supported", file, mark.line + 1, mark.column + 1))
    finally:
        loader.dispose()
    return aliases


def load(text: str, file: str) -> Located:
    """Parse YAML text safely; raise InputError-ready problems as yaml errors are found."""
    aliases = _check_events(text, file)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    doc = Located(None, file, text, aliases=aliases)
    problems: list[Problem] = []
    doc.data = _build(node, (), loader, doc, problems) if node is not None else None
    if problems:
        from ..errors import RuleFileError

        raise RuleFileError(problems)
    return doc


MAX_VALUES = 50_000  # far above any real rule file; aliases of aliases can expand exponentially


def _build(node: yaml.Node, path: Path, loader: _Loader, doc: Located, problems: list[Problem],
           inside: frozenset = frozenset()) -> Any:
    from ..errors import RuleFileError

    if len(doc.marks) >= MAX_VALUES:
        why = " (YAML aliases expanding)" if doc.aliases else ": a rule file this large is not supported"
        raise RuleFileError(Problem(f"more than {MAX_VALUES} values{why}", doc.file,
                                    node.start_mark.line + 1, node.start_mark.column + 1))
    if id(node) in inside:  # an alias to a node that contains it: the value would be infinite
        raise RuleFileError(Problem("recursive alias: an anchor used inside its own value", doc.file,
                                    node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        inside = inside | {id(node)}
    doc.marks[path] = node.start_mark
    doc.ends[path] = node.end_mark
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, (str, int, float, bool)) or key is None:
                problems.append(Problem("mapping keys must be plain scalars", doc.file,
                                        key_node.start_mark.line + 1, key_node.start_mark.column + 1))
                continue
            if key in out:
                problems.append(Problem(f"duplicate key {key!r}", doc.file,
                                        key_node.start_mark.line + 1, key_node.start_mark.column + 1))
                continue
            out[key] = _build(value_node, path + (key,), loader, doc, problems, inside)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), loader, doc, problems, inside) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def yaml_error_problem(err: yaml.YAMLError, file: str) -> Problem:
    """A located problem from a PyYAML scanner or parser error."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    msg = " ".join(str(x) for x in (getattr(err, "context", None), getattr(err, "problem", None)) if x) or str(err)
    if mark is None:
        return Problem(f"invalid YAML: {msg}", file)
    return Problem(f"invalid YAML: {msg}", file, mark.line + 1, mark.column + 1)
