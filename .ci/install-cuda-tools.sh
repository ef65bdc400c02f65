#!/usr/bin/env bash
# Installs the CUDA pieces the interop tests need on a machine without a GPU or CUDA install:
# NVRTC 11.8 (+ its builtins), ptxas/cuobjdump/nvdisasm, and a real libcuda.so.1 whose cuInit
# reports CUDA_ERROR_NO_DEVICE. Everything is unpacked with dpkg -x under ROOT (nothing is installed
# system-wide, no system source list is edited), so the script is safe to run on CI and dev boxes.
#
# With --cuda12, CUDA 12.4's NVRTC and tools from Debian 13 (trixie) instead, and no driver library:
# the compiler that knows sm_90a (Hopper's wgmma), which CUDA 11.8 predates. NVIDIA's binaries need
# only glibc, so they run on Debian 12 as well.
#
# Usage: .ci/install-cuda-tools.sh [--cuda12] [ROOT]
#        (default ROOT: <repo>/.tools/cuda, or <repo>/.tools/cuda12 with --cuda12; both git-ignored)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
suite=bookworm
nvrtc_packages=(libnvrtc11.2 libnvrtc-builtins11.8)
driver=1
default_root="$repo/.tools/cuda"
if [[ "${1:-}" == --cuda12 ]]; then
    shift
    suite=trixie
    nvrtc_packages=(libnvrtc12)  # its builtins package carries the minor version: found below
    driver=0
    default_root="$repo/.tools/cuda12"
fi
root="$(realpath -m "${1:-$default_root}")"
libdir="$root/usr/lib/x86_64-linux-gnu"
# Unpacked into a staging folder and moved into place at the end, so ROOT exists only when
# complete and an interrupted run is redone instead of being mistaken for done.
stamp="$root/.installed"
staging="$root.partial"

report() {
    echo "CUDA tools in $root"
    echo "  nvrtc:    $(ls "$libdir"/libnvrtc.so.* 2>/dev/null | head -n1)"
    echo "  builtins: $(ls "$libdir"/libnvrtc-builtins.so.* 2>/dev/null | head -n1)"
    [[ $driver == 0 ]] || echo "  libcuda:  $libdir/libcuda.so.1"
    echo "  ptxas:    $root/usr/bin/ptxas"
    echo "  cuobjdump: $root/usr/bin/cuobjdump (+ nvdisasm)"
    echo "Tests find this folder by MIXKV_CUDA_TOOLS=$root (.tools/cuda also by walking up to it)"
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

# CUDA's NVRTC, the toolkit and the driver library sit in contrib/non-free, which a default Debian
# image does not list. A private source list reaches them without touching /etc/apt.
printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: contrib non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$suite" \
    > "$scratch/parts/nonfree.sources"
apt_opts=(
    -o "Dir::Etc::SourceList=/dev/null"
    -o "Dir::Etc::SourceParts=$scratch/parts"
    -o "Dir::State::Lists=$scratch/lists"
    -o "Dir::Cache=$scratch/cache"
    -o "Debug::NoLocking=1"
)

start=$SECONDS
echo "fetching package lists ($suite contrib non-free)"
apt-get "${apt_opts[@]}" -qq update

packages=("${nvrtc_packages[@]}" nvidia-cuda-toolkit)
if [[ $driver == 0 ]]; then
    builtins="$(apt-cache "${apt_opts[@]}" search --names-only '^libnvrtc-builtins12\.[0-9]+$' | awk 'NR==1{print $1}')"
    [[ -n "$builtins" ]] || { echo "error: no libnvrtc-builtins12.x package in $suite non-free" >&2; exit 1; }
    packages+=("$builtins")
else
    # The driver library's package name has changed between Debian releases (libcuda1,
    # nvidia-libcuda1 ...); ask the private lists which one provides libcuda1 in this suite.
    cuda_pkg=libcuda1
    if ! apt-cache "${apt_opts[@]}" show "$cuda_pkg" >/dev/null 2>&1; then
        cuda_pkg="$(apt-cache "${apt_opts[@]}" search --names-only '^(nvidia-)?libcuda1$' | awk 'NR==1{print $1}')"
        [[ -n "$cuda_pkg" ]] || { echo "error: no libcuda1 package in $suite non-free" >&2; exit 1; }
    fi
    packages+=("$cuda_pkg")
fi

echo "downloading ${packages[*]}"
(cd "$scratch/debs" && apt-get "${apt_opts[@]}" -qq download "${packages[@]}")

rm -rf "$staging"
mkdir -p "$staging"
for package in "${packages[@]}"; do
    if [[ $package == nvidia-cuda-toolkit ]]; then
        # Only the standalone tools are wanted from the toolkit (cuobjdump runs nvdisasm for SASS);
        # they need nothing beyond glibc.
        dpkg-deb --fsys-tarfile "$scratch"/debs/nvidia-cuda-toolkit_*.deb | tar -x -C "$staging" ./usr/bin/ptxas ./usr/bin/cuobjdump ./usr/bin/nvdisasm
    else
        # libcuda1 depends on the rest of the driver stack; the tests only dlopen it to see cuInit
        # fail with CUDA_ERROR_NO_DEVICE, so unpacking it without its dependencies is enough.
        dpkg -x "$scratch"/debs/"${package}"_*.deb "$staging"
    fi
done

# Debian ships libcuda.so.1 under nvidia/current and selects it with update-alternatives at
# install time; a link next to libnvrtc lets the resolver probe one folder.
staged_lib="$staging/usr/lib/x86_64-linux-gnu"
if [[ $driver == 1 && ! -e "$staged_lib/libcuda.so.1" ]]; then
    found="$(find "$staging" -name 'libcuda.so.1' | head -n1)"
    [[ -n "$found" ]] || { echo "error: $cuda_pkg contained no libcuda.so.1" >&2; exit 1; }
    ln -s "$(realpath --relative-to="$staged_lib" "$found")" "$staged_lib/libcuda.so.1"
fi

touch "$staging/.installed"
mv "$staging" "$root"
echo "installed in $((SECONDS - start)) s"
report
