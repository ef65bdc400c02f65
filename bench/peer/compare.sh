#!/usr/bin/env bash
# Ours vs the reference-style PyTorch pipeline on the same layer, in one run:
#   mixkv bench --backend fast --json   (falls back to cpu, saying so, when fast is not registered)
#   bench/peer/reference_pipeline.py    (PyTorch 1.13 + OpenBLAS, 2 threads; also measures sgemm)
# then a table: both medians, PyTorch / ours (target >= 8), the sgemm floor of the window scores
# (2*Hq*W*N*D FLOP at the measured sgemm rate) and ours / floor (target <= 1.5).
#
#   bench/peer/install.sh                      # once: python3-torch + libopenblas0-pthread
#   bench/peer/compare.sh                      # N=32768 Hq=32 Hkv=8 D=128 W=32 budget=256, fp32
#   bench/peer/compare.sh --tokens 8192 --repeat 5 --no-adakv
#
# Both sides get the same cores: --threads T (default 2) is torch.set_num_threads, OpenBLAS's thread
# count and .NET's processor count, and both run under `taskset` on cores 0..T-1 when the machine has
# more. The peer runs with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset, once per OMP_WAIT_POLICY
# (PASSIVE, ACTIVE), and its faster run counts; ours runs twice too, before and after the peer, and
# its faster run counts (this VM's neighbours slow either side by 10-30 % for seconds at a time, so
# one sample each would let a burst decide the ratio). Raw JSON lands in $OUT (default artifacts/peer).
# --strict exits 1 when a target is missed.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=bench/peer

tokens=32768 q_heads=32 kv_heads=8 head_dim=128 window=32 budget=256
repeat=10 warmup=2 seed=1 threads=2 backend="" adakv=1 strict=0
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; echo "options: --tokens --q-heads --kv-heads --head-dim --window --budget --repeat --warmup --seed --threads --backend B --no-adakv --strict"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --tokens) tokens="$2"; shift 2 ;;
        --q-heads) q_heads="$2"; shift 2 ;;
        --kv-heads) kv_heads="$2"; shift 2 ;;
        --head-dim) head_dim="$2"; shift 2 ;;
        --window) window="$2"; shift 2 ;;
        --budget) budget="$2"; shift 2 ;;
        --repeat) repeat="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --backend) backend="$2"; shift 2 ;;
        --no-adakv) adakv=0; shift ;;
        --strict) strict=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "compare.sh: error: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
for v in tokens q_heads kv_heads head_dim window budget repeat warmup seed threads; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "compare.sh: error: --${v//_/-} must be a non-negative integer (got '${!v}')" >&2; exit 2; }
done

die() { echo "compare.sh: error: $*" >&2; exit 1; }
python=/usr/bin/python3.11
[ -x "$python" ] || die "$python not found (Debian's python3.11; run $here/install.sh)"
"$python" -c 'import torch' 2> /dev/null || die "$python cannot import torch (run $here/install.sh)"
command -v dotnet > /dev/null || die "dotnet (the .NET 10 SDK) is not on PATH"

out="${OUT:-artifacts/peer}"
mkdir -p "$out"

# Build mixkv (Release) when it is missing or any source is newer than it.
bin=src/MixKV.Cli/bin/Release/net10.0
dll="$bin/MixKV.Cli.dll"
if [ ! -f "$dll" ] || [ -n "$(find src kernels \( -name bin -o -name obj \) -prune -o -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.cu' -o -name '*.cuh' \) -newer "$dll" -print -quit 2> /dev/null)" ]; then
    echo "building mixkv (Release)..." >&2
    dotnet build src/MixKV.Cli/MixKV.Cli.csproj -c Release -v quiet -nologo > "$out/build.log" 2>&1 \
        || { tail -n 30 "$out/build.log" >&2; die "dotnet build failed (log: $out/build.log)"; }
fi
mixkv=(dotnet "$dll")

# Same cores for both sides.
pin=()
if command -v taskset > /dev/null && [ "$(nproc)" -gt "$threads" ] && [ "$threads" -ge 1 ]; then
    pin=(taskset -c "0-$((threads - 1))")
fi
export DOTNET_PROCESSOR_COUNT="$threads"

note=""
if [ -z "$backend" ]; then
    if "${mixkv[@]}" info | grep -Eq '(^|[^[:alnum:]])fast([^[:alnum:]].*)?[^[:alnum:]]yes([^[:alnum:]]|$)'; then
        backend=fast
    else
        backend=cpu
        note="NOTE: backend 'fast' is not registered (or not available) in this build of mixkv; measured --backend cpu, the double-precision reference, instead. Its ratios say nothing about the fast path."
        echo "$note" >&2
    fi
fi

# run_ours METHOD SCORE N: one mixkv bench run to $out/ours-METHOD-SCORE-N.json.
run_ours() {
    echo "running $1+$2: mixkv bench --backend $backend (run $3 of 2) ..." >&2
    "${pin[@]}" "${mixkv[@]}" bench --backend "$backend" "${shape[@]}" --method "$1" --score "$2" --dtype f32 \
        --repeat "$repeat" --warmup "$warmup" --seed "$seed" --json > "$out/ours-$1-$2-$3.json" 2> "$out/ours.err" \
        || { cat "$out/ours.err" >&2; die "mixkv bench failed for $1+$2"; }
}

# faster A B: prints whichever JSON run has the lower median_ms (A on a tie).
faster() {
    if "$python" -c 'import json, sys; a, b = (json.load(open(f))["median_ms"] for f in sys.argv[1:]); sys.exit(0 if a <= b else 1)' "$1" "$2"; then
        cat "$1"
    else
        cat "$2"
    fi
}

configs=("snapkv mixkv")
[ "$adakv" -eq 1 ] && configs+=("adakv mixkv")
shape=(--tokens "$tokens" --q-heads "$q_heads" --kv-heads "$kv_heads" --head-dim "$head_dim" --window "$window" --budget "$budget")
results=() sgemm_runs=()
for config in "${configs[@]}"; do
    read -r method score <<< "$config"
    ours="$out/ours-$method-$score.json" peer="$out/pytorch-$method-$score.json"
    run_ours "$method" "$score" 1
    # torch's OpenMP pool and OpenBLAS's pthreads share the same cores; spinning OpenMP workers can
    # starve OpenBLAS (measured 5x slower head stats on a busy 2-core machine). The peer gets the
    # faster of both wait policies.
    for policy in PASSIVE ACTIVE; do
        echo "running $method+$score: PyTorch reference pipeline (OMP_WAIT_POLICY=$policy) ..." >&2
        try="$out/pytorch-$method-$score-$policy.json"
        "${pin[@]}" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" OMP_WAIT_POLICY="$policy" \
            "$python" "$here/reference_pipeline.py" "${shape[@]}" --method "$method" --score "$score" \
            --repeat "$repeat" --warmup "$warmup" --seed "$seed" --threads "$threads" > "$try" 2> "$out/peer.err" \
            || { cat "$out/peer.err" >&2; die "reference_pipeline.py failed for $method+$score (OMP_WAIT_POLICY=$policy)"; }
    done
    faster "$out/pytorch-$method-$score-PASSIVE.json" "$out/pytorch-$method-$score-ACTIVE.json" > "$peer"
    run_ours "$method" "$score" 2
    faster "$out/ours-$method-$score-1.json" "$out/ours-$method-$score-2.json" > "$ours"
    sgemm_runs+=("$out/pytorch-$method-$score-PASSIVE.json" "$out/pytorch-$method-$score-ACTIVE.json")
    results+=("$ours" "$peer")
done

"$python" "$here/report.py" --note "$note" --pinned "${pin[*]:-no}" --strict "$strict" --sgemm-from "${sgemm_runs[@]}" -- "${results[@]}"
