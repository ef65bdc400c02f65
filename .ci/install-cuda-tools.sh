#!/usr/bin/env bash
# Installs the CUDA pieces the interop tests need on a machine without a GPU or CUDA install:
# NVRTC 11.8 (+ its builtins), ptxas/cuobjdump, and a real libcuda.so.1 whose cuInit reports
# CUDA_ERROR_NO_DEVICE. Everything is unpacked with dpkg -x under ROOT (nothing is installed
# system-wide, no system source list is edited), so the script is safe to run on CI and dev boxes.
#
# Usage: .ci/install-cuda-tools.sh [ROOT]     (default ROOT: <repo>/.tools/cuda, git-ignored)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(realpath -m "${1:-$repo/.tools/cuda}")"
libdir="$root/usr/lib/x86_64-linux-gnu"
# Unpacked into a staging folder and moved into place at the end, so ROOT exists only when
# complete and an interrupted run is redone instead of being mistaken for done.
stamp="$root/.installed"
staging="$root.partial"

report() {
    echo "CUDA tools in $root"
    echo "  nvrtc:    $(ls "$libdir"/libnvrtc.so.* 2>/dev/null | head -n1)"
    echo "  builtins: $(ls "$libdir"/libnvrtc-builtins.so.* 2>/dev/null | head -n1)"
    echo "  libcuda:  $libdir/libcuda.so.1"
    echo "  ptxas:    $root/usr/bin/ptxas"
    echo "  cuobjdump: $root/usr/bin/cuobjdump"
    echo "Tests find this folder by walking up to .tools/cuda, or set MIXKV_CUDA_TOOLS=$root"
}

if [[ -f "$stamp" ]]; then
    echo "already installed (remove $root to reinstall)"
    report
    exit 0
fi
if [[ -e "$root" ]] && ! rmdir "$root" 2>/dev/null; then
    # Never delete a folder this script did not create (an empty one is fine to reuse).
    echo "error: $root exists but was not made by this script; remove it or pick another ROOT" >&2
    exit 1
fi

for tool in apt-get dpkg dpkg-deb tar; do
    command -v "$tool" >/dev/null || { echo "error: $tool is required (Debian/Ubuntu only)" >&2; exit 1; }
done

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/parts" "$scratch/lists/partial" "$scratch/cache/archives/partial" "$scratch/debs"
# Run as root, apt downloads as the unprivileged _apt user; it must be able to reach and write
# the download folder, or apt falls back to an unsandboxed download with a warning.
chmod 755 "$scratch"
if [[ $EUID -eq 0 ]] && id _apt >/dev/null 2>&1; then chown _apt "$scratch/debs"; fi

# CUDA 11.8's NVRTC, the toolkit and the driver library sit in contrib/non-free, which a default
# Debian 12 image does not list. A private source list reaches them without touching /etc/apt.
printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: contrib non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    > "$scratch/parts/nonfree.sources"
apt_opts=(
    -o "Dir::Etc::SourceList=/dev/null"
    -o "Dir::Etc::SourceParts=$scratch/parts"
    -o "Dir::State::Lists=$scratch/lists"
    -o "Dir::Cache=$scratch/cache"
    -o "Debug::NoLocking=1"
)

start=$SECONDS
echo "fetching package lists (bookworm contrib non-free)"
apt-get "${apt_opts[@]}" -qq update

# The driver library's package name has changed between Debian releases (libcuda1,
# nvidia-libcuda1 ...); ask the private lists which one provides libcuda1 in this suite.
cuda_pkg=libcuda1
if ! apt-cache "${apt_opts[@]}" show "$cuda_pkg" >/dev/null 2>&1; then
    cuda_pkg="$(apt-cache "${apt_opts[@]}" search --names-only '^(nvidia-)?libcuda1$' | awk 'NR==1{print $1}')"
    [[ -n "$cuda_pkg" ]] || { echo "error: no libcuda1 package in bookworm non-free" >&2; exit 1; }
fi

echo "downloading libnvrtc11.2 libnvrtc-builtins11.8 nvidia-cuda-toolkit $cuda_pkg"
(cd "$scratch/debs" && apt-get "${apt_opts[@]}" -qq download \
    libnvrtc11.2 libnvrtc-builtins11.8 nvidia-cuda-toolkit "$cuda_pkg")

rm -rf "$staging"
mkdir -p "$staging"
dpkg -x "$scratch"/debs/libnvrtc11.2_*.deb "$staging"
dpkg -x "$scratch"/debs/libnvrtc-builtins11.8_*.deb "$staging"
# Only the two standalone tools are wanted from the toolkit; both need nothing beyond glibc.
dpkg-deb --fsys-tarfile "$scratch"/debs/nvidia-cuda-toolkit_*.deb | tar -x -C "$staging" ./usr/bin/ptxas ./usr/bin/cuobjdump
# libcuda1 depends on the rest of the driver stack; the tests only dlopen it to see cuInit fail
# with CUDA_ERROR_NO_DEVICE, so unpacking it without its dependencies is enough.
dpkg -x "$scratch"/debs/"${cuda_pkg}"_*.deb "$staging"

# Debian ships libcuda.so.1 under nvidia/current and selects it with update-alternatives at
# install time; a link next to libnvrtc lets the resolver probe one folder.
staged_lib="$staging/usr/lib/x86_64-linux-gnu"
if [[ ! -e "$staged_lib/libcuda.so.1" ]]; then
    found="$(find "$staging" -name 'libcuda.so.1' | head -n1)"
    [[ -n "$found" ]] || { echo "error: $cuda_pkg contained no libcuda.so.1" >&2; exit 1; }
    ln -s "$(realpath --relative-to="$staged_lib" "$found")" "$staged_lib/libcuda.so.1"
fi

touch "$staging/.installed"
mv "$staging" "$root"
echo "installed in $((SECONDS - start)) s"
report
