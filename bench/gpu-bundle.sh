#!/usr/bin/env bash
# Prepares bench/gpu-check.sh for a GPU machine that has a driver but no .NET SDK (and no network):
# builds the test projects as self-running executables (NUnit's Microsoft.Testing.Platform runner,
# tests/Directory.Build.props), the mixkv CLI and the benchmarks, and packs the .NET runtime they
# need, into one archive (about 45 MB) in one folder to copy beside the checkout there:
#
#   bench/gpu-bundle.sh                       # here: writes artifacts/gpu-bundle
#   bench/gpu-bundle.sh --baseline REV        # also the mixkv CLI of commit REV, for gpu-check.sh's A/B
#   bench/gpu-check.sh --bundle artifacts/gpu-bundle   # there
#
# The build happens in a scratch copy of the working tree, so the self-hosted test builds never share
# obj/ with the `dotnet test` ones.
set -euo pipefail
cd "$(dirname "$0")/.."
baseline=""
if [ "${1:-}" = --baseline ]; then
    baseline="$(git rev-parse --verify "${2:?gpu-bundle.sh: --baseline needs a commit}^{commit}")" || exit 2
    shift 2
fi
out="${1:-artifacts/gpu-bundle}"
[[ "$out" = /* ]] || out="$(pwd)/$out"
dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
runtime="$(ls -d "$dotnet_root"/shared/Microsoft.NETCore.App/10.* | sort -V | tail -n 1)"
[ -d "$runtime" ] || { echo "gpu-bundle.sh: no .NET 10 runtime under $dotnet_root/shared" >&2; exit 1; }

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# Tracked and untracked-but-not-ignored files: what the checkout holds now, build outputs left out.
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$scratch" 2> /dev/null || true
rm -rf "$out" && mkdir -p "$out"
stage="$scratch/.bundle"

build() { dotnet build "$scratch/$1" -c Release -v quiet -nologo -o "$stage/$2" "${@:3}"; }
build tests/MixKV.Tests tests/MixKV.Tests -p:MixKVSelfHostedTests=true
build tests/MixKV.Interop.Tests tests/MixKV.Interop.Tests -p:MixKVSelfHostedTests=true
build src/MixKV.Cli cli
build bench/MixKV.Bench.csproj bench

# The runtime alone (host, fxr, Microsoft.NETCore.App): enough for `dotnet X.dll`, no SDK.
mkdir -p "$stage/dotnet"
(cd "$dotnet_root" && tar -cf - dotnet host "shared/Microsoft.NETCore.App/$(basename "$runtime")") | tar -xf - -C "$stage/dotnet"
{ git rev-parse HEAD; git status --porcelain; } > "$stage/commit.txt"
if [ -n "$baseline" ]; then
    # The mixkv CLI of another commit (its kernels embedded), which gpu-check.sh times beside this
    # tree's in the same run: a whole build, so the two may differ in kernels, params and launches.
    mkdir -p "$scratch/.baseline-tree"
    git archive "$baseline" | tar -x -C "$scratch/.baseline-tree"
    dotnet build "$scratch/.baseline-tree/src/MixKV.Cli" -c Release -v quiet -nologo -o "$stage/baseline/cli"
    git log -1 --format='%H %s' "$baseline" > "$stage/baseline/commit.txt"
fi
tar -cf - -C "$stage" . | xz -T0 -6 > "$out/bundle.tar.xz"
du -sh "$out/bundle.tar.xz"
