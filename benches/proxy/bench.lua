-- wrk script for benches/proxy/run.sh: prints one machine-readable line at
-- the end of a run so the driver does not have to parse wrk's human output.
-- Fields: requests, duration (us), p50 (us), p99 (us), socket errors
-- (connect+read+write+timeout), non-2xx/3xx responses.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK_RESULT %d %d %d %d %d %d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
