"""The eligibility text of a registry record as a tree of bullets, each verbatim.

ClinicalTrials.gov returns ``eligibilityCriteria`` as markdown written by hand: headings
such as ``Inclusion Criteria:`` or ``Key Exclusion Criteria``, bullets marked ``* ``,
``- ``, ``+ ``, ``1.``, ``1)``, ``a)`` or ``(a)``, nested by indentation, continuation
paragraphs indented under their bullet, blank lines anywhere, and markdown escapes such
as ``\\>=`` or ``\\*``.

**Verbatim** means: a bullet's text is the record's characters with only the list
structure removed (the marker, the indentation that nests it, trailing spaces). Every
other character is kept, markdown escapes included (``\\>= 18 years`` stays
``\\>= 18 years``), so that the text can always be found in the record by a plain
search. A bullet's continuation lines follow its first line after a newline; a
continuation paragraph after a blank line follows after a blank line (``\\n\\n``).
Nested bullets are bullets of their own, naming their parent.

Lines outside any bullet (a criterion written as a plain line) are items of their own,
one per line. Items before the first heading have no stated kind: they are read as
inclusions and flagged (``section`` is None) so the author checks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

INCLUSION = "inclusion"
EXCLUSION = "exclusion"

# A heading: optional markdown emphasis or '#', an optional qualifier word, then
# 'Inclusion/Exclusion Criteria' and either nothing more or a qualifier ending in ':'
# (whatever follows the colon is an item of its own).
_HEADING = re.compile(
    r"^(?:#{1,6}\s*)?(?:\*\*|__)?\s*"
    r"(?P<title>(?:(?:key|main|major|general|additional|specific|other|principal)\s+)?"
    r"(?P<kind>inclusion|exclusion)s?\s+criteri(?:a|on)"
    r"(?:(?P<qual>[^:*_]{0,80}?)\s*(?:\*\*|__)?\s*:(?:\s*(?:\*\*|__))?(?P<rest>.*)|\s*(?:\*\*|__)?\s*))$",
    re.IGNORECASE,
)
# A list marker at the start of a line, with the whitespace after it.
_MARKER = re.compile(r"^(?P<indent>\s*)(?P<marker>[*+\-•]|\d{1,3}[.)]|\(\d{1,3}\)|[A-Za-z][.)]|\([A-Za-z]\))"
                     r"(?P<gap>\s+)(?P<text>\S.*)$")
_BARE_MARKER = re.compile(r"^\s*(?:[*+\-•]|\d{1,3}[.)])\s*$")


@dataclass(frozen=True)
class Bullet:
    """One bullet (or plain line) of the criteria, verbatim, with its place in the tree."""

    id: str
    kind: str  # inclusion | exclusion
    text: str
    parent: str | None
    line: int  # 1-based line of the criteria text where it starts
    section: str | None  # the heading it stands under, as written; None before any heading
    marker: str  # '*', '1.', ... ('' for a plain line)


@dataclass(frozen=True)
class CriteriaText:
    """The bullets of a criteria text in record order, and the headings as written."""

    bullets: tuple[Bullet, ...]
    headings: tuple[str, ...]

    def of_kind(self, kind: str) -> list[Bullet]:
        """Bullets of one kind, in record order."""
        return [b for b in self.bullets if b.kind == kind]


@dataclass
class _Node:
    kind: str
    lines: list[str]
    line: int
    section: str | None
    marker: str
    parent: "_Node | None" = None
    children: list["_Node"] = field(default_factory=list)
    id: str = ""


def heading(line: str) -> tuple[str, str, str] | None:
    """(kind, heading as written, text after the colon) when the line is an inclusion/exclusion heading."""
    m = _HEADING.match(line.strip())
    if not m:
        return None
    kind = INCLUSION if m.group("kind").lower() == INCLUSION else EXCLUSION
    return kind, line.strip(), (m.group("rest") or "").strip()


def split_criteria(text: str) -> CriteriaText:
    """Split an eligibility criteria text into verbatim bullets with stable ids (inc-1, inc-1.2, exc-3)."""
    roots: list[_Node] = []
    headings: list[str] = []
    kind, section = INCLUSION, None
    stack: list[tuple[int, _Node]] = []  # open bullets: (indent of the marker, node)
    prev_blank = False
    pending_marker: str | None = None
    pending_marker_indent = 0

    def new(text_: str, lineno: int, marker: str, parent: _Node | None) -> _Node:
        node = _Node(kind, [text_], lineno, section, marker, parent)
        (parent.children if parent else roots).append(node)
        return node

    for lineno, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        line = raw.rstrip()
        body = line.strip()
        if not body:
            prev_blank = True
            continue
        indent = len(line[:len(line) - len(line.lstrip())].expandtabs(4))  # tabs only for nesting
        m = _MARKER.match(body)
        h = heading(m.group("text") if m else body)
        if h and not (m and h[2]):  # a heading, or a bullet that is only a heading
            kind, title, rest = h
            section = title
            headings.append(title)
            stack.clear()
            pending_marker = None
            if rest:
                new(rest, lineno, "", None)
            prev_blank = False
            continue
        if pending_marker is not None:  # a bare marker line: this line is the bullet's text
            marker_indent, marker = pending_marker_indent, pending_marker
            pending_marker = None
            while stack and stack[-1][0] >= marker_indent:
                stack.pop()
            stack.append((marker_indent, new(body, lineno, marker, stack[-1][1] if stack else None)))
        elif _BARE_MARKER.match(body):
            pending_marker, pending_marker_indent = body, indent
        elif m:
            marker_indent = indent
            while stack and stack[-1][0] >= marker_indent:
                stack.pop()
            stack.append((marker_indent, new(m.group("text").rstrip(), lineno, m.group("marker"),
                                             stack[-1][1] if stack else None)))
        elif stack and not prev_blank:  # a lazy continuation line of the open bullet
            stack[-1][1].lines.append(body)
        elif stack and indent > 0:  # a continuation paragraph of the deepest bullet it is indented under
            while stack and stack[-1][0] >= indent:
                stack.pop()
            if stack:
                stack[-1][1].lines.extend(["", body])
            else:
                new(body, lineno, "", None)
        else:  # a plain line outside any bullet: an item of its own
            stack.clear()
            new(body, lineno, "", None)
        prev_blank = False

    counters = {INCLUSION: 0, EXCLUSION: 0}
    out: list[Bullet] = []

    def emit(node: _Node, node_id: str) -> None:
        node.id = node_id
        out.append(Bullet(node_id, node.kind, "\n".join(node.lines), node.parent.id if node.parent else None,
                          node.line, node.section, node.marker))
        for i, child in enumerate(node.children, start=1):
            emit(child, f"{node_id}.{i}")

    for node in roots:
        counters[node.kind] += 1
        emit(node, f"{'inc' if node.kind == INCLUSION else 'exc'}-{counters[node.kind]}")
    return CriteriaText(tuple(out), tuple(headings))
