-- wrk script for the API benchmark: cycles through the seeded app names.
--
--   wrk ... -s bench/api/api.lua URL -- MODE NAMES_FILE API_KEY RUN_ID
--
-- MODE get:   GET /apps/{app}
-- MODE patch: PATCH /apps/{app}/config-vars {"BENCH_COUNTER":"<run id>-<n>"}; the value never
--             repeats (also across runs), so every request is a real change, a new release and
--             a commit.
-- Every answer's status is counted; done() prints one machine-readable line:
--   BENCH requests=N ok=N bad=N first_bad=STATUS errors=N p50_us=N p99_us=N duration_us=N

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local requests_cache = {}
local names = {}
local mode, run_id, headers
local i = 0

function init(args)
  mode = args[1] or "get"
  local file = args[2]
  local key = args[3] or ""
  run_id = args[4] or tostring(os.time())
  for line in io.lines(file) do
    if line ~= "" then names[#names + 1] = line end
  end
  -- Threads start at different names so that they do not hit the same app in lockstep.
  i = (id or 0) * 97
  headers = {
    ["Authorization"] = "Bearer " .. key,
    ["Accept"] = "application/vnd.heroku+json; version=3",
  }
  if mode == "get" then
    for n, name in ipairs(names) do
      requests_cache[n] = wrk.format("GET", "/apps/" .. name, headers)
    end
  else
    headers["Content-Type"] = "application/json"
  end
  ok = 0
  bad = 0
  first_bad = 0
end

function request()
  i = i + 1
  local n = (i % #names) + 1
  if mode == "get" then
    return requests_cache[n]
  end
  local body = '{"BENCH_COUNTER":"' .. run_id .. "-" .. i .. '"}'
  return wrk.format("PATCH", "/apps/" .. names[n] .. "/config-vars", headers, body)
end

function response(status, _, _)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    bad = bad + 1
    if first_bad == 0 then first_bad = status end
  end
end

function done(summary, latency, _)
  local ok_total, bad_total, first = 0, 0, 0
  for _, t in ipairs(threads) do
    ok_total = ok_total + t:get("ok")
    bad_total = bad_total + t:get("bad")
    if first == 0 then first = t:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d ok=%d bad=%d first_bad=%d errors=%d p50_us=%d p99_us=%d duration_us=%d\n",
    summary.requests, ok_total, bad_total, first,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), summary.duration))
end
