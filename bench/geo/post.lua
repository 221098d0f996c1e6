-- wrk script for bench/geo.sh: POSTs the JSON body in the file $BODY (with the Authorization
-- header $AUTH when set), and ends with one machine-readable line:
--   RESULT <requests> <requests/s> <p50 ms> <p99 ms> <errors>
-- where errors are socket errors, timeouts and non-2xx answers.

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("AUTH")
if auth and auth ~= "" then
  wrk.headers["Authorization"] = auth
end
local file = assert(io.open(os.getenv("BODY"), "rb"))
wrk.body = file:read("*a")
file:close()

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %.1f %.2f %.2f %d\n",
    summary.requests,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout))
end
