#!/usr/bin/env bash
# Builds and runs one probe (see its header); overlap.c when none is named:
#   run.sh [overlap[.c]|exp_tile[.c]] [probe arguments]
# overlap.c: whether streaming reads overlap an AVX-512 FMA micro-kernel shaped like the fast path's
# GEMM, on the same core and across cores (THP=1 puts its streams on transparent huge pages).
# exp_tile.c: what the exp tile's streaming stores cost the GEMM's core, and whether moving them costs less.
set -euo pipefail
cd "$(dirname "$0")"
probe=overlap.c
if [[ "${1:-}" == *.c ]]; then
    probe="$1"
    shift
elif [ -n "${1:-}" ] && [ -f "$1.c" ]; then
    probe="$1.c"  # the probe's name without .c
    shift
fi
out="${TMPDIR:-/tmp}/mixkv-probe-${probe%.c}"
gcc -O2 -march=native -fopenmp -pthread "$probe" -o "$out"
"$out" "$@"
