#!/usr/bin/env bash
# Builds the CPU runtime for the project's .cu kernels.
#
#   src/Emulator/build.sh [release|tsan|selftest|all] [OUTDIR]
#
#   release  (default) OUTDIR/libmixkv_emu.so: runtime + kernels/*.cu + selftest/*.cu
#   tsan     OUTDIR/libmixkv_emu_tsan.so: kernels instrumented with -fsanitize=thread
#   selftest both libraries, the self-test executables, and runs them
#   all      release + tsan
#
# OUTDIR defaults to <repo>/.tools/emu. Needs (Debian 12): g++ (12), libboost-context-dev;
# the tsan flavour also needs libtsan2 (pulled in by g++-12).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

target=release
case "${1:-}" in release | tsan | selftest | all) target="$1"; shift ;; esac
out="${1:-$repo/.tools/emu}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

die() { echo "build.sh: $*" >&2; exit 1; }

check_dependencies() {
    command -v g++ > /dev/null || die "g++ not found (apt-get install -y g++)"
    local major
    major="$(g++ -dumpversion | cut -d. -f1)"
    [ "$major" -ge 12 ] || die "g++ $major found; g++ 12 or newer is required"
    [ -f /usr/include/boost/context/detail/fcontext.hpp ] ||
        die "Boost.Context headers missing (apt-get install -y libboost-context-dev)"
    [ -f "$(g++ -print-file-name=libboost_context.a)" ] || [ -f /usr/lib/x86_64-linux-gnu/libboost_context.a ] ||
        die "libboost_context.a missing (apt-get install -y libboost-context-dev)"
    if [ "$1" = tsan ]; then
        [ -e "$(g++ -print-file-name=libtsan.so)" ] || die "libtsan missing (apt-get install -y libtsan2)"
    fi
}

# -fno-extern-tls-init: kernel code reads the runtime's thread-local fiber pointer
# on every threadIdx access; without it g++ 12 calls a TLS wrapper each time.
common_flags=(-std=c++20 -fPIC -fvisibility=hidden -fno-extern-tls-init -Wall -Wextra -Wno-unused-parameter
    -I "$here/include" -I "$repo/kernels" -I "$here/selftest")

# Each kernel file becomes its own translation unit, wrapped in its own namespace,
# as each is its own NVRTC program on the GPU: helpers of two files (or of a shared
# header included by both) cannot collide at link time. portability.cuh is read
# first, outside the namespace, so every system header is included at global scope.
write_wrapper() {  # source, wrapper path, namespace
    printf '#include "common/portability.cuh"\nnamespace %s {\n#include "%s"\n}  // namespace %s\n' "$3" "$1" "$3" > "$2"
}

build_library() {  # flavour (release|tsan)
    local flavour="$1" obj="$out/obj/$1" lib kernel_flags runtime_flags link_flags
    check_dependencies "$flavour"
    rm -rf "$obj"
    mkdir -p "$obj/wrap"
    if [ "$flavour" = tsan ]; then
        lib="$out/libmixkv_emu_tsan.so"
        # -O1 -g keeps the reported lines exact; the runtime stays uninstrumented and
        # only announces fibers and barriers (runtime/tsan.h).
        kernel_flags=(-O1 -g -fsanitize=thread -Wno-tsan)
        runtime_flags=(-O2 -g -DMIXKV_EMU_TSAN)
        link_flags=(-fsanitize=thread)
    else
        lib="$out/libmixkv_emu.so"
        kernel_flags=(-O2 -g)
        runtime_flags=(-O2 -g)
        link_flags=()
    fi
    local -a pids=() objects=()
    local src name
    for src in "$here"/runtime/*.cpp; do
        name="runtime_$(basename "$src" .cpp)"
        g++ "${common_flags[@]}" "${runtime_flags[@]}" -I "$here/runtime" -c "$src" -o "$obj/$name.o" &
        pids+=($!)
        objects+=("$obj/$name.o")
    done
    shopt -s nullglob
    for src in "$repo"/kernels/*.cu "$here"/selftest/*.cu; do
        case "$src" in "$here"/selftest/*) name="selftest_$(basename "$src" .cu)" ;; *) name="kernel_$(basename "$src" .cu)" ;; esac
        write_wrapper "$src" "$obj/wrap/$name.cpp" "mixkv_tu_$name"
        # -Werror on the .cu sources (not the runtime): a warning there is a GPU-only construct g++
        # ignores or a real defect, and as a warning it scrolled past in every build (the gather's
        # raw `#pragma unroll 1` for a whole session; portability.cuh has the macros instead).
        g++ "${common_flags[@]}" "${kernel_flags[@]}" -Werror -x c++ -c "$obj/wrap/$name.cpp" -o "$obj/$name.o" &
        pids+=($!)
        objects+=("$obj/$name.o")
    done
    shopt -u nullglob
    local failed=0 pid
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    [ "$failed" = 0 ] || die "compilation failed ($flavour)"
    # Boost.Context is linked statically (its objects are PIC) and not re-exported,
    # so the library needs nothing at run time beyond libstdc++ (and libtsan for tsan).
    g++ -shared -o "$lib" "${objects[@]}" "${link_flags[@]}" -pthread -Wl,-z,defs -Wl,--exclude-libs,ALL \
        -Wl,-Bstatic -lboost_context -Wl,-Bdynamic
    echo "built $lib"
}

build_selftest() {  # flavour
    local flavour="$1" exe flags lib
    if [ "$flavour" = tsan ]; then
        exe="$out/mixkv_emu_selftest_tsan"; lib=mixkv_emu_tsan; flags=(-O1 -g -fsanitize=thread)
    else
        exe="$out/mixkv_emu_selftest"; lib=mixkv_emu; flags=(-O2 -g)
    fi
    g++ -std=c++20 -Wall -Wextra "${flags[@]}" -I "$here/include" -I "$here/selftest" "$here"/selftest/*.cpp \
        -o "$exe" -L "$out" -l"$lib" -Wl,-rpath,"$out" -pthread
    echo "built $exe"
}

run_selftests() {
    "$out/mixkv_emu_selftest"
    # TSan: correct kernels must give no report; the planted race must be reported
    # with its source line. Few workers: TSan counts every fiber as a thread.
    local log="$out/tsan_race.log"
    TSAN_OPTIONS="halt_on_error=0 exitcode=66" "$out/mixkv_emu_selftest_tsan" --tsan-clean ||
        die "ThreadSanitizer reported on correct kernels (or a test failed)"
    echo "tsan: correct kernels, no reports"
    local status=0
    TSAN_OPTIONS="halt_on_error=0 exitcode=66" "$out/mixkv_emu_selftest_tsan" --tsan-race 2> "$log" || status=$?
    [ "$status" = 66 ] || die "ThreadSanitizer did not report the planted race (exit $status, log $log)"
    grep -q "race.cu:" "$log" || die "ThreadSanitizer report does not name race.cu (log $log)"
    echo "tsan: planted race reported, $(grep -c 'WARNING: ThreadSanitizer: data race' "$log") report(s); lines:"
    grep -o "selftest/race.cu:[0-9]*" "$log" | sort | uniq -c | sed 's/^/    /'
}

case "$target" in
    release) build_library release ;;
    tsan) build_library tsan ;;
    all) build_library release; build_library tsan ;;
    selftest)
        build_library release
        build_library tsan
        build_selftest release
        build_selftest tsan
        run_selftests
        ;;
esac
