-- wrk script: POST /v1/score with real generated transactions, one JSON body per line
-- of the file given after `--` (with the query string and API key as the 2nd and 3rd
-- arguments). Written by fraudguard.bench.wrk, which also reads the JSON line printed
-- by done(): wrk's own summary rounds percentiles and has no p95.
--   wrk -t2 -c200 -d20s -s score.lua http://127.0.0.1:PORT -- bodies.jsonl record=false KEY

local bodies = {}
local index = 0
local query = "record=false"
local key = ""

function init(args)
  local path = args[1]
  query = args[2] or query
  key = args[3] or key
  for line in io.lines(path) do
    if #line > 0 then
      bodies[#bodies + 1] = line
    end
  end
  if #bodies == 0 then
    error("no request bodies in " .. tostring(path))
  end
  -- threads start at different offsets so they do not send the same transaction together
  index = math.random(0, #bodies - 1)
end

function request()
  index = index % #bodies + 1
  local headers = { ["Content-Type"] = "application/json", ["x-api-key"] = key }
  return wrk.format("POST", "/v1/score?" .. query, headers, bodies[index])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nFRAUDGUARD_WRK {"requests": %d, "duration_us": %d, "non_2xx": %d, "errors": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
