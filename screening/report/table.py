"""Human-readable rendering of results for the terminal (rich tables).

The table is for scanning: one row per criterion (under its bullet when the bullet was split into
parts), the status with "excluded" / "not excluded" in words for exclusions, and a short reason
without chart references or the rule file's reading that keeps what decided the criterion (the value
and its threshold, the record, for an unknown what is open first). The detail view (``print_details``: `screen
--explain`, `explain PATIENT CRITERION`) gives each criterion once in full: its words, the whole
reason, the reading, the evidence and what would decide it.
"""

from __future__ import annotations

import re
from typing import Iterable

from ..model.result import BulletResult, CriterionResult, ScreeningResult

_STATUS_STYLE = {"pass": "green", "fail": "bold red", "unknown": "yellow"}
_VERDICT_STYLE = {"eligible": "bold green", "ineligible": "bold red", "undetermined": "bold yellow"}
_EXCLUSION_WORDS = {"pass": "not excluded", "fail": "excluded", "unknown": None}
_CHART_REFERENCE = re.compile(r" \[[A-Z][A-Za-z]+/[^\]\s]+\]")
_WINDOW_DATES = re.compile(r" before \d{4}-\d\d-\d\d \(since \d{4}-\d\d-\d\d\)")  # the title has the date
BRIEF_WIDTH = 120  # characters of reason in a table row: two lines of the reason column at 100 columns
BRIEF_MOST = 170  # an unknown's open part is kept whole up to three lines at 100 columns

# How the engine writes a reason (engine.items.format_reasons and the texts it joins): parts joined by
# '; ', a comparison as its value then its threshold, an unknown saying what is open. The brief reads it
# back to choose, order and shorten parts; it leaves words out (' ... ' says where), never adds or changes any.
_THRESHOLD = re.compile(r"(?:,? not)? (?:==|!=|<=|>=|<|>|in) (?:'[^']*'|\[[^\]]*\]|[-+]?\d[\d.]*"
                        r"(?: x [UL]LN| [^\s;,\[\]()]+)?)")
_THRESHOLDS_AT_END = re.compile(_THRESHOLD.pattern + r"(?: and" + _THRESHOLD.pattern + r")*$")
_NOTE_THRESHOLD = re.compile(r"[^;()]*" + _THRESHOLD.pattern + r"\)*$")  # a threshold closing a note on a record
_DATE = re.compile(r" on \d{4}-\d\d-\d\d")  # the end of a value as reasons give it: 'ANA 1:160 on 2026-06-01'
_RECORDS_NAMED = re.compile(r"(?:records outside it|not counted|could also count): ")
_ASIDE = re.compile(r" \([^()]*\)")  # an aside in what a record part looks for: '(other than cyclophosphamide ...)'
_ASIDE_WORDS = re.compile(r" \([A-Za-z ,/-]*\)")  # only words: no number, date, question or status
_NOT_COMPLETE = re.compile(r" \([a-z_]+ not declared complete\)$")  # why no record is not a no
_QUESTION = re.compile(r"[^:;(]*\?\)*")
_SUPPORTING_WORDS = (  # detail a long reason can leave to the detail view: never the value, record or threshold
    (re.compile(r" \(within [^()]*\)"), ""),  # the item's look-back window (the date is shown)
    (re.compile(r" \((?:ULN|LLN) [^()]*of the laboratory's range [^()]*\)"), ""),  # the limit a ratio divides by
    (re.compile(r" \(born \d{4}-\d\d-\d\d\)"), ""),  # the birth date behind an age
    (re.compile(r" computed (?:as|by) [^;]*? from "), " computed from "),  # the formula (its inputs stay)
)
_LONG_LIST = re.compile(r"(?<= in )\[[^\]]{45,}\]")
# a part that goes on the part before it: a record part's complete-part note, records it did not count
_GOES_ON = re.compile(r"(?:[a-z_]+ declared complete\b|records outside it: |not counted: |could also count: |"
                      r"cannot tell which drug: |cannot tell: |newer than: |less than .* after a counted one: |"
                      r"could not be read: |but |\[by design )")
# a value made of several records, whose threshold comes after all of them
_SUBJECT_OF_SEVERAL = re.compile(r" computed from |: \d+ values on \d{4}-\d\d-\d\d: |^(?:highest|lowest) .*? of: ")
_HEAD = re.compile(r"(?:needs confirmation: |not applicable: |this alternative (?:holds|does not hold|not known to "
                   r"hold): |(?:[\w.-]+: )?(?:one|at least \d+|none|only \d+|\d+) of the (?:following|alternatives|"
                   r"\d+ alternatives) [^:;]*: )")
_ALTERNATIVE_OF = re.compile(r" \[one of the alternatives of [^\]]*\]$")
# what an open part says: no value, a stale or unreadable one, a question, a record that cannot be told
_OPEN = re.compile(r"cannot tell|cannot be (?:computed|read)|\?|\bno [^;]*? on record|is outside the |"
                   r"not declared complete|could not be read|is not a |has no |records disagree|not a value to|"
                   r"needs two values|are more than .* apart|not read as|no finite|defined for female and male|"
                   r"not above 0|division by zero|could be one|not known whether|not recorded|not on record")


def status_words(c: CriterionResult | BulletResult) -> str:
    """The status, and for an exclusion what it means in words: 'fail: excluded', 'pass: not excluded'."""
    status = c.status.value
    words = _EXCLUSION_WORDS[status] if c.kind.value == "exclusion" else None
    return f"{status}: {words}" if words else status


def reading_suffix(c: CriterionResult) -> str:
    """The rule file's reading as the reason ends with it (' [reading: ...]'), or ''."""
    return f" [reading: {c.note}]" if getattr(c, "note", None) else ""


def brief_reason(c: CriterionResult, width: int = BRIEF_WIDTH, most: int = BRIEF_MOST) -> str:
    """The reason for a table row, in about ``width`` characters, keeping what decided the criterion.

    A reason that fits is shown as it is (without the reading and chart references). A longer one loses
    supporting words first (the look-back window, the range a ratio divides by, the formula), then its parts
    are shown in order, the first one always: for an unknown the part still open comes first, whole up to
    ``most`` characters (what is missing, as the rule names it, and any question). A first part too long
    keeps its start and what ends it: a comparison its value and, after ' ... ', its threshold; a record
    part what it looks for and the record. ' ...' at the end says there is more: the detail view has it.
    """
    text = plain_reason(c)
    if len(text) <= width:
        return text
    for words, instead in _SUPPORTING_WORDS:
        text = words.sub(instead, text)
    text = _LONG_LIST.sub(_shorter_list, text)
    if len(text) <= width:
        return text
    head = ""
    while (m := _HEAD.match(text)) is not None:
        head, text = head + m.group(0), text[m.end():]
    after = _ALTERNATIVE_OF.search(text)
    parts = list(dict.fromkeys(_parts(text[: after.start()] if after else text)))  # a part once
    parts += [after.group(0).lstrip()] if after else []
    unknown = c.status.value == "unknown"
    if unknown:  # what is open first, then what holds
        parts = [p for p in parts if _is_open(p)] + [p for p in parts if not _is_open(p)]
    first, *rest = parts
    asks = [u.question for u in c.unrecognised]
    room = (most if unknown else width) - len(head)
    if len(first) > room:
        first = _elided(first, room, most - len(head), asks, asides=not unknown)
    out, shown = head + first, 1
    for part in rest:
        decides = unknown and (_is_open(part) or part.startswith("applies: "))  # what is asked, and about what
        room = (most if decides else width) - len(out) - 2
        if len(part) > room:
            if decides and room >= 60:
                out, shown = f"{out}; {_elided(part, room, room, asks, asides=False)}", shown + 1
            break
        out, shown = f"{out}; {part}", shown + 1
    if len(out) > most + 4 or not out.strip(" ;"):  # words the reading above cannot place: their start
        return _cut(out if out.strip(" ;") else text, most) + " ..."
    return out if shown == len(parts) or out.endswith(" ...") else out + " ..."


def plain_reason(c: CriterionResult) -> str:
    """The reason without the reading, chart references, window dates (the table's title has the date) and why
    a person decides it: what the table shows of it when it fits."""
    text = c.reason
    suffix = reading_suffix(c)
    if suffix and text.endswith(suffix):
        text = text[: -len(suffix)]
    return _WINDOW_DATES.sub("", _CHART_REFERENCE.sub("", _without_why_confirm(text)))


def _parts(text: str) -> list[str]:
    """The parts of a reason: split at '; ' outside brackets, then joined again where a part goes on the one
    before it (a complete part's note, the records of a value computed from several)."""
    parts: list[str] = []
    for p in _split(text):
        if parts and (_GOES_ON.match(p) or (_SUBJECT_OF_SEVERAL.search(parts[-1])
                                            and not _THRESHOLD.search(parts[-1]))):
            parts[-1] += "; " + p
        else:
            parts.append(p)
    return parts


def _split(text: str) -> list[str]:
    """``text`` split at '; ' outside brackets."""
    pieces, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif depth == 0 and ch == ";" and text.startswith("; ", i):
            pieces.append(text[start:i])
            start = i + 2
    pieces.append(text[start:])
    return pieces


def _is_open(part: str) -> bool:
    """Does a part of an unknown's reason say what is open (rather than what holds)?"""
    if part.startswith("no record of"):
        return "declared complete" not in part or "could be one" in part
    return _OPEN.search(part) is not None


def _elided(part: str, room: int, most: int, asks: list[str], asides: bool = True) -> str:
    """A part too long for ``room`` characters, with ' ... ' where words were left out.

    A part that ends with a threshold or a question keeps its start up to the value (to the value's date) and
    that end; when the two do not fit in ``room``, the whole part up to ``most`` characters. For a record a
    person is asked about, the end is the question with the record, as the result asks it. A record part keeps
    what it looks for (its middle left out if need be) and its records as far as they fit.
    """
    if part.startswith("applies: "):  # what made it apply: the records
        return "applies: " + _elided(part[len("applies: "):], room - len("applies: "), most - len("applies: "), asks,
                                     asides)
    compared = _THRESHOLDS_AT_END.search(part)
    end = compared or _NOT_COMPLETE.search(part)
    asked = [q for q in asks if q.split(": does it count as ")[0] in part]
    questions = list(_QUESTION.finditer(part))
    tail = part[end.start():].lstrip(", ") if end else asked[0] if asked else \
        questions[-1].group(0).strip() if questions else ""
    if len(tail) > most - 40:  # not an end that can be kept with a start
        end, compared, tail = None, None, ""
    if tail:
        dated = _DATE.search(part)
        if dated and dated.end() > room - len(tail) - 5:  # the value and the threshold do not fit: more room
            if len(part) <= most:
                return part
            room = most
        room -= len(tail) + 5
        first, *rest = _split(part[: end.start()] if end else part)
        keep = first if len(first) <= room else _cut(first, room)
        for sub in rest if keep is first else ():
            if len(keep) + 2 + len(sub) > room:
                if not compared and room - len(keep) - 2 >= 30:  # the start of the next record
                    keep += "; " + _record_cut(sub, room - len(keep) - 2)
                break
            keep += "; " + sub
        return f"{keep} ... {tail}"
    i = _heading_end(part)
    if i is None:
        return _cut(part, room - 4) + " ..."
    heading, sep, records = part[:i], part[i:i + 2], _split(part[i + 2:])
    if len(part) <= room + 4:  # over by no more than the ' ...' it would take
        return part
    if _NOTE_THRESHOLD.search(records[0]):  # a note on the record compares it ('80 mg a day: not ... >= 200 mg')
        room = max(room, most)
    room -= 4  # for ' ...'
    named = _RECORDS_NAMED.match(records[0])  # 'records outside it: ', 'not counted: '
    need = len(sep) + min(len(records[0]), (named.end() if named else 0) + 20)  # room for a record to show
    if len(heading) + need > room:  # what it looks for: without its asides (not an unknown's, which names
        if asides:                  # what is missing), else its middle left out
            heading = _ASIDE.sub(lambda m: "" if _ASIDE_WORDS.fullmatch(m.group(0)) else m.group(0), heading)
        if len(heading) + need > room:
            heading = _squeezed(heading, room - len(sep) - min(len(records[0]), room // 2))
    keep = heading + sep + _record_cut(records[0], room - len(heading) - len(sep))
    for record in records[1:] if keep.endswith(records[0]) else ():
        if len(keep) + 2 + len(record) > room:
            if room - len(keep) - 2 >= 30:  # the start of the next one
                keep += "; " + _record_cut(record, room - len(keep) - 2)
            break
        keep += "; " + record
    return keep if keep.endswith(part[-20:]) else keep + " ..."


def _heading_end(part: str) -> int | None:
    """Where what a record part looks for ends: its first ': ' or '; ' outside brackets (None: neither)."""
    depth = 0
    for i, ch in enumerate(part):
        depth = depth + 1 if ch in "([" else max(0, depth - 1) if ch in ")]" else depth
        if depth == 0 and part.startswith((": ", "; "), i):
            return i
    return None


def _cut(text: str, room: int) -> str:
    """The start of ``text`` in at most ``room`` characters, cut at a space."""
    if len(text) <= room:
        return text
    start = text[:room]
    return (start[: start.rfind(" ")] if " " in start else start).rstrip(" ,;:(")


def _record_cut(text: str, room: int) -> str:
    """A record of a part in ``room`` characters: its start, and the threshold a note on it ends with
    ('... = 80 mg a day: not daily dose >= 200 mg)')."""
    if len(text) <= room:
        return text
    end = _NOTE_THRESHOLD.search(text)
    tail = end.group(0).strip() if end else ""
    tail = tail[tail.rfind(" = ") + 1:] if " = " in tail else tail  # from the value: "= 80 mg a day: not ..."
    if not tail or room - len(tail) - 5 < 20:
        return _cut(text, room)
    return f"{_cut(text, room - len(tail) - 5)} ... {tail}"


def _squeezed(text: str, room: int) -> str:
    """``text`` in about ``room`` characters (at least 40): its start and its end, cut at spaces, ' ... ' between."""
    if len(text) <= room:
        return text
    room = max(room, 40)
    end = text[len(text) - room * 2 // 5 + 5:]
    end = end[end.find(" ") + 1:] if " " in end else end
    return f"{_cut(text, room * 3 // 5)} ... {end}"


def _shorter_list(m: re.Match) -> str:
    """A long list of values in a threshold, to its first values: "['I', 'II', 'III', ...]"."""
    items = m.group(0)[1:-1].split(", ")
    kept: list[str] = []
    for item in items:
        if len(", ".join(kept + [item])) > 40:
            break
        kept.append(item)
    return "[" + ", ".join(kept + ["..."]) + "]"


def _without_why_confirm(text: str) -> str:
    """'needs confirmation (why a person decides it): ...' without the why (the detail view has it)."""
    head = "needs confirmation ("
    if not text.startswith(head):
        return text
    depth = 0
    for i in range(len(head) - 1, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return "needs confirmation" + text[i + 1:]
    return text


def print_results(results: Iterable[ScreeningResult], console=None, explain: bool = False) -> None:
    """Print one table per result: criterion, status (coloured, in words for exclusions), short reason;
    then the verdict; with ``explain``, every criterion in full after the table."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    for r in results:
        table = Table(title=f"{r.trial} - patient {r.patient} - as of {r.as_of}", show_lines=True, expand=True)
        table.add_column("criterion", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("reason", ratio=1)
        shortened = False
        criteria = {c.id: c for c in r.criteria}
        for key, parts in _rows(r):
            if key is not None:  # a bullet split into parts: its own status, then its parts
                table.add_row(f"[bold]{key.bullet}[/]", _status_cell(key), _escape(f"bullet ({key.combine}): "
                                                                                  f"{key.reason}"))
            for c in (criteria[p] for p in parts):
                brief = brief_reason(c)
                shortened = shortened or brief != c.reason
                label = f"  {c.id}" if key is not None else c.id
                table.add_row(label, _status_cell(c), _escape(brief))
        console.print(table)
        verdict = r.verdict.value
        console.print(f"verdict: [{_VERDICT_STYLE[verdict]}]{verdict}[/]  {_escape(r.summary)}")
        if r.missing:
            console.print("missing data: " + ", ".join(r.missing))
        if r.pending_confirmation:
            console.print("to confirm: " + ", ".join(r.pending_confirmation))
        unmapped = getattr(r, "unmapped", None) or []
        if unmapped:  # chart records that were not used: the coordinator should know
            console.print(f"not used from the chart ({len(unmapped)}):")
            for u in unmapped:
                console.print(f"  {_escape(u.resource)}: {_escape(u.reason)}")
        if explain:
            console.print()
            print_details(r, console=console)
        elif shortened:
            console.print("[dim]reasons shortened; each in full, with its reading and evidence: --explain[/]")
        console.print()


def _rows(r: ScreeningResult) -> list[tuple[BulletResult | None, list[str]]]:
    """Criterion ids in rule-file order, grouped under the bullets that were split into parts."""
    bullets = getattr(r, "bullets", None) or []
    if not bullets:
        return [(None, [c.id for c in r.criteria])]
    return [(b if len(b.parts) > 1 or b.parts[0].id != b.bullet else None, [p.id for p in b.parts])
            for b in bullets]


def _status_cell(c) -> str:
    status = c.status.value
    return f"[{_STATUS_STYLE[status]}]{status_words(c)}[/]"


def details(r: ScreeningResult, only: str | None = None) -> list[str]:
    """The detail view of a result as lines of text: each criterion once, in full. ``only``: one criterion
    id, or a bullet id (its parts). Raises KeyError naming the ids when ``only`` is none of them."""
    chosen = list(r.criteria)
    bullets = {b.bullet: b for b in getattr(r, "bullets", None) or []}
    if only is not None:
        chosen = [c for c in r.criteria if c.id == only or c.parent == only]
        if not chosen:
            ids = ", ".join(dict.fromkeys([c.id for c in r.criteria] + list(bullets)))
            raise KeyError(f"no criterion or bullet {only!r} in {r.trial} (it has: {ids})")
    lines: list[str] = []
    shown_bullets: set[str] = set()
    for c in chosen:
        b = bullets.get(c.parent) if c.parent else None
        if b is not None and b.bullet not in shown_bullets:
            shown_bullets.add(b.bullet)
            lines += [f"{b.bullet} ({b.kind.value} bullet, parts combined by '{b.combine}'): {status_words(b)}",
                      f"  bullet: {_one_line(b.text)}", f"  why: {b.reason}", ""]
        lines.append(f"{c.id} ({c.kind.value}{', part of ' + c.parent if c.parent else ''}): {status_words(c)}")
        lines.append(f"  text: {_one_line(c.text)}")
        reason = c.reason
        suffix = reading_suffix(c)
        if suffix and reason.endswith(suffix):
            reason = reason[: -len(suffix)]
        lines.append(f"  reason: {reason}")
        if getattr(c, "note", None):
            lines.append(f"  reading: {c.note}")
        if c.applicable is not True:
            lines.append("  applies: " + ("no" if c.applicable is False else "not known"))
        for e in c.evidence:
            lines.append(f"  evidence: {evidence_line(e)}")
        if c.missing:
            lines.append("  would be decided by (chart data): " + ", ".join(c.missing))
        if c.needs_confirmation and c.status.value == "unknown":
            lines.append("  would be decided by: a person's confirmation")
        for u in c.unrecognised:
            lines.append(f"  could not be ruled out: {u.record} ({u.why}); ask: {u.question}")
        lines.append("")
    return lines


def print_details(r: ScreeningResult, only: str | None = None, console=None) -> None:
    """Print the detail view (``details``) of one result."""
    from rich.console import Console

    console = console or Console()
    console.print(f"[bold]{_escape(r.trial)} - patient {_escape(r.patient)} - as of {r.as_of}: "
                  f"{r.verdict.value}[/]")
    for line in details(r, only):
        console.print(_escape(line), soft_wrap=True)


def evidence_line(e, digits: int = 4) -> str:
    """One piece of evidence as recorded and converted (to ``digits`` significant digits), with its
    date, record and chart reference."""
    parts = [f"{e.item}:"]
    if e.value is not None:
        parts.append(f"{e.value}{' ' + e.unit if e.unit else ''}")
    if e.converted is not None and (e.converted != e.value or e.converted_unit != e.unit):
        parts.append(f"(= {e.converted:.{digits}g} {e.converted_unit or ''})".replace(" )", ")"))
    if e.date:
        parts.append(f"on {e.date.isoformat()}")
    if e.record:
        parts.append(f"'{e.record}'")
    if e.source:
        parts.append(f"[{e.source}]")
    return " ".join(parts)


def _one_line(text: str) -> str:
    return " / ".join(line.strip() for line in text.splitlines() if line.strip())


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
