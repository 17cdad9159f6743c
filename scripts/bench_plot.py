#!/usr/bin/env python3
"""Plot `ethp2p bench` JSON lines as an SVG (no dependencies).

Usage: scripts/bench_plot.py RUN.jsonl OUT.svg

Two line charts first: handshakes/s and sessions/s against concurrency (1
or 64 dialers, one thread or two workers), and frame throughput against
message size (1 KiB, 64 KiB, 1 MiB; snappy on and off) with the limit the
primitives allow. Then one panel per unit (handshakes/s, sessions/s, MB/s,
...): a bar per measurement (its median, a whisker from min to max) and,
where the run measured one, a tick at the limit the primitives allow.
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
    # Names carry the concurrency, runtime and message size.
    return rec["name"]


COLORS = ["#4a7bd0", "#d07b4a", "#4ab07b", "#a04ad0", "#d04a4a", "#707070"]
CHART_H = 220


def line_chart(title, xlabels, series, y0):
    """series: [(name, [value or None per x], dashed)]. Returns (svg parts, next y)."""
    parts = [f'<text x="10" y="{y0 + 20}" font-size="16" font-weight="bold">{html.escape(title)}</text>']
    values = [v for _, vs, _ in series for v in vs if v is not None]
    if not values:
        return [], y0
    top = max(values) * 1.1
    x0, x1 = 80, W - 260
    ytop, ybot = y0 + TITLE, y0 + TITLE + CHART_H
    step = (x1 - x0) / max(len(xlabels) - 1, 1)
    xs = [x0 + i * step for i in range(len(xlabels))]
    ys = lambda v: ybot - v / top * (ybot - ytop)
    parts.append(f'<line x1="{x0}" x2="{x1}" y1="{ybot}" y2="{ybot}" stroke="#222"/>')
    parts.append(f'<line x1="{x0}" x2="{x0}" y1="{ytop}" y2="{ybot}" stroke="#222"/>')
    for k in range(5):
        v = top * k / 4
        parts.append(f'<text x="{x0 - 6}" y="{ys(v) + 4:.1f}" font-size="10" text-anchor="end">{v:.4g}</text>')
        parts.append(f'<line x1="{x0}" x2="{x1}" y1="{ys(v):.1f}" y2="{ys(v):.1f}" stroke="#ddd"/>')
    for x, lab in zip(xs, xlabels):
        parts.append(f'<text x="{x:.1f}" y="{ybot + 16}" font-size="11" text-anchor="middle">{html.escape(lab)}</text>')
    for i, (name, vs, dashed) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        pts = [(x, ys(v)) for x, v in zip(xs, vs) if v is not None]
        dash = ' stroke-dasharray="5,4"' if dashed else ""
        if len(pts) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        for x, y in pts:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"/>')
        ly = ytop + 14 + i * 16
        parts.append(f'<line x1="{x1 + 20}" x2="{x1 + 40}" y1="{ly - 4}" y2="{ly - 4}" stroke="{color}" stroke-width="2"{dash}/>')
        parts.append(f'<text x="{x1 + 46}" y="{ly}" font-size="11">{html.escape(name)}</text>')
    return parts, ybot + 40


def charts(recs, y):
    by = {r["name"]: r for r in recs}
    med = lambda n: by[n]["median"] if n in by else None
    lim = lambda n: by[n].get("limit") if n in by else None
    parts = []
    conc = [
        ("ECIES, 1 thread", ["handshake.tcp.sequential", "handshake.tcp.concurrent64"]),
        ("ECIES, 2 workers", ["handshake.tcp.2workers.sequential", "handshake.tcp.2workers.concurrent64"]),
        ("full session, 1 thread", ["session.established_per_sec.current_thread.sequential",
                                    "session.established_per_sec.current_thread.concurrent64"]),
        ("full session, 2 workers", ["session.established_per_sec.2workers.sequential",
                                     "session.established_per_sec.2workers.concurrent64"]),
    ]
    series = [(name, [med(n) for n in names], False) for name, names in conc]
    # One dialer's work is serial: one core's limit; 64 dialers on two
    # workers can use both cores.
    series.append(("limit, 1 thread", [lim("handshake.tcp.sequential"),
                                        lim("handshake.tcp.concurrent64")], True))
    series.append(("limit, 2 workers", [lim("handshake.tcp.2workers.sequential"),
                                         lim("handshake.tcp.2workers.concurrent64")], True))
    p, y = line_chart("Handshakes/s and sessions/s against concurrency (TCP loopback)",
                      ["1 dialer", "64 dialers"], series, y)
    parts += p
    sizes = ["1KiB", "64KiB", "1MiB"]
    series = [
        ("P2PStream, snappy on", [med(f"frame.p2p.{s}.snappy_on") for s in sizes], False),
        ("RLPx frames, snappy off", [med(f"frame.p2p.{s}.snappy_off") for s in sizes], False),
        ("limit (RLPx crypto, 1 core)", [lim(f"frame.p2p.{s}.snappy_off") for s in sizes], True),
    ]
    p, y = line_chart("Throughput (MB/s of payload) against message size, one direction, 1 thread",
                      ["1 KiB", "64 KiB", "1 MiB"], series, y)
    parts += p
    return parts, y


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
    body, y = charts(recs, 10)
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
