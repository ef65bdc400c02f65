#!/usr/bin/python3.11
"""Prints compare.sh's table from pairs of JSON files (ours, pytorch) written by one run."""

import argparse
import json
import os
import sys

RATIO_TARGET = 8.0  # PyTorch median / ours median, at least
FLOOR_TARGET = 1.5  # ours median / sgemm floor, at most
STAGES = ("window_scores", "head_stats", "mix", "budget", "select", "gather")


def cpu_line():
    """The CPU the numbers come from: the floor ratio moves with it (Zen 4 to Zen 5 doubled the sgemm rate)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            first = f.read().split("\n\n")[0]
    except OSError:
        return "cpu: ? (no /proc/cpuinfo)"
    fields = {k.strip(): v.strip() for k, sep, v in (line.partition(":") for line in first.splitlines()) if sep}
    flags = fields.get("flags", "").split()
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"cpu: {fields.get('model name', '?')}, family {fields.get('cpu family', '?')} model {fields.get('model', '?')}, {isa}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--note", default="")
    p.add_argument("--pinned", default="no")
    p.add_argument("--strict", type=int, default=0)
    p.add_argument("--sgemm-from", nargs="*", default=[], help="more peer runs whose sgemm measurements count too")
    p.add_argument("files", nargs="+")
    a = p.parse_args()
    runs = [json.load(open(f, encoding="utf-8")) for f in a.files]
    pairs = list(zip(runs[0::2], runs[1::2]))
    peers = [peer for _, peer in pairs]
    sgemm_runs = [r for f in a.sgemm_from for r in json.load(open(f, encoding="utf-8"))["sgemm_runs_gflops"]]
    sgemm_runs += [r for peer in peers for r in peer["sgemm_runs_gflops"]] if not a.sgemm_from else []
    gflops = max(sgemm_runs)
    first = pairs[0][0]

    print(f"layer: N {first['tokens']}, Hq {first['q_heads']}, Hkv {first['kv_heads']}, D {first['head_dim']}, "
          f"W {first['window']}, budget {first['budget']}, {first['dtype']}; {first['repeat']} timed runs after {first['warmup']} warm-up, seed {first['seed']}")
    print(f"peer: torch {peers[0]['torch']} (python {peers[0]['python']}), {peers[0]['threads']} threads, "
          f"BLAS {peers[0].get('blas_library')} core {peers[0].get('openblas_core')}; "
          f"OPENBLAS_CORETYPE/L2_SIZE unset: {all(v is None for k, v in peers[0]['openblas_env'].items() if k != 'OPENBLAS_NUM_THREADS')}; "
          f"OMP_WAIT_POLICY (faster of PASSIVE/ACTIVE kept): {', '.join(str(peer.get('omp_wait_policy')) for peer in peers)}")
    print(f"sgemm {peers[0]['sgemm_size']}^3 fp32: best {gflops:.1f} GFLOP/s (runs: "
          + ", ".join(f"{r:.0f}" for r in sgemm_runs) + ")")
    print(f"pinned: {a.pinned}; load average now: {open('/proc/loadavg').read().split()[:3] if os.path.exists('/proc/loadavg') else '?'} on {os.cpu_count()} CPUs")
    print(cpu_line())
    if a.note:
        print(a.note)
    print()

    header = ("config", "ours", "ours med ms", "ours min ms", "pytorch med ms", "pytorch min ms",
              f"pytorch/ours (>= {RATIO_TARGET:g})", "sgemm floor ms", f"ours/floor (<= {FLOOR_TARGET:g})")
    rows, missed = [], False
    for ours, peer in pairs:
        floor_ms = 2.0 * ours["q_heads"] * ours["window"] * ours["tokens"] * ours["head_dim"] / (gflops * 1e9) * 1e3
        ratio = peer["median_ms"] / ours["median_ms"]
        to_floor = ours["median_ms"] / floor_ms
        ok_ratio, ok_floor = ratio >= RATIO_TARGET, to_floor <= FLOOR_TARGET
        missed |= not (ok_ratio and ok_floor)
        rows.append((f"{ours['method']}+{ours['score']}", ours["backend"], f"{ours['median_ms']:.2f}", f"{ours['min_ms']:.2f}",
                     f"{peer['median_ms']:.2f}", f"{peer['min_ms']:.2f}",
                     f"{ratio:.2f} {'ok' if ok_ratio else 'MISS'}", f"{floor_ms:.2f}", f"{to_floor:.2f} {'ok' if ok_floor else 'MISS'}"))
    table(header, rows)
    print()

    stage_rows = []
    for ours, peer in pairs:
        for side, run in (("ours", ours), ("pytorch", peer)):
            stage_rows.append((f"{ours['method']}+{ours['score']}", side, *(f"{run['stages_ms'][s]:.2f}" for s in STAGES)))
    table(("config", "side", *(f"{s} ms" for s in STAGES)), stage_rows)
    if a.strict and missed:
        print("compare.sh: a target was missed (--strict)", file=sys.stderr)
        sys.exit(1)


def table(header, rows):
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    line = "+".join("-" * (w + 2) for w in widths)
    print(line)
    print("|".join(f" {h:<{w}} " for h, w in zip(header, widths)))
    print(line)
    for r in rows:
        print("|".join(f" {c:>{w}} " if i > 1 else f" {c:<{w}} " for i, (c, w) in enumerate(zip(r, widths))))
    print(line)


if __name__ == "__main__":
    main()
