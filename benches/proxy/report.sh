#!/usr/bin/env bash
# Summarises a results.tsv written by run.sh: medians over rounds, ratios to
# nginx at the same worker count, and the targets for our proxy.
# Usage: benches/proxy/report.sh results.tsv
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 results.tsv" >&2; exit 2; }

awk -F'\t' '
function median(key, n,    i, j, v, a) {
    for (i = 1; i <= n; i++) a[i] = vals[key, i]
    for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function add(metric, s, t, v,    k) {
    k = metric SUBSEP s SUBSEP t
    cnt[k]++; vals[k, cnt[k]] = v
}
function workers(t) { return (t ~ /-[0-9]+$/) ? substr(t, match(t, /[0-9]+$/)) : "" }
function fmt_ratio(x) { return (x == "") ? "-" : sprintf("%.2f", x) }
NR == 1 { next }
{
    s = $2; t = $3
    if (!(s in seen_s)) { seen_s[s] = 1; scen[++ns] = s }
    if (!(t in seen_t)) { seen_t[t] = 1; targ[++nt] = t }
    add("rps", s, t, $6); add("p50", s, t, $7); add("p99", s, t, $8)
    req[s, t] += $4; ticks[s, t] += $9; tck = $10
    if ($11 > rss[t]) rss[t] = $11
    acc[s, t] += $12; breq[s, t] += $13; cacc[s, t] += $14; cbreq[s, t] += $15; errs[s, t] += $16 + $17
}
END {
    printf "\nMedians over rounds; CPU = proxy process CPU seconds per 100k requests (direct: the backend);\n"
    printf "reuse = share of proxied requests that did not open a backend connection, at steady state\n(the cell minus its first and last second; (cell) = the whole cell, including wrk start and stop); x-nginx = ratio to nginx with the same workers.\n\n"
    # Canonical order: direct, then per worker count nginx, ours, haproxy, pingora, floor.
    for (j = 1; j <= nt; j++) {
        t = targ[j]; w = workers(t); b = t; sub(/-[0-9]+$/, "", b)
        rank[t] = (t == "direct") ? 0 : w * 10 + ((b == "nginx") ? 1 : (b == "ours") ? 2 : (b == "haproxy") ? 3 : (b == "pingora") ? 4 : 5)
    }
    for (i = 2; i <= nt; i++) { v = targ[i]; for (j = i - 1; j >= 1 && rank[targ[j]] > rank[v]; j--) targ[j + 1] = targ[j]; targ[j + 1] = v }
    for (i = 1; i <= ns; i++) for (j = 1; j <= nt; j++) {
        s = scen[i]; t = targ[j]; k = s SUBSEP t
        if (!(("rps" SUBSEP k) in cnt)) continue
        n = cnt["rps" SUBSEP k]
        M[s, t, "rps"] = median("rps" SUBSEP k, n); M[s, t, "p50"] = median("p50" SUBSEP k, n)
        M[s, t, "p99"] = median("p99" SUBSEP k, n)
        M[s, t, "cpu"] = (req[s, t] > 0) ? ticks[s, t] / tck / req[s, t] * 100000 : 0
        M[s, t, "reuse"] = (t == "direct" || breq[s, t] <= 0) ? "-" : sprintf("%.3f", 100 * (1 - acc[s, t] / breq[s, t]))
        M[s, t, "creuse"] = (t == "direct" || cbreq[s, t] <= 0) ? "-" : sprintf("%.2f", 100 * (1 - cacc[s, t] / cbreq[s, t]))
    }
    printf "| scenario | target | req/s | p50 ms | p99 ms | CPU s/100k | peak RSS MB | reuse %% | reuse %% (cell) | errors | req/s x-nginx | p99 x-nginx | CPU x-nginx |\n"
    printf "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    for (i = 1; i <= ns; i++) for (j = 1; j <= nt; j++) {
        s = scen[i]; t = targ[j]
        if (!((s, t, "rps") in M)) continue
        rr = rp = rc = ""
        w = workers(t); base = "nginx-" w
        if (w != "" && t != base && ((s, base, "rps") in M) && M[s, base, "rps"] > 0) {
            rr = M[s, t, "rps"] / M[s, base, "rps"]
            rp = (M[s, base, "p99"] > 0) ? M[s, t, "p99"] / M[s, base, "p99"] : ""
            rc = (M[s, base, "cpu"] > 0) ? M[s, t, "cpu"] / M[s, base, "cpu"] : ""
        }
        R[s, t, "rps"] = rr; R[s, t, "p99"] = rp; R[s, t, "cpu"] = rc
        printf "| %s | %s | %.0f | %.2f | %.2f | %.2f | %.1f | %s | %s | %d | %s | %s | %s |\n", s, t, M[s, t, "rps"], M[s, t, "p50"] / 1000, M[s, t, "p99"] / 1000, M[s, t, "cpu"], rss[t] / 1024, M[s, t, "reuse"], M[s, t, "creuse"], errs[s, t], fmt_ratio(rr), fmt_ratio(rp), fmt_ratio(rc)
    }
    printf "\nTargets for our proxy (same run, same worker count as nginx): req/s >= nginx, p99 <= nginx, CPU/request <= nginx, reuse >= 99.9%%\n\n"
    printf "| scenario | target | req/s | p99 | CPU | reuse |\n|---|---|---|---|---|---|\n"
    for (i = 1; i <= ns; i++) for (j = 1; j <= nt; j++) {
        s = scen[i]; t = targ[j]
        if (t !~ /^ours-/ || !((s, t, "rps") in R) || R[s, t, "rps"] == "") continue
        printf "| %s | %s | %s (%.2f) | %s (%.2f) | %s (%.2f) | %s (%s%%) |\n", s, t, \
            (R[s, t, "rps"] >= 1) ? "met" : "MISSED", R[s, t, "rps"], \
            (R[s, t, "p99"] <= 1) ? "met" : "MISSED", R[s, t, "p99"], \
            (R[s, t, "cpu"] <= 1) ? "met" : "MISSED", R[s, t, "cpu"], \
            (M[s, t, "reuse"] != "-" && M[s, t, "reuse"] + 0 >= 99.9) ? "met" : "MISSED", M[s, t, "reuse"]
    }
}' "$1"
