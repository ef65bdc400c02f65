"""The GPU table of bench/gpu-check.sh: the kernel pipeline's median per case (BenchmarkDotNet's JSON
export of KernelPipelineBenchmarks, device buffers resident; the graph column is one launch of the
captured layer), its memory floor, and the reference-style
PyTorch pipeline on the same GPU (bench/peer/gpu_sweep.py's JSON lines).

The floor of a case: two passes over K and one over V (bf16), at the copy rate gpu_sweep.py measured on
this device (bytes read + written per second), else at the 3.0 TB/s of the performance issue.

  python3 bench/gpu-table.py BDN_REPORT.json PEER.jsonl
"""

import json
import sys

QUERY_HEADS, KV_HEADS, HEAD_DIM, ELEMENT = 32, 8, 128, 2  # KernelPipelineBenchmarks' layer, bf16


def load_ours(path):
    """Median us per (N, method, score): the queued pipeline ("Pipeline") and one launch of its graph ("PipelineGraph")."""
    ours, graphs = {}, {}
    for bench in json.load(open(path, encoding="utf-8"))["Benchmarks"]:
        params = dict(p.split("=", 1) for p in bench["Parameters"].split("&"))
        key = (int(params["Tokens"]), params["Method"].lower(), params["Score"].lower())
        target = graphs if bench.get("Method") == "PipelineGraph" else ours
        target[key] = bench["Statistics"]["Median"] / 1e3  # ns -> us
    return ours, graphs


def load_peer(path):
    lines = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    header = lines[0] if lines and "copy_gbps" in lines[0] else {}
    peer = {(r["tokens"], r["method"], r["score"]): r["median_ms"] * 1e3 for r in lines if "median_ms" in r}
    return header, peer


def main():
    ours, graphs = load_ours(sys.argv[1])
    header, peer = load_peer(sys.argv[2]) if len(sys.argv) > 2 else ({}, {})
    gbps = header.get("copy_gbps") or 3000.0
    source = f"measured device-to-device copy on {header['device']}" if "copy_gbps" in header else "the issue's 3.0 TB/s"
    print(f"floor = (2 passes over K + 1 over V) at {gbps:.0f} GB/s ({source})")
    print(f"{'N':>7} {'method':7} {'score':9} {'ours us':>9} {'graph us':>9} {'floor us':>9} {'% floor':>8} {'GB/s':>7} {'torch us':>9} {'torch/ours':>10}")
    for (n, method, score), us in sorted(ours.items()):
        floor_bytes = 3 * KV_HEADS * n * HEAD_DIM * ELEMENT
        floor_us = floor_bytes / gbps / 1e3
        torch_us = peer.get((n, method, score))
        ratio = f"{torch_us / us:10.1f}" if torch_us else f"{'-':>10}"
        torch_col = f"{torch_us:9.1f}" if torch_us else f"{'-':>9}"
        graph_us = graphs.get((n, method, score))
        graph_col = f"{graph_us:9.1f}" if graph_us else f"{'-':>9}"
        print(f"{n:>7} {method:7} {score:9} {us:9.1f} {graph_col} {floor_us:9.1f} {100 * floor_us / us:7.1f}% {floor_bytes / us / 1e3:7.0f} {torch_col} {ratio}")

    print()
    print("MixKV against plain SnapKV selection plus one pass over V (its only extra traffic), queued and")
    print("as a graph (the queued times carry the launches' jitter, the graph's one launch less of it):")
    for n in sorted({k[0] for k in ours}):
        for method in ("snapkv", "adakv"):
            v_pass = KV_HEADS * n * HEAD_DIM * ELEMENT / gbps / 1e3  # V read once, at the copy rate's bytes per second
            for label, times in (("queued", ours), ("graph", graphs)):
                mix, plain = times.get((n, method, "mixkv")), times.get((n, method, "attention"))
                if mix and plain:
                    verdict = "ok" if mix <= plain + v_pass else "SLOWER"
                    print(f"  N {n:>6} {method:6} {label:6}: mixkv {mix:8.1f} us, attention {plain:8.1f} us + V pass {v_pass:6.1f} us -> {verdict}")

    print()
    print("Scaling with N (us per 1K tokens; linear scaling keeps it flat):")
    for method in ("snapkv", "adakv"):
        for score in ("attention", "mixkv"):
            for label, times in (("", ours), (" (graph)", graphs)):
                row = [(n, us) for (n, m, s), us in sorted(times.items()) if m == method and s == score]
                if row:
                    print(f"  {method:6} {score + label:17}: " + ", ".join(f"N {n}: {us / (n / 1024):.2f}" for n, us in row))


if __name__ == "__main__":
    main()
