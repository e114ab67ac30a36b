# Shell helpers shared by the proxy benchmark scripts (sourced, not run).

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- packages
# Install a Debian package only when its command is missing.
ensure_cmd() { # command package [optional]
    command -v "$1" >/dev/null 2>&1 && return 0
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        log "installing $2 with apt-get"
        if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq >&2 || true; APT_UPDATED=1; fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2 || true
    fi
    command -v "$1" >/dev/null 2>&1 && return 0
    [ "${3:-}" = optional ] && { log "$1 unavailable: skipping it"; return 1; }
    die "$1 is required (Debian package $2)"
}

free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0, Proto => "tcp")
            or die "bind: $!";
        print $s->sockport, "\n";'
}

# One raw HTTP/1.0 GET over bash's /dev/tcp; prints the response.
http_get() { # port path
    local fd
    exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&"$fd"
    timeout 5 cat <&"$fd" || true
    exec {fd}>&-
}

# Waits until the server on the port answers GET /small with 200, polling every 0.1 s.
wait_http() { # port [tries, default 100]
    for _ in $(seq "${2:-100}"); do
        if http_get "$1" /small 2>/dev/null | head -1 | grep -q ' 200 '; then return 0; fi
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------- processes
# Every process a script starts (added to PIDS), stopped by PID on exit. SIGINT is the fast
# shutdown of nginx, HAProxy and Pingora alike (SIGTERM would be graceful).
PIDS=()
WRK_PID=
cleanup() {
    local pid
    [ -n "${WRK_PID:-}" ] && kill -INT "$WRK_PID" 2>/dev/null
    for pid in "${PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- nginx
# Configuration pieces and start-up of the nginx instances; files go to $OUT, the binary is $NGINX.
USER_LINE=""; [ "$(id -u)" = 0 ] && USER_LINE="user root;"

nginx_common() { # name workers
    cat <<EOF
$USER_LINE
worker_processes $2;
pid $OUT/$1.pid;
error_log $OUT/$1.error.log warn;
events { worker_connections 16384; }
EOF
}
nginx_http_common() { # name
    cat <<EOF
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path $OUT/$1.tmp/body;
    proxy_temp_path $OUT/$1.tmp/proxy;
    fastcgi_temp_path $OUT/$1.tmp/fastcgi;
    uwsgi_temp_path $OUT/$1.tmp/uwsgi;
    scgi_temp_path $OUT/$1.tmp/scgi;
EOF
}

start_nginx() { # name conf-file; sets LAST_PID
    mkdir -p "$OUT/$1.tmp"
    "$NGINX" -t -q -e "$OUT/$1.error.log" -p "$OUT" -c "$2" >&2 || die "bad nginx config $2"
    "$NGINX" -e "$OUT/$1.error.log" -p "$OUT" -c "$2" -g 'daemon off;' >"$OUT/$1.out" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}
