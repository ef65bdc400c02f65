#!/usr/bin/env bash
# Builds and runs overlap.c (see its header): whether streaming reads overlap an AVX-512 FMA
# micro-kernel shaped like the fast path's GEMM, on the same core and across cores.
set -euo pipefail
cd "$(dirname "$0")"
out="${TMPDIR:-/tmp}/mixkv-overlap-probe"
gcc -O2 -march=native -fopenmp overlap.c -o "$out"
"$out" "$@"
