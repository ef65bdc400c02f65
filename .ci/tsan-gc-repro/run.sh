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
            LD_PRELOAD="$libtsan" TSAN_OPTIONS="report_bugs=0 exitcode=0" \
            timeout $((seconds * 6)) dotnet "$here/bin/out/TsanGcRepro.dll" "$seconds" 2>&1)
        rc=$?
        case $rc in
            0) outcome=$(echo "$output" | tail -1) ;;
            124) outcome="hung (killed after $((seconds * 6)) s)" ;;
            *) outcome="exit $rc: $(echo "$output" | grep -m1 -vE '^[[:space:]]*(at |#|$)')" ;;  # the first line not a stack frame
        esac
        echo "injection $injection, run $run: $outcome"
    done
done
