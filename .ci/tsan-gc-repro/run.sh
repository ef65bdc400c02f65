#!/usr/bin/env bash
# Runs Program.cs under ThreadSanitizer RUNS times with CoreCLR's thread-suspend injection on, then off,
# and prints each run's outcome. Usage: bash .ci/tsan-gc-repro/run.sh [RUNS] [SECONDS]
set -u
here=$(cd "$(dirname "$0")" && pwd)
runs=${1:-5}
seconds=${2:-10}
dotnet build "$here/TsanGcRepro.csproj" -c Release -o "$here/bin/out" -v q -nologo > /dev/null || exit 1
libtsan=$(g++ -print-file-name=libtsan.so)
for injection in 1 0; do
    for run in $(seq 1 "$runs"); do
        # gen0 of 64 KiB: thousands of collections a second.
        output=$(DOTNET_GCgen0size=10000 DOTNET_INTERNAL_ThreadSuspendInjection=$injection \
            LD_PRELOAD="$libtsan" TSAN_OPTIONS="report_bugs=0" \
            timeout $((seconds * 6)) dotnet "$here/bin/out/TsanGcRepro.dll" "$seconds" 2>&1)
        rc=$?
        # TSan's own fatal errors exit 66; the CLR's abort 134, a SEGV 139.
        if [ $rc -eq 0 ] && echo "$output" | tail -1 | grep -q "^0 mismatched"; then
            outcome=$(echo "$output" | tail -1)
        elif [ $rc -eq 124 ]; then
            outcome="hung (killed after $((seconds * 6)) s)"
        else
            outcome="exit $rc: $(echo "$output" | grep -m1 -vE '^[[:space:]]*(at |#|$)')"  # the first line not a stack frame
        fi
        echo "injection $injection, run $run: $outcome"
    done
done
