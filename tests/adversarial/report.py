"""Print the adversarial suite's score per trial: right, safe-unknown, false-pass, false-fail.

Run from the repository root: python tests/adversarial/report.py [--list]
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite import FALSE_FAIL, FALSE_PASS, RIGHT, SAFE_UNKNOWN, TRIALS, UNNAMED, checks, classify  # noqa: E402

COLUMNS = [RIGHT, SAFE_UNKNOWN, FALSE_PASS, FALSE_FAIL, UNNAMED]


def main(argv: list[str]) -> int:
    """Score every check; with --list, also print each answer that is not right."""
    rows: dict[tuple[str, str], Counter] = {}
    charts: dict[str, set] = {t: set() for t in TRIALS}
    wrong = []
    for check in checks():
        category, got, reason = classify(check)
        kind = "verdicts" if check.criterion == "verdict" else "criteria"
        rows.setdefault((check.trial, kind), Counter())[category] += 1
        charts[check.trial].add(check.chart)
        if category != RIGHT:
            wrong.append((category, check.id, got, check.expect["truth"], reason))
    head = f"{'trial':20} {'charts':>6} {'':9}" + "".join(f"{c:>16}" for c in COLUMNS)
    print(head)
    total: dict[str, Counter] = {"criteria": Counter(), "verdicts": Counter()}
    for trial in TRIALS:
        for kind in ("criteria", "verdicts"):
            counts = rows.get((trial, kind), Counter())
            total[kind].update(counts)
            n = len(charts[trial]) if kind == "criteria" else ""
            print(f"{trial if kind == 'criteria' else '':20} {n:>6} {kind:9}" + "".join(f"{counts[c]:>16}" for c in COLUMNS))
    for kind in ("criteria", "verdicts"):
        n = sum(len(v) for v in charts.values()) if kind == "criteria" else ""
        print(f"{'all' if kind == 'criteria' else '':20} {n:>6} {kind:9}" + "".join(f"{total[kind][c]:>16}" for c in COLUMNS))
    print("(verdicts: false-pass = eligible where the patient is not; safe-unknown = undetermined)")
    if "--list" in argv:
        for category, cid, got, truth, reason in sorted(wrong):
            print(f"{category:16} {cid}: engine {got}, truth {truth}: {reason[:160]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
