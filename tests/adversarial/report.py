"""Print the adversarial suite's score per trial: right, safe-unknown, false-pass, false-fail.

Run from the repository root: python tests/adversarial/report.py [--list] [--drop-fixed-marks]

--drop-fixed-marks removes the `xfail` mark of every check the engine now answers right or
safely (the strict marks would otherwise fail the run); it never adds one.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite import (  # noqa: E402
    FALSE_FAIL, FALSE_PASS, HERE, RIGHT, SAFE_UNKNOWN, TRIALS, UNNAMED, checks, classify, expectations)

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
    if "--drop-fixed-marks" in argv:
        drop_fixed_marks()
    if "--list" in argv:
        for category, cid, got, truth, reason in sorted(wrong):
            print(f"{category:16} {cid}: engine {got}, truth {truth}: {reason[:160]}")
    return 0


def drop_fixed_marks() -> None:
    """Remove the xfail mark of each check now answered right or safely, in the expected.json files."""
    for trial in TRIALS:
        exp = expectations(trial)
        dropped = 0
        for check in checks():
            if check.trial != trial or "xfail" not in check.expect:
                continue
            if classify(check)[0] in (RIGHT, SAFE_UNKNOWN):
                entry = exp[check.chart]
                target = entry["verdict"] if check.criterion == "verdict" else entry["criteria"][check.criterion]
                del target["xfail"]
                dropped += 1
        if dropped:
            (HERE / trial / "expected.json").write_text(json.dumps(exp, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            print(f"{trial}: {dropped} xfail marks dropped")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
