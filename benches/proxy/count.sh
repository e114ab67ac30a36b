#!/usr/bin/env bash
# Instructions per proxied request, counted with callgrind: our proxy (the `quickstart`
# example, one worker) against nginx as a proxy (one process), both in front of the same nginx
# backend. Unlike run.sh's wall-clock figures the count does not depend on what else the machine
# runs, so it shows a change of a few per cent that run.sh's noise hides; it says nothing about
# system time or wake-ups, which run.sh measures.
#
# Each proxy runs under callgrind twice, serving WARMUP and then WARMUP + REQUESTS keep-alive
# requests (`GET /small?i`, 100-byte body) from one curl connection; the difference divided by
# REQUESTS is the cost of one request at steady state, start-up and connection set-up cancelled.
#
# Usage: benches/proxy/count.sh
# Knobs (environment):
#   COUNT_WARMUP=100 COUNT_REQUESTS=1000
#   COUNT_TARGETS="nginx ours"
#   CARGO_TARGET_DIR     as for cargo; our proxy is built with `cargo build --release`
#   BENCH_SKIP_BUILD=1   use the already built binary
#   BENCH_OUT=dir        where to keep configs, logs and callgrind files (default: a temp dir)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WARMUP=${COUNT_WARMUP:-100}
REQUESTS=${COUNT_REQUESTS:-1000}
WANT_TARGETS=${COUNT_TARGETS:-"nginx ours"}

# shellcheck source=common.sh
source "$HERE/common.sh"

ensure_cmd valgrind valgrind
ensure_cmd curl curl
NGINX=$(command -v nginx || true); [ -n "$NGINX" ] || { ensure_cmd nginx nginx; NGINX=$(command -v nginx); }
command -v perl >/dev/null || die "perl is required (to find free ports)"

OUT=${BENCH_OUT:-$(mktemp -d /tmp/proxy-count.XXXXXX)}
mkdir -p "$OUT/www"
chmod 755 "$OUT"
log "work dir: $OUT"
head -c 100 /dev/zero | tr '\0' 's' >"$OUT/www/small"
chmod -R a+rX "$OUT/www"

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OURS_BIN=$TARGET_DIR/release/examples/quickstart
if [[ " $WANT_TARGETS " == *" ours "* ]] && [ -z "${BENCH_SKIP_BUILD:-}" ]; then
    log "building our proxy (cargo build --release -p pingora-proxy --example quickstart)"
    (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET_DIR cargo build --release -q -p pingora-proxy --example quickstart >&2)
fi

BACKEND_PORT=$(free_port)
{
    nginx_common backend 1
    cat <<CONF
http {
$(nginx_http_common backend)
    server {
        listen 127.0.0.1:$BACKEND_PORT;
        root $OUT/www;
    }
}
CONF
} >"$OUT/backend.conf"
start_nginx backend "$OUT/backend.conf"
wait_http "$BACKEND_PORT" || die "backend nginx did not start (see $OUT/backend.error.log)"

# The total instruction count of a callgrind output file.
total_instructions() { # file
    callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}'
}

# Runs `command...` under callgrind, sends it `n` keep-alive requests on one connection, stops
# it; prints the instructions it executed.
count_run() { # name port n command...
    local name=$1 port=$2 n=$3 pid
    shift 3
    valgrind --tool=callgrind --callgrind-out-file="$OUT/$name.$n.callgrind" "$@" >"$OUT/$name.$n.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    # (Run in a command substitution, which does not inherit the exit trap: stop it here.)
    if ! wait_http "$port" 600; then
        kill -INT "$pid" 2>/dev/null
        die "$name did not start under valgrind (see $OUT/$name.$n.log)"
    fi
    curl -sS --max-time 600 "http://127.0.0.1:$port/small?[1-$n]" >/dev/null
    kill -INT "$pid"
    wait "$pid" || true
    total_instructions "$OUT/$name.$n.callgrind"
}

# Instructions per request of one proxy: the difference of two runs over the extra requests.
count_target() { # name port command...
    local name=$1 port=$2 few many
    shift 2
    few=$(count_run "$name" "$port" "$WARMUP" "$@")
    many=$(count_run "$name" "$port" $((WARMUP + REQUESTS)) "$@")
    echo $(((many - few) / REQUESTS))
}

declare -A RESULT
if [[ " $WANT_TARGETS " == *" nginx "* ]]; then
    port=$(free_port)
    # As in run.sh: upstream keep-alive, and the header the quick-start example adds.
    {
        nginx_common nginx 1
        cat <<CONF
http {
$(nginx_http_common nginx)
    upstream backend {
        server 127.0.0.1:$BACKEND_PORT;
        keepalive 16;
    }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-By quickstart;
        }
    }
}
CONF
    } >"$OUT/nginx.conf"
    mkdir -p "$OUT/nginx.tmp"
    log "counting nginx as a proxy (one process, no master)"
    RESULT[nginx]=$(count_target nginx "$port" "$NGINX" -e "$OUT/nginx.error.log" -p "$OUT" \
        -c "$OUT/nginx.conf" -g 'daemon off; master_process off;')
fi
if [[ " $WANT_TARGETS " == *" ours "* ]]; then
    [ -x "$OURS_BIN" ] || die "no $OURS_BIN"
    port=$(free_port)
    printf -- '---\nversion: 1\nthreads: 1\n' >"$OUT/ours.yaml"
    log "counting our proxy (one worker thread)"
    RESULT[ours]=$(UPSTREAM=127.0.0.1:$BACKEND_PORT PROXY_ADDR=127.0.0.1:$port \
        count_target ours "$port" "$OURS_BIN" -c "$OUT/ours.yaml")
fi

printf '\n| proxy | instructions per request | ÷ nginx |\n|---|---:|---:|\n'
for name in nginx ours; do
    [ -n "${RESULT[$name]:-}" ] || continue
    ratio=-
    [ -n "${RESULT[nginx]:-}" ] && ratio=$(awk -v a="${RESULT[$name]}" -v b="${RESULT[nginx]}" 'BEGIN {printf "%.2f", a / b}')
    printf '| %s | %s | %s |\n' "$name" "${RESULT[$name]}" "$ratio"
done
