#!/usr/bin/env python3
"""Plot `ethp2p bench` JSON lines as an SVG (no dependencies).

Usage: scripts/bench_plot.py RUN.jsonl OUT.svg

One panel per unit (handshakes/s, sessions/s, MB/s, ...): a bar per
measurement (its median, a whisker from min to max) and, where the run
measured one, a tick at the limit the primitives allow. Labels carry the
measurement's parameters (concurrency, runtime, message size), so the panels
read as figures against concurrency and message size.
"""
import html
import json
import sys

W, BAR, GAP, LEFT, RIGHT, TITLE = 960, 18, 6, 420, 40, 34


def load(path):
    recs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                recs.append(json.loads(line))
    return recs


def label(rec):
    params = rec.get("params") or {}
    extra = ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
    return rec["name"] + (f" ({extra})" if extra else "")


def panel(unit, recs, y0):
    parts = []
    top = max(max(r["max"], r.get("limit") or 0) for r in recs) or 1
    scale = (W - LEFT - RIGHT) / top
    parts.append(f'<text x="10" y="{y0 + 20}" font-size="16" font-weight="bold">{html.escape(unit)}</text>')
    y = y0 + TITLE
    for r in recs:
        w = max(r["median"] * scale, 1)
        parts.append(f'<text x="{LEFT - 8}" y="{y + BAR - 5}" font-size="11" text-anchor="end">{html.escape(label(r))}</text>')
        parts.append(f'<rect x="{LEFT}" y="{y}" width="{w:.1f}" height="{BAR}" fill="#4a7bd0"/>')
        x1, x2 = LEFT + r["min"] * scale, LEFT + r["max"] * scale
        parts.append(f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y + BAR / 2}" y2="{y + BAR / 2}" stroke="#222"/>')
        if r.get("limit"):
            xl = LEFT + r["limit"] * scale
            parts.append(f'<line x1="{xl:.1f}" x2="{xl:.1f}" y1="{y - 2}" y2="{y + BAR + 2}" stroke="#d04a4a" stroke-width="2"/>')
        ratio = f'  ({r["ratio"]:.0%} of limit)' if r.get("ratio") is not None else ""
        parts.append(f'<text x="{LEFT + w + 4:.1f}" y="{y + BAR - 5}" font-size="11">{r["median"]:.4g}{ratio}</text>')
        y += BAR + GAP
    return parts, y + 10


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    recs = load(argv[1])
    units = []
    for r in recs:
        if r["unit"] not in units:
            units.append(r["unit"])
    body, y = [], 10
    for unit in units:
        parts, y = panel(unit, [r for r in recs if r["unit"] == unit], y)
        body += parts
    legend = f'<text x="10" y="{y + 14}" font-size="11">bars: median; whiskers: min..max over runs; red tick: limit implied by the primitives measured in the same run</text>'
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{y + 30}" font-family="sans-serif">',
           f'<rect width="100%" height="100%" fill="white"/>', *body, legend, "</svg>"]
    with open(argv[2], "w") as f:
        f.write("\n".join(svg) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
