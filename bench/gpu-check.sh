#!/usr/bin/env bash
# On a machine with a CUDA GPU: the whole test suite against the real CUDA backend, then the kernel
# benchmarks, a short table, and a per-kernel table (mixkv bench --per-kernel) of the issue's layer. Needs the .NET 10 SDK and a driver; NVRTC is found by name
# (libnvrtc.so.13/.12/.11.2) or through MIXKV_NVRTC_PATH / MIXKV_CUDA_TOOLS.
#
#   bench/gpu-check.sh            # tests + benchmarks
#   bench/gpu-check.sh --tests    # tests only
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-artifacts/gpu-check}"
mkdir -p "$out"

command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"

# The CPU runtime is built too, so the emulated tests still run and compare against the same reference.
if [ -f /usr/include/boost/context/detail/fcontext.hpp ]; then bash src/Emulator/build.sh release; fi

dotnet build MixKV.Native.sln -c Release -v quiet
# With a device present, the tests marked "needs a CUDA device" run instead of being ignored: the
# interop's launch tests and CudaPipelineTests (every pipeline acceptance case on the GPU vs the reference).
dotnet test MixKV.Native.sln -c Release --no-build \
    --logger "trx;LogFileName=gpu-tests.trx" --results-directory "$out" 2>&1 | tee "$out/tests.txt"

[ "${1:-}" = "--tests" ] && exit 0

dotnet run -c Release --project bench/MixKV.Bench.csproj -- --filter '*KernelPipelineBenchmarks*' \
    --exporters csv --artifacts "$out/bench" 2>&1 | tee "$out/bench.txt"

echo
echo "== GPU kernel pipeline (median of BenchmarkDotNet iterations) =="
csv="$(ls "$out"/bench/results/*KernelPipelineBenchmarks-report.csv 2>/dev/null | head -n 1)"
if [ -n "$csv" ]; then
    python3 - "$csv" "$out/bench.txt" <<'PY'
import csv, re, sys
floors = {}
for line in open(sys.argv[2], encoding="utf-8", errors="replace"):
    m = re.search(r"N=(\d+).* (\w+)/(\w+); HBM floor .* = ([\d.]+) us", line)
    if m:
        floors[(m.group(1), m.group(2), m.group(3))] = float(m.group(4))
rows = list(csv.DictReader(open(sys.argv[1])))
print(f"{'backend':8} {'N':>7} {'method':7} {'score':9} {'median us':>10} {'floor us':>9} {'% of floor':>10}")
for r in rows:
    median = r.get("Median") or r.get("Mean")
    value, unit = median.split()[0].replace(",", ""), median.split()[-1]
    us = float(value) * {"ns": 1e-3, "us": 1.0, "μs": 1.0, "ms": 1e3, "s": 1e6}.get(unit, 1.0)
    floor = floors.get((r["Tokens"], r["Method"], r["Score"]))
    pct = f"{100 * floor / us:9.1f}%" if floor else "        -"
    print(f"{r['Backend']:8} {r['Tokens']:>7} {r['Method']:7} {r['Score']:9} {us:10.1f} {floor or 0:9.1f} {pct}")
PY
else
    echo "no benchmark results (no CUDA device found by the benchmark?)"
fi

# Per kernel, the layer of the performance issue: each launch timed alone (waits before and after, so
# launch latency included). The bench's own median includes the host->device upload of the layer.
echo
echo "== per kernel: N 32768, Hq 32, Hkv 8, D 128, W 32, budget 256 (bf16: tensor-core window scores; f32: CUDA cores) =="
for dtype in bf16 f32; do
    dotnet src/MixKV.Cli/bin/Release/net10.0/MixKV.Cli.dll bench --backend cuda --tokens 32768 --q-heads 32 --kv-heads 8 \
        --head-dim 128 --window 32 --budget 256 --dtype "$dtype" --repeat 10 --warmup 2 --per-kernel 2>&1 | tee "$out/per-kernel-$dtype.txt"
done
