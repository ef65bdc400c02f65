#!/usr/bin/env bash
# Nsight Compute on the kernels of one layer (N 32768, Hq 32, Hkv 8, D 128, W 32, bf16): speed of light,
# occupancy, warp stall reasons and launch statistics of each kernel's first launch, to see why a
# kernel is far from its floor. Needs ncu on PATH (or under /opt/nvidia/nsight-compute) and a GPU.
#
#   bench/gpu-profile.sh [--bundle DIR] [KERNEL_REGEX]     # default regex: every kernel
#   NCU_EXTRA="--section SourceCounters" bench/gpu-profile.sh ...   # more ncu arguments (split on spaces)
#   bench/gpu-profile.sh --source FILE KERNEL_REGEX   # instead: the first matching launch's executed
#       instructions and stall samples per SASS instruction, as CSV in FILE; summarise it here with
#       python3 bench/ncu-source.py FILE (where the instructions and stalls go, by runs of 64)
set -uo pipefail
cd "$(dirname "$0")/.."
bundle="" regex="." source=""
while [ $# -gt 0 ]; do
    case "$1" in
        --bundle) bundle="$2"; shift 2 ;;
        --source) source="$2"; shift 2 ;;
        *) regex="$1"; shift ;;
    esac
done
ncu="$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda*/bin/ncu 2> /dev/null | head -n 1)"
[ -n "$ncu" ] || { echo "gpu-profile.sh: ncu not found" >&2; exit 1; }
if [ -n "$bundle" ]; then
    root="$(mktemp -d)"
    tar -xJf "$bundle/bundle.tar.xz" -C "$root" || exit 1
    export DOTNET_ROOT="$root/dotnet" DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
    cli=("$root/dotnet/dotnet" "$root/cli/MixKV.Cli.dll")
else
    cli=(dotnet src/MixKV.Cli/bin/Release/net10.0/MixKV.Cli.dll)
fi
read -r -a extra <<< "${NCU_EXTRA:-}"
layer=(bench --backend cuda --tokens 32768 --q-heads 32 --kv-heads 8 --head-dim 128 --window 32 --budget 256 --dtype bf16 --repeat 1 --warmup 0)
if [ -n "$source" ]; then
    "$ncu" --kernel-name "regex:$regex" --launch-count 1 --clock-control none "${extra[@]}" \
        --section SourceCounters --section WarpStateStats --page source --print-source sass --csv \
        "${cli[@]}" "${layer[@]}" > "$source"
    exit $?
fi
"$ncu" --kernel-name "regex:$regex" --launch-count 20 --clock-control none "${extra[@]}" \
    --section SpeedOfLight --section Occupancy --section WarpStateStats --section LaunchStats --section MemoryWorkloadAnalysis \
    "${cli[@]}" "${layer[@]}"
