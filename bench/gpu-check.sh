#!/usr/bin/env bash
# On a machine with a CUDA GPU: the tests against the real CUDA backend, then the GPU table (the kernel
# pipeline per case, device buffers resident, against its memory floor and against the reference-style
# PyTorch pipeline on the same GPU), then a per-kernel table of the issue's layer (GB/s, TFLOP/s, % of
# floor). Needs a driver; NVRTC is found by name (libnvrtc.so.13/.12/.11.2), else searched for under
# /usr/local/cuda* and Python's nvidia packages, or given by MIXKV_NVRTC_PATH.
#
#   bench/gpu-check.sh                    # with the .NET 10 SDK: builds, the whole suite, benchmarks
#   bench/gpu-check.sh --tests            # tests only
#   bench/gpu-check.sh --bundle DIR       # no SDK there: the build bench/gpu-bundle.sh made (runtime included);
#                                         # runs the tests that need a device (CI runs the rest)
#   bench/gpu-check.sh --quick ...        # a short device call (~1.5 min on an H100): no PyTorch pipeline, no GPU table;
#                                         # the tests, then bf16 snapkv per kernel, the A/B rows at N 32768 and the
#                                         # Nsight Compute steps (copy rate for the floors: MIXKV_COPY_GBPS, else 3000)
#
# A baseline (gpu-bundle.sh --baseline REV: the mixkv CLI of commit REV; or MIXKV_BASELINE_CLI=PATH to
# a MixKV.Cli.dll built from another commit) adds its timings to the A/B and per-kernel tables, from
# the same run as this tree's.
#
# Every step runs even when one before it failed; the exit status is 1 if any did. Output in $OUT
# (default artifacts/gpu-check): tests.txt, bench.txt, peer.jsonl, table.txt, per-kernel.txt, ab.txt, and
# with ncu: ncu.txt, ncu-wgmma.txt, ncu-select-grid.txt, window_run_{stats,mass}-source.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-artifacts/gpu-check}"
mkdir -p "$out"
tests_only=0 quick=0 bundle=""
while [ $# -gt 0 ]; do
    case "$1" in
        --tests) tests_only=1; shift ;;
        --quick) quick=1; shift ;;
        --bundle) bundle="$2"; shift 2 ;;
        *) echo "gpu-check.sh: error: unknown option '$1'" >&2; exit 2 ;;
    esac
done
failed=()
step() { local name="$1"; shift; echo "== $name"; "$@" || { echo "!! $name failed (exit $?)"; failed+=("$name"); }; }

command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader

if [ -z "${MIXKV_NVRTC_PATH:-}" ] && ! ldconfig -p 2> /dev/null | grep -qE 'libnvrtc\.so\.(13|12|11\.2) '; then
    found="$(ls /usr/local/cuda*/lib64/libnvrtc.so.1[123] /usr/local/cuda*/targets/*/lib/libnvrtc.so.1[123] \
        /usr/local/lib/python3*/dist-packages/nvidia/*/lib/libnvrtc.so.1[123] /opt/*/.venv/lib/python3*/site-packages/nvidia/*/lib/libnvrtc.so.1[123] 2> /dev/null | head -n 1)"
    [ -n "$found" ] && export MIXKV_NVRTC_PATH="$found"
fi
echo "NVRTC: ${MIXKV_NVRTC_PATH:-by name through the loader}"

if [ -n "$bundle" ]; then
    root="$(mktemp -d)"
    tar -xJf "$bundle/bundle.tar.xz" -C "$root" || exit 1
    export DOTNET_ROOT="$root/dotnet" DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 MIXKV_BENCH_IN_PROCESS=1
    dotnet="$root/dotnet/dotnet"
    echo "bundle built from: $(head -n 1 "$root/commit.txt")"
    run_tests() {
        for project in MixKV.Interop.Tests MixKV.Tests; do
            "$dotnet" "$root/tests/$project/$project.dll" --no-ansi --no-progress --output Detailed \
                --filter "FullyQualifiedName~CudaPipelineTests|FullyQualifiedName~GpuRoundTripTests|FullyQualifiedName~WgmmaGpuTests|FullyQualifiedName~DriverJitResourcesTests" --minimum-expected-tests 1 || return 1
        done
    }
    run_pipeline_tests() {
        "$dotnet" "$root/tests/MixKV.Tests/MixKV.Tests.dll" --no-ansi --no-progress --output Detailed --filter "FullyQualifiedName~CudaPipelineTests" --minimum-expected-tests 1
    }
    cli() { "$dotnet" "$root/cli/MixKV.Cli.dll" "$@"; }
    [ -f "$root/baseline/cli/MixKV.Cli.dll" ] && MIXKV_BASELINE_CLI="$root/baseline/cli/MixKV.Cli.dll" &&
        echo "baseline: $(cat "$root/baseline/commit.txt")"
    baseline_cli() { "$dotnet" "$MIXKV_BASELINE_CLI" "$@"; }
    bench() { (cd "$root/bench" && "$dotnet" MixKV.Bench.dll "$@"); }
else
    if [ -f /usr/include/boost/context/detail/fcontext.hpp ]; then bash src/Emulator/build.sh release; fi
    dotnet build MixKV.Native.sln -c Release -v quiet || exit 1
    # With a device present, the tests marked "needs a CUDA device" run instead of being ignored.
    run_tests() { dotnet test MixKV.Native.sln -c Release --no-build --filter "TestCategory!=Sm90a"; }  # those: CI's CompileSm90a
    run_pipeline_tests() { dotnet test tests/MixKV.Tests -c Release --no-build --filter "FullyQualifiedName~CudaPipelineTests"; }
    cli() { dotnet src/MixKV.Cli/bin/Release/net10.0/MixKV.Cli.dll "$@"; }
    baseline_cli() { dotnet "$MIXKV_BASELINE_CLI" "$@"; }
    bench() { dotnet run -c Release --project bench/MixKV.Bench.csproj -- "$@"; }
fi

step tests run_tests 2>&1 | tee "$out/tests.txt"
# The pipeline once more with the run kernels' wgmma forms (MIXKV_WGMMA=1: compute_90a on an H100/H200
# with NVRTC 12+; elsewhere the same kernels as above).
MIXKV_WGMMA=1 step "tests (MIXKV_WGMMA=1)" run_pipeline_tests 2>&1 | tee -a "$out/tests.txt"
# And with programmatic dependent launch (MIXKV_PDL=1: each kernel may start before the one before it
# ends, ordered only by its griddepcontrol.wait; refused below sm_90 or a CUDA 12.3 driver).
MIXKV_PDL=1 step "tests (MIXKV_PDL=1)" run_pipeline_tests 2>&1 | tee -a "$out/tests.txt"
grep -q '^!! tests' "$out/tests.txt" && failed+=(tests)
[ "$tests_only" = 1 ] && { [ ${#failed[@]} -eq 0 ]; exit $?; }

# The reference-style pipeline on this GPU first: it also measures the copy rate the floors use.
peer_ok=0
if [ "$quick" = 1 ]; then
    echo "--quick: no PyTorch pipeline"; : > "$out/peer.jsonl"
elif python3 -c 'import torch, sys; sys.exit(not torch.cuda.is_available())' 2> /dev/null; then
    (cd bench/peer && python3 gpu_sweep.py) > "$out/peer.jsonl" && peer_ok=1 || failed+=(peer)
else
    echo "no PyTorch with CUDA here: the GPU table has no PyTorch column"; : > "$out/peer.jsonl"
fi
gbps="$(python3 -c 'import json,sys; print(round(json.loads(open(sys.argv[1]).readline())["copy_gbps"]))' "$out/peer.jsonl" 2> /dev/null || echo "${MIXKV_COPY_GBPS:-3000}")"
echo "copy rate for the floors: $gbps GB/s"

if [ "$quick" = 0 ]; then
    # The suite's "% of floor" column at the same copy rate as the table's.
    MIXKV_HBM_GBPS="$gbps" step benchmarks bench --filter '*KernelPipelineBenchmarks*' --exporters json --artifacts "$out/bdn" 2>&1 | tee "$out/bench.txt"
    report="$(ls "$out"/bdn/results/*KernelPipelineBenchmarks-report-full-compressed.json "$out"/bdn/results/*KernelPipelineBenchmarks-report*.json 2> /dev/null | head -n 1)"
    echo
    echo "== GPU table"
    if [ -n "$report" ]; then
        python3 bench/gpu-table.py "$report" "$out/peer.jsonl" | tee "$out/table.txt"
    else
        echo "no benchmark results (no CUDA device found by the benchmark?)"; failed+=(table)
    fi
fi

# Per kernel, the layer of the performance issue: each launch timed alone (waits before and after, so
# launch latency included); the median above each table is the resident layer (--resident).
echo
echo "== per kernel: N 32768, Hq 32, Hkv 8, D 128, W 32, budget 256 (bf16: tensor-core window scores; f32: CUDA cores)"
runs=("bf16 snapkv" "bf16 adakv" "f32 snapkv" "bf16 snapkv select-grid" "bf16 adakv candidates")
[ "$quick" = 1 ] && runs=("bf16 snapkv" "bf16 snapkv wgmma" "bf16 snapkv select-grid" "bf16 adakv candidates")
[ -n "${MIXKV_BASELINE_CLI:-}" ] && runs+=("bf16 snapkv baseline")
for run in "${runs[@]}"; do
    set -- $run
    tool=cli keys=1 wgmma= select=
    [ "${3:-}" = baseline ] && tool=baseline_cli && echo "-- the same, as the baseline computes it ($MIXKV_BASELINE_CLI)"
    [ "${3:-}" = wgmma ] && wgmma=1 && echo "-- the same, the window run kernels' wgmma forms (MIXKV_WGMMA=1)"
    [ "${3:-}" = keys-in-head-stats ] && keys=0 && echo "-- the same, K statistics in head_token_stats (MIXKV_KEY_STATS_IN_RUNS=0)"
    [ "${3:-}" = select-grid ] && select=grid && echo "-- the same, the selection's grid form (MIXKV_SELECT=grid)"
    [ "${3:-}" = candidates ] && select=candidates && echo "-- the same, the selection's candidate form wherever it fits (MIXKV_SELECT=candidates)"
    MIXKV_SELECT=$select MIXKV_WGMMA=$wgmma MIXKV_KEY_STATS_IN_RUNS=$keys step "per-kernel $run" "$tool" bench --backend cuda --tokens 32768 --q-heads 32 --kv-heads 8 --head-dim 128 --window 32 \
        --budget 256 --dtype "$1" --method "$2" --repeat 10 --warmup 2 --resident --per-kernel --copy-gbps "$gbps"
done 2>&1 | tee "$out/per-kernel.txt"
grep -q '^!! per-kernel' "$out/per-kernel.txt" && failed+=(per-kernel)

# Choices made without a GPU, each against its alternative in this same call: the resident layer
# (bf16, snapkv, median of 20) queued as usual, launched as a captured graph (--graph), with the
# K statistics back in head_token_stats (MIXKV_KEY_STATS_IN_RUNS=0: a third pass over K), with the
# window kernels' runs of 8 and of 32 key tiles (MIXKV_RUN_TILES; WindowScores.RunTilesFor's choice is 16
# at N 32K on 132 SMs), with the window run kernels' wgmma forms (MIXKV_WGMMA=1), with each form of the
# selection for every layer instead of Select.FormFor's measured choice (MIXKV_SELECT=grid: head_lengths,
# a fill and six launches; MIXKV_SELECT=candidates: two launches wherever the merge holds them), AdaKV
# as a graph all three ways (the setting decides its shares too), with programmatic dependent launch
# (MIXKV_PDL=1) queued and as a graph, and, given a baseline, queued and as a graph the way the
# baseline does it (AdaKV as a graph too).
echo
echo "== A/B: resident layer, bf16, snapkv unless the row says adakv, median ms"
variants=(queued graph wgmma wgmma-graph select-grid select-grid-graph select-candidates select-candidates-graph adakv-graph adakv-select-grid-graph
    adakv-candidates-graph keys-in-head-stats runs-of-8 runs-of-32 pdl pdl-graph pdl-adakv-graph)
[ -n "${MIXKV_BASELINE_CLI:-}" ] && variants+=(baseline-queued baseline-graph baseline-adakv-graph)
sizes=(4096 32768 131072)
[ "$quick" = 1 ] && sizes=(32768)
for n in "${sizes[@]}"; do
    for variant in "${variants[@]}"; do
        flags=() keys=1 tool=cli runs= wgmma= select= method=snapkv pdl=
        case "$variant" in *graph) flags=(--graph) ;; esac
        case "$variant" in *select-grid*) select=grid ;; *candidates*) select=candidates ;; esac
        case "$variant" in *adakv*) method=adakv ;; esac
        [ "$variant" = keys-in-head-stats ] && keys=0
        case "$variant" in wgmma*) wgmma=1 ;; esac
        case "$variant" in runs-of-*) runs="${variant#runs-of-}" ;; esac
        case "$variant" in baseline-*) tool=baseline_cli ;; esac
        case "$variant" in pdl*) pdl=1 ;; esac
        median="$(MIXKV_SELECT=$select MIXKV_WGMMA=$wgmma MIXKV_KEY_STATS_IN_RUNS=$keys MIXKV_RUN_TILES=$runs MIXKV_PDL=$pdl "$tool" bench --backend cuda --tokens "$n" --q-heads 32 --kv-heads 8 --head-dim 128 --window 32 \
            --budget 256 --dtype bf16 --method "$method" --repeat 20 --warmup 3 --resident "${flags[@]}" --json |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["median_ms"])')" || median=failed
        printf '  N %6d  %-23s %s\n' "$n" "$variant" "$median"
    done
done 2>&1 | tee "$out/ab.txt"
grep -q 'failed$' "$out/ab.txt" && failed+=(ab)

# Where the hot kernels' time goes, when Nsight Compute is there: speed of light, occupancy (with the
# shared-memory configuration the driver chose), stalls and memory of each kernel's first launches
# (ncu.txt), and per SASS instruction for the two window kernels (*-source.txt, bench/ncu-source.py).
if command -v ncu > /dev/null || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda*/bin/ncu > /dev/null 2>&1; then
    echo
    echo "== Nsight Compute (ncu.txt, window_run_*-source.txt)"
    profile=(bash bench/gpu-profile.sh)
    [ -n "$bundle" ] && profile+=(--bundle "$bundle")
    step ncu "${profile[@]}" 'window_run|window_merge_key_mean|head_value_stats|mix_|select_(span_candidates|merge)' > "$out/ncu.txt" 2>&1
    MIXKV_SELECT=grid step "ncu (MIXKV_SELECT=grid)" "${profile[@]}" 'select_(radix_pass|topk)' > "$out/ncu-select-grid.txt" 2>&1
    MIXKV_WGMMA=1 step "ncu (MIXKV_WGMMA=1)" "${profile[@]}" 'window_run_(stats|mass)_wgmma' > "$out/ncu-wgmma.txt" 2>&1
    for kernel in window_run_stats window_run_mass; do
        step "ncu source $kernel" "${profile[@]}" --source "$out/$kernel-source.csv" "$kernel" &&
            { python3 bench/ncu-source.py "$out/$kernel-source.csv" > "$out/$kernel-source.txt" || failed+=("ncu summary $kernel"); }
    done
else
    echo "no ncu here: no Nsight Compute profile"
fi

[ ${#failed[@]} -eq 0 ] || { echo "gpu-check.sh: failed: ${failed[*]}"; exit 1; }
