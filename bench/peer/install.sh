#!/usr/bin/env bash
# Installs the peer benchmark's dependencies (Debian bookworm): PyTorch 1.13 for the system
# python3.11 and OpenBLAS (pthread build). Without libopenblas0-pthread torch falls back to the
# generic reference BLAS (~6 GFLOP/s sgemm instead of ~180 on 2 threads) and every comparison
# against it would flatter us. Idempotent: installs only what is missing.
#
#   bench/peer/install.sh
set -euo pipefail

packages=(python3-torch libopenblas0-pthread)
missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    as_root=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo > /dev/null || { echo "error: need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1; }
        as_root=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" apt-get update -q
    "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The Debian package is for the system interpreter; a pyenv/venv `python3` on PATH would not see it.
if ! /usr/bin/python3.11 -c 'import torch' 2> /dev/null; then
    echo "error: /usr/bin/python3.11 cannot import torch after installing python3-torch" >&2
    exit 1
fi
echo "peer ready: $(/usr/bin/python3.11 -c 'import torch; print("torch", torch.__version__)'), $(dpkg-query -W -f='${Package} ${Version}' libopenblas0-pthread)"
