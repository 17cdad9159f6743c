#!/usr/bin/env python3
"""Compare a full `ethp2p bench` run with the recorded one.

Usage: scripts/bench_compare.py RECORDED.jsonl NEW.jsonl [--tolerance 0.10]

Each file holds the JSON lines `ethp2p bench` prints. Measurements are matched
by name. For every measurement present in both, the figure compared is its
ratio to the limit measured in the same run when it has one (robust to a
faster or slower machine): the median over rounds of each round's figure
against that round's primitives (`ratio_median_of_rounds`, robust to the
machine drifting during a run) when recorded, else `median / limit`; and
its median when it has no limit. Whether higher or lower is
better follows the unit: times per operation, latencies, memory and CPU per
idle session are better lower, rates and ratios against a rate are better
higher. Measurements that got worse by more than the tolerance are named,
and the exit code is 1 if any did. Timings never decide a test: CI does not
run this.
"""
import json
import sys

# Units whose figure (median, or ratio against a ceiling) is better lower.
LOWER_IS_BETTER = ("us/op", "ns/op", "us", "KiB/session", "% of a core", "bytes/hash")


def load(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            rec = json.loads(line)
            out[rec["name"]] = rec
    return out


def figure(rec):
    per_round = (rec.get("params") or {}).get("ratio_median_of_rounds")
    if per_round is not None:
        return per_round, "ratio/round"
    if rec.get("ratio") is not None:
        return rec["ratio"], "ratio"
    return rec["median"], rec.get("unit", "")


def worse_by(rec, a, b):
    """How much worse b is than a (positive = worse), as a fraction of a."""
    if not a:
        return 0.0
    change = b / a - 1
    return change if rec.get("unit") in LOWER_IS_BETTER else -change


def main(argv):
    tol = 0.10
    args = list(argv[1:])
    if "--tolerance" in args:
        i = args.index("--tolerance")
        tol = float(args[i + 1])
        del args[i : i + 2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    old, new = load(args[0]), load(args[1])
    worse = []
    for name in sorted(old.keys() & new.keys()):
        (a, kind), (b, _) = figure(old[name]), figure(new[name])
        if a is None or b is None:
            continue
        w = worse_by(new[name], a, b)
        if w > tol:
            worse.append((name, a, b, kind, w))
        print(f"{name:60} {a:>12.4g} -> {b:>12.4g} {kind:12} {w:+.1%} worse" if w > 0
              else f"{name:60} {a:>12.4g} -> {b:>12.4g} {kind:12} {-w:+.1%} better")
    for name in sorted(old.keys() - new.keys()):
        print(f"{name:60} missing from the new run")
    if worse:
        print("\nWorse by more than {:.0%}:".format(tol))
        for name, a, b, kind, w in worse:
            print(f"  {name}: {a:.4g} -> {b:.4g} {kind} ({w:+.1%} worse)")
        return 1
    print("\nNo measurement got worse by more than {:.0%}.".format(tol))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
