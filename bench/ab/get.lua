-- wrk script for bench/ab.sh: GETs the URL given (headers from -H), and ends with one
-- machine-readable line, as bench/geo/post.lua does:
--   RESULT <requests> <requests/s> <p50 ms> <p99 ms> <errors>

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %.1f %.2f %.2f %d\n",
    summary.requests,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout))
end
