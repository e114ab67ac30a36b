#!/usr/bin/env bash
# Proxy benchmark: this project's proxy against nginx (and HAProxy, and the
# published Pingora crate when they are available, and a minimal tokio proxy as
# the floor of what a tokio proxy costs), all in front of the same nginx backend,
# measured with wrk in interleaved rounds on 127.0.0.1.
#
# Usage: benches/proxy/run.sh            (see benches/proxy/README.md)
# Knobs (environment):
#   BENCH_SECONDS=10     length of one measured cell
#   BENCH_ROUNDS=3       rounds; every round visits every cell, in a rotated order
#   BENCH_WORKERS="1 2"  worker counts for the proxies under test
#   BENCH_WORK_STEALING=1  ours and Pingora: 1 = one work-stealing tokio runtime (the
#                        servers' default), 0 = one single-threaded runtime per worker
#                        (work_stealing: false, like nginx's process per core)
#   BENCH_SCENARIOS="ka-small ka-16k close"
#   BENCH_TARGETS="direct nginx ours haproxy pingora floor"   (unavailable ones are skipped)
#   WRK_THREADS=2 WRK_CONNECTIONS=64
#   BACKEND_WORKERS=1    nginx worker processes of the backend
#   BENCH_OUT=dir        where to keep configs, logs and results.tsv (default: a new temp dir)
#   CARGO_TARGET_DIR     as for cargo; our proxy is built with `cargo build --release`
#   BENCH_SKIP_BUILD=1   use already built binaries
#   UPSTREAM_PINGORA=0   do not build/run the published-Pingora baseline
#   FLOOR_TARGET_DIR     where floor-tokio/ is built (default floor-tokio/target)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

SECONDS_PER_CELL=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
WORKERS=${BENCH_WORKERS:-"1 2"}
WORK_STEALING=${BENCH_WORK_STEALING:-1}
SCENARIOS=${BENCH_SCENARIOS:-"ka-small ka-16k close"}
WANT_TARGETS=${BENCH_TARGETS:-"direct nginx ours haproxy pingora floor"}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-64}
BACKEND_WORKERS=${BACKEND_WORKERS:-1}
WARMUP_SECONDS=${BENCH_WARMUP_SECONDS:-1}
CLK_TCK=$(getconf CLK_TCK)

# shellcheck source=common.sh
source "$HERE/common.sh"

ensure_cmd wrk wrk
NGINX=$(command -v nginx || true); [ -n "$NGINX" ] || { ensure_cmd nginx nginx; NGINX=$(command -v nginx); }
HAVE_HAPROXY=0; ensure_cmd haproxy haproxy optional && HAVE_HAPROXY=1
command -v perl >/dev/null || die "perl is required (to find free ports)"

# ---------------------------------------------------------------- workspace
OUT=${BENCH_OUT:-$(mktemp -d /tmp/proxy-bench.XXXXXX)}
mkdir -p "$OUT"
chmod 755 "$OUT"
log "work dir: $OUT"

# --------------------------------------------------------------- binaries
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OURS_BIN=$TARGET_DIR/release/examples/quickstart
HAVE_OURS=0
if [[ " $WANT_TARGETS " == *" ours "* ]]; then
    if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
        log "building our proxy (cargo build --release -p pingora-proxy --example quickstart)"
        (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET_DIR cargo build --release -q -p pingora-proxy --example quickstart >&2) \
            || log "our proxy did not build"
    fi
    [ -x "$OURS_BIN" ] && HAVE_OURS=1 || log "no $OURS_BIN: skipping our proxy"
fi

UP_DIR=$HERE/upstream-pingora
UP_TARGET=${UPSTREAM_PINGORA_TARGET_DIR:-$UP_DIR/target}
UP_BIN=$UP_TARGET/release/upstream-pingora-bench
HAVE_PINGORA=0
if [[ " $WANT_TARGETS " == *" pingora "* ]] && [ "${UPSTREAM_PINGORA:-1}" != 0 ]; then
    if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
        log "building the published-Pingora baseline (separate project, may take minutes the first time)"
        ensure_cmd cmake cmake optional || true # its zlib-ng build script needs cmake
        (cd "$UP_DIR" && CARGO_TARGET_DIR=$UP_TARGET timeout "${UPSTREAM_PINGORA_BUILD_TIMEOUT:-1200}" \
            cargo build --release -q >&2) || log "published Pingora did not build"
    fi
    [ -x "$UP_BIN" ] && HAVE_PINGORA=1 || log "no $UP_BIN: skipping published Pingora"
fi

FLOOR_DIR=$HERE/floor-tokio
FLOOR_TARGET=${FLOOR_TARGET_DIR:-$FLOOR_DIR/target}
FLOOR_BIN=$FLOOR_TARGET/release/floor-tokio-bench
HAVE_FLOOR=0
if [[ " $WANT_TARGETS " == *" floor "* ]]; then
    if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
        log "building the tokio floor (separate project)"
        (cd "$FLOOR_DIR" && CARGO_TARGET_DIR=$FLOOR_TARGET cargo build --release -q >&2) \
            || log "the tokio floor did not build"
    fi
    [ -x "$FLOOR_BIN" ] && HAVE_FLOOR=1 || log "no $FLOOR_BIN: skipping the tokio floor"
fi

# Our proxy: pingora-proxy's quick start example. Runs in the foreground.
# Knobs (see its source): upstream from UPSTREAM, listening address from PROXY_ADDR,
# worker threads from `threads:` of the `-c` config.
start_ours() { # conf.yaml listen upstream
    UPSTREAM=$3 PROXY_ADDR=$2 exec "$OURS_BIN" -c "$1"
}

# ---------------------------------------------------------------- backend
mkdir -p "$OUT/www"
head -c 100 /dev/zero | tr '\0' 's' >"$OUT/www/small"
head -c 16384 /dev/zero | tr '\0' 'b' >"$OUT/www/16k"
chmod -R a+rX "$OUT/www"
BACKEND_PORT=$(free_port)
{
    nginx_common backend "$BACKEND_WORKERS"
    cat <<EOF
http {
$(nginx_http_common backend)
    sendfile on;
    server {
        listen 127.0.0.1:$BACKEND_PORT backlog=4096;
        root $OUT/www;
        location = /nginx_status { stub_status; }
    }
}
EOF
} >"$OUT/backend.conf"
start_nginx backend "$OUT/backend.conf"
BACKEND_PID=$LAST_PID
wait_http "$BACKEND_PORT" || die "backend nginx did not start (see $OUT/backend.error.log)"
log "backend nginx on :$BACKEND_PORT (pid $BACKEND_PID, $BACKEND_WORKERS worker)"

# accepts and requests counters of the backend (stub_status), e.g. "1234 56789"
backend_counters() {
    http_get "$BACKEND_PORT" /nginx_status | awk '/^ *[0-9]+ +[0-9]+ +[0-9]+ *$/ {print $1, $3; exit}'
}

# ---------------------------------------------------------------- targets
declare -A PORT PID
TARGETS=()
add_target() { TARGETS+=("$1"); PORT[$1]=$2; PID[$1]=$3; }

if [[ " $WANT_TARGETS " == *" direct "* ]]; then add_target direct "$BACKEND_PORT" "$BACKEND_PID"; fi

for n in $WORKERS; do
    if [[ " $WANT_TARGETS " == *" nginx "* ]]; then
        port=$(free_port)
        {
            nginx_common "nginx-$n" "$n"
            cat <<EOF
http {
$(nginx_http_common "nginx-$n")
    upstream backend {
        server 127.0.0.1:$BACKEND_PORT;
        keepalive 64;
        keepalive_requests 100000000;
        keepalive_timeout 300s;
    }
    server {
        listen 127.0.0.1:$port backlog=4096;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # The header the quick-start example adds: every proxy does the same work.
            proxy_set_header X-Forwarded-By quickstart;
        }
    }
}
EOF
        } >"$OUT/nginx-$n.conf"
        start_nginx "nginx-$n" "$OUT/nginx-$n.conf"
        add_target "nginx-$n" "$port" "$LAST_PID"
    fi

    if [[ " $WANT_TARGETS " == *" ours "* ]] && [ "$HAVE_OURS" = 1 ]; then
        port=$(free_port)
        stealing=false; [ "$WORK_STEALING" = 1 ] && stealing=true
        printf -- '---\nversion: 1\nthreads: %s\nwork_stealing: %s\n' "$n" "$stealing" >"$OUT/ours-$n.yaml"
        start_ours "$OUT/ours-$n.yaml" "127.0.0.1:$port" "127.0.0.1:$BACKEND_PORT" >"$OUT/ours-$n.out" 2>&1 &
        PIDS+=($!)
        add_target "ours-$n" "$port" "$!"
    fi

    if [[ " $WANT_TARGETS " == *" haproxy "* ]] && [ "$HAVE_HAPROXY" = 1 ]; then
        port=$(free_port)
        cat >"$OUT/haproxy-$n.cfg" <<EOF
global
    nbthread $n
    maxconn 4000
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    option http-keep-alive
    http-reuse always
frontend fe
    bind 127.0.0.1:$port
    default_backend be
backend be
    http-request set-header X-Forwarded-By quickstart
    server s1 127.0.0.1:$BACKEND_PORT
EOF
        haproxy -db -f "$OUT/haproxy-$n.cfg" >"$OUT/haproxy-$n.out" 2>&1 &
        PIDS+=($!)
        add_target "haproxy-$n" "$port" "$!"
    fi

    if [[ " $WANT_TARGETS " == *" pingora "* ]] && [ "$HAVE_PINGORA" = 1 ]; then
        port=$(free_port)
        UPSTREAM=127.0.0.1:$BACKEND_PORT LISTEN=127.0.0.1:$port THREADS=$n WORK_STEALING=$WORK_STEALING \
            "$UP_BIN" >"$OUT/pingora-$n.out" 2>&1 &
        PIDS+=($!)
        add_target "pingora-$n" "$port" "$!"
    fi

    if [[ " $WANT_TARGETS " == *" floor "* ]] && [ "$HAVE_FLOOR" = 1 ]; then
        port=$(free_port)
        UPSTREAM=127.0.0.1:$BACKEND_PORT LISTEN=127.0.0.1:$port THREADS=$n \
            "$FLOOR_BIN" >"$OUT/floor-$n.out" 2>&1 &
        PIDS+=($!)
        add_target "floor-$n" "$port" "$!"
    fi
done

READY=()
for t in "${TARGETS[@]}"; do
    if wait_http "${PORT[$t]}"; then READY+=("$t"); else log "$t did not answer on :${PORT[$t]}: skipping it (see $OUT/$t.*)"; fi
done
TARGETS=("${READY[@]}")
[ "${#TARGETS[@]}" -gt 0 ] || die "nothing to measure"
log "targets: ${TARGETS[*]}"

# --------------------------------------------------------------- measuring
# The process and its children (nginx workers).
proc_tree() { echo "$1"; pgrep -P "$1" || true; }

cpu_ticks() { # pid -> utime+stime of the tree, in clock ticks
    local total=0 p t
    for p in $(proc_tree "$1"); do
        t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || t=0
        total=$((total + ${t:-0}))
    done
    echo "$total"
}

peak_rss_kb() { # pid -> sum of VmHWM over the tree
    local total=0 p k
    for p in $(proc_tree "$1"); do
        k=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null) || k=0
        total=$((total + ${k:-0}))
    done
    echo "$total"
}

scenario_path() {
    case $1 in
        ka-small | close) echo /small ;;
        ka-16k) echo /16k ;;
        *) die "unknown scenario $1" ;;
    esac
}

RESULTS=$OUT/results.tsv
printf 'round\tscenario\ttarget\trequests\tseconds\trps\tp50_us\tp99_us\tcpu_ticks\tclk_tck\tpeak_rss_kb\tsteady_backend_accepts\tsteady_backend_requests\tcell_backend_accepts\tcell_backend_requests\tsock_errors\tbad_status\n' >"$RESULTS"

run_cell() { # round scenario target seconds [record]
    local round=$1 scenario=$2 t=$3 secs=$4 port=${PORT[$3]} pid=${PID[$3]} path
    path=$(scenario_path "$scenario")
    # "close": a new connection per request (wrk reconnects when the server closes).
    local -a extra=()
    [ "$scenario" = close ] && extra=(-H "Connection: close")
    local c0 c1 a0 r0 a1 r1 sa0 sr0 sa1 sr1 wrk_pid
    c0=$(cpu_ticks "$pid"); read -r a0 r0 <<<"$(backend_counters)"
    wrk -t "$WRK_THREADS" -c "$WRK_CONNECTIONS" -d "${secs}s" --timeout 5s "${extra[@]}" \
        -s "$HERE/bench.lua" "http://127.0.0.1:$port$path" >"$OUT/wrk.out" 2>&1 &
    wrk_pid=$!
    WRK_PID=$wrk_pid
    # Steady state: backend counters sampled inside the run, one second away
    # from each end, so pool warm-up and wrk's abrupt stop (it drops in-flight
    # requests, and with them upstream connections) do not count.
    if [ "$secs" -ge 3 ]; then
        sleep 1; read -r sa0 sr0 <<<"$(backend_counters)"
        sleep $((secs - 2)); read -r sa1 sr1 <<<"$(backend_counters)"
    fi
    wait "$wrk_pid" || true
    WRK_PID=
    c1=$(cpu_ticks "$pid"); read -r a1 r1 <<<"$(backend_counters)"
    [ -n "${5:-}" ] || return 0
    local line
    line=$(grep '^WRK_RESULT' "$OUT/wrk.out" || true)
    if [ -z "$line" ]; then
        log "wrk failed on $t/$scenario: $(tail -2 "$OUT/wrk.out" | tr '\n' ' ')"
        return 0
    fi
    # The steady window's own two queries count in the whole cell's figures.
    local q=3
    if [ "$secs" -lt 3 ]; then sa0=$a0 sr0=$r0 sa1=$a1 sr1=$r1 q=1; fi
    local _ req dur p50 p99 serr bad rps
    read -r _ req dur p50 p99 serr bad <<<"$line"
    rps=$(awk -v r="$req" -v d="$dur" 'BEGIN{printf "%.0f", r/(d/1e6)}')
    # Each stub_status query is itself one connection and one request.
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$round" "$scenario" "$t" "$req" "$(awk -v d="$dur" 'BEGIN{printf "%.3f", d/1e6}')" "$rps" "$p50" "$p99" \
        "$((c1 - c0))" "$CLK_TCK" "$(peak_rss_kb "$pid")" "$((sa1 - sa0 - 1))" "$((sr1 - sr0 - 1))" \
        "$((a1 - a0 - q))" "$((r1 - r0 - q))" "$serr" "$bad" >>"$RESULTS"
    log "$(printf 'round %s %-8s %-10s %8s req/s  p99 %6s us  new backend conns %s/%s' "$round" "$scenario" "$t" \
        "$rps" "$p99" "$((sa1 - sa0 - 1))" "$((a1 - a0 - q))")"
}

log "warm-up: ${WARMUP_SECONDS}s per target (fills the upstream pools)"
for t in "${TARGETS[@]}"; do run_cell 0 ka-small "$t" "$WARMUP_SECONDS"; done

ncells=$(( ROUNDS * $(wc -w <<<"$SCENARIOS") * ${#TARGETS[@]} ))
log "measuring $ncells cells of ${SECONDS_PER_CELL}s (~$(( ncells * (SECONDS_PER_CELL + 1) / 60 + 1 )) min)"
for round in $(seq "$ROUNDS"); do
    for scenario in $SCENARIOS; do
        # Rotate the order every round so no target always runs first or last.
        n=${#TARGETS[@]}
        for i in $(seq 0 $((n - 1))); do
            t=${TARGETS[$(( (i + round) % n ))]}
            run_cell "$round" "$scenario" "$t" "$SECONDS_PER_CELL" record
        done
    done
done

# ---------------------------------------------------------------- report
"$HERE/report.sh" "$RESULTS"
log "raw results: $RESULTS"
