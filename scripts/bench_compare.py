#!/usr/bin/env python3
"""Compare a full `ethp2p bench` run with the recorded one.

Usage: scripts/bench_compare.py RECORDED.jsonl NEW.jsonl [--tolerance 0.10]

Each file holds the JSON lines `ethp2p bench` prints. For every measurement
present in both, the figure compared is its ratio to the limit measured in
the same run when it has one (robust to a faster or slower machine), else its
median. Measurements that fell by more than the tolerance are named, and the
exit code is 1 if any did. Timings never decide a test: CI does not run this.
"""
import json
import sys


def load(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            rec = json.loads(line)
            key = rec["name"]
            params = rec.get("params") or {}
            if params:
                key += " " + ",".join(f"{k}={params[k]}" for k in sorted(params))
            out[key] = rec
    return out


def figure(rec):
    if rec.get("ratio") is not None:
        return rec["ratio"], "ratio"
    return rec["median"], rec.get("unit", "")


def main(argv):
    tol = 0.10
    args = [a for a in argv[1:]]
    if "--tolerance" in args:
        i = args.index("--tolerance")
        tol = float(args[i + 1])
        del args[i : i + 2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    old, new = load(args[0]), load(args[1])
    fell = []
    for key in sorted(old.keys() & new.keys()):
        (a, unit), (b, _) = figure(old[key]), figure(new[key])
        if a and b is not None and b < a * (1 - tol):
            fell.append((key, a, b, unit))
        print(f"{key:70} {a:>12.4g} -> {b:>12.4g} {unit}")
    for key in sorted(old.keys() - new.keys()):
        print(f"{key:70} missing from the new run")
    if fell:
        print("\nFell by more than {:.0%}:".format(tol))
        for key, a, b, unit in fell:
            print(f"  {key}: {a:.4g} -> {b:.4g} {unit} ({(b / a - 1):+.1%})")
        return 1
    print("\nNo measurement fell by more than {:.0%}.".format(tol))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
