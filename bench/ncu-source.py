#!/usr/bin/env python3
"""Where a kernel's instructions and stalls go, from `bench/gpu-profile.sh --source FILE`.

Nsight Compute's source page (one row per SASS instruction, in address order) is summed over runs of
consecutive instructions: the share of executed instructions and of stall samples in each run, and
the opcodes that executed most there. Runs under 1 % of both are left out. The stall reasons of the
whole kernel come first.

    python3 bench/ncu-source.py FILE [--run 64]
"""
import argparse
import csv
import re
import sys


def number(text):
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file")
    parser.add_argument("--run", type=int, default=64, help="instructions per run (default 64)")
    args = parser.parse_args()
    lines = open(args.file, encoding="utf-8", errors="replace").read().splitlines()
    header = next((i for i, line in enumerate(lines) if line.startswith('"Address"')), None)
    if header is None:
        sys.exit(f"{args.file}: no source page (a header row starting with \"Address\")")
    rows = list(csv.DictReader(lines[header:]))
    executed = sum(number(r["Instructions Executed"]) for r in rows)
    samples = sum(number(r["Warp Stall Sampling (All Samples)"]) for r in rows)
    if executed == 0 or samples == 0:
        sys.exit(f"{args.file}: no executed instructions or stall samples")
    print(f"{len(rows)} SASS instructions, {executed:.0f} executed (warp level), {samples:.0f} stall samples")
    reasons = [k for k in rows[0] if k.startswith("stall_") and "Not Issued" not in k]
    totals = sorted(((sum(number(r[k]) for r in rows) / samples, k[len("stall_"):]) for k in reasons), reverse=True)
    print("stalls: " + ", ".join(f"{name} {share:.1%}" for share, name in totals[:8]))
    print(f"{'first address':>14} {'executed':>9} {'samples':>8}  top opcodes (share of all executed)")
    for start in range(0, len(rows), args.run):
        run = rows[start:start + args.run]
        run_executed = sum(number(r["Instructions Executed"]) for r in run)
        run_samples = sum(number(r["Warp Stall Sampling (All Samples)"]) for r in run)
        if run_executed / executed < 0.01 and run_samples / samples < 0.01:
            continue
        opcodes = {}
        for r in run:
            opcode = re.sub(r"^@!?U?P\w+\s+", "", r["Source"].strip()).split(" ")[0].split(".")[0]
            opcodes[opcode] = opcodes.get(opcode, 0.0) + number(r["Instructions Executed"])
        top = sorted(opcodes.items(), key=lambda item: -item[1])[:5]
        print(f"{run[0]['Address'][-14:]:>14} {run_executed / executed:9.1%} {run_samples / samples:8.1%}  "
              + " ".join(f"{name} {count / executed:.1%}" for name, count in top))


if __name__ == "__main__":
    main()
