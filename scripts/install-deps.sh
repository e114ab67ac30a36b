#!/usr/bin/env bash
# Installs, from Debian's packages, what building and testing the workspace needs
# beyond a Rust toolchain, when missing: nginx and curl (driven by the end-to-end
# tests), libssl-dev and pkg-config (openssl-sys, built by the `openssl` feature,
# which `--all-features` enables). Used by scripts/test.sh and by CI before clippy.
set -euo pipefail

# Debian package that provides each command the tests run.
declare -A package_for=(
    [nginx]=nginx
    [curl]=curl
    [pkg-config]=pkg-config
)

missing=()
for cmd in "${!package_for[@]}"; do
    if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ]; then
        missing+=("${package_for[$cmd]}")
    fi
done
# OpenSSL's headers and pkg-config file: a library package, not a command.
if ! dpkg -s libssl-dev >/dev/null 2>&1; then
    missing+=(libssl-dev)
fi

if [ ${#missing[@]} -gt 0 ]; then
    echo "installing missing packages: ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then
        sudo=()
    elif command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "error: ${missing[*]} missing and not root; install them and rerun" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    # --no-install-recommends: the tests run the binaries by hand and need no
    # system service around them.
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
