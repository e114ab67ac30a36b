#!/usr/bin/env bash
# Runs the whole test suite. First installs, from Debian's packages, what is
# missing of the programs the end-to-end tests drive (nginx, curl) and of what
# the `openssl` feature builds with (libssl-dev, pkg-config): scripts/install-deps.sh.
# Extra arguments go to `cargo test`, e.g. `scripts/test.sh -p pingora-ketama`.
set -euo pipefail

cd "$(dirname "$0")/.."

scripts/install-deps.sh

# Debian installs nginx under /usr/sbin, which is not on every user's PATH.
export PATH="$PATH:/usr/sbin"

# --all-features: the facade's `proxy` and `lb` re-exports, the TLS tests (`openssl`) and
# the guide pages that use them are compiled and run too.
exec cargo test --workspace --all-features "$@"
