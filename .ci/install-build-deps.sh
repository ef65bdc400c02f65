#!/usr/bin/env bash
# Debian packages the CPU runtime for the kernels needs (src/Emulator/build.sh): g++ 12 and
# Boost.Context (libboost-context-dev); libtsan2 comes with g++-12. Installs only what is missing.
set -euo pipefail

missing=()
command -v g++ > /dev/null || missing+=(g++)
[ -f /usr/include/boost/context/detail/fcontext.hpp ] || missing+=(libboost-context-dev)
if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-build-deps: g++ and Boost.Context already present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-build-deps: missing ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi

echo "install-build-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
