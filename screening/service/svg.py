"""A batch's attrition funnel as an SVG chart: one bar per criterion, patients remaining after it.

Pure function of the funnel rows (the columns of ``funnel-<trial>.csv``); text is escaped,
the chart has a title and a description for screen readers, and the page shows the same
counts in a table beside it.
"""

from __future__ import annotations

from html import escape

ROW_H = 26
LABEL_W = 150
BAR_W = 420
COUNT_W = 260


def funnel_svg(trial: str, steps: list[dict]) -> str:
    """SVG of the funnel: per step a bar for `remaining` (not failed so far) with `all_passed` inside it."""
    total = max((int(s["remaining"]) for s in steps if s.get("remaining") not in ("", None)), default=0) or 1
    width = LABEL_W + BAR_W + COUNT_W
    height = ROW_H * (len(steps) + 1) + 10
    slug = "".join(ch if ch.isalnum() else "-" for ch in trial)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-labelledby="t-{slug} d-{slug}" class="funnel" font-family="sans-serif" font-size="13">',
           f'<title id="t-{slug}">{escape(trial)}: patients remaining after each criterion</title>',
           f'<desc id="d-{slug}">Dark bars: patients not failed by this or an earlier criterion. '
           f'Light bars inside: patients who passed all criteria so far.</desc>',
           f'<text x="{LABEL_W}" y="16" class="axis" fill="#333">remaining of {total} screened '
           f'(dark: not failed yet; light: passed all so far)</text>']
    for i, s in enumerate(steps):
        y = ROW_H * (i + 1) + 4
        remaining = int(s.get("remaining") or 0)
        passed = int(s.get("all_passed") or 0)
        w_rem = BAR_W * remaining / total
        w_pass = BAR_W * passed / total
        label = "screened" if int(s.get("step", 0)) == 0 else str(s.get("criterion", ""))
        counts = (f"{remaining} left" if int(s.get("step", 0)) == 0 else
                  f"{remaining} left · pass {s.get('pass')} · fail {s.get('fail')} · unknown {s.get('unknown')}")
        tip = escape(f"{label}: {s.get('text') or ''} {counts}".strip())
        out.append(f'<g><title>{tip}</title>'
                   f'<text x="{LABEL_W - 8}" y="{y + 15}" text-anchor="end" class="label" fill="#111">{escape(label)}</text>'
                   f'<rect x="{LABEL_W}" y="{y}" width="{w_rem:.1f}" height="{ROW_H - 6}" class="bar-remaining" fill="#1f4e79"/>'
                   f'<rect x="{LABEL_W}" y="{y + 5}" width="{w_pass:.1f}" height="{ROW_H - 16}" class="bar-passed" fill="#9cc3e6"/>'
                   f'<text x="{LABEL_W + BAR_W + 8}" y="{y + 15}" class="count" fill="#111">{escape(counts)}</text></g>')
    out.append("</svg>")
    return "".join(out)
