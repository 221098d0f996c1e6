-- wrk script for bench/write.sh: each request registers a new idle asset (registerIdleAsset)
-- with a code of its own, as the token in $AUTH; $OWNER is the owner's global ID and $RUN a
-- prefix that keeps codes apart between runs. Ends with one machine-readable line:
--   RESULT <requests> <requests/s> <p50 ms> <p99 ms> <errors>
-- where errors are socket errors, timeouts, non-2xx answers and answers with GraphQL errors.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  n = 0
  refused = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = os.getenv("AUTH")
  owner = os.getenv("OWNER")
  run = os.getenv("RUN")
end

function request()
  n = n + 1
  -- A grid of points in 东川镇 白家村, 1e-5° (about a metre) apart: no two alike.
  local lon = 117.16 + (n % 1000) * 1e-5
  local lat = 28.16 + id * 0.001 + math.floor(n / 1000) * 1e-5
  local body = string.format(
    '{"query":"mutation ($i: RegisterIdleAssetInput!) { registerIdleAsset(input: $i) { idleAsset { id } } }",' ..
    '"variables":{"i":{"code":"%s-%d-%d","kind":"IDLE_FARMHOUSE","ownerId":"%s",' ..
    '"longitude":%.6f,"latitude":%.6f,"floorAreaSquareMeters":80}}}',
    run, id, n, owner, lon, lat)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"errors"', 1, true) then
    refused = refused + 1
  end
end

function done(summary, latency, requests)
  local graphql_errors = 0
  for _, t in ipairs(threads) do
    graphql_errors = graphql_errors + t:get("refused")
  end
  local e = summary.errors
  io.write(string.format("RESULT %d %.1f %.2f %.2f %d\n",
    summary.requests,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout + graphql_errors))
end
