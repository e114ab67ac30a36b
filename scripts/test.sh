#!/usr/bin/env bash
# Runs the whole test suite. First installs, from Debian's packages, the
# programs the end-to-end tests drive (nginx, curl), when they are missing.
# Extra arguments go to `cargo test`, e.g. `scripts/test.sh -p pingora-ketama`.
set -euo pipefail

cd "$(dirname "$0")/.."

# Debian package that provides each command the tests run.
declare -A package_for=(
    [nginx]=nginx
    [curl]=curl
)

missing=()
for cmd in "${!package_for[@]}"; do
    if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ]; then
        missing+=("${package_for[$cmd]}")
    fi
done

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

# Debian installs nginx under /usr/sbin, which is not on every user's PATH.
export PATH="$PATH:/usr/sbin"

# --all-features: the facade's `proxy` and `lb` re-exports and the guide pages that use
# them are compiled and run too.
exec cargo test --workspace --all-features "$@"
