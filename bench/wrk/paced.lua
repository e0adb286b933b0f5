-- wrk script: paces the load to roughly a fixed rate (wrk has no
-- constant-rate mode; wrk2 is not packaged in Debian).
--   wrk -c C ... -s paced.lua URL -- <delay_ms>
-- Every connection waits delay_ms between a response and its next request,
-- so it sends one request per (delay_ms + latency) and the whole run offers
-- about C * 1000 / (delay_ms + latency) requests/s. wrk's delay() has 1 ms
-- resolution; random rounding makes the mean delay exact. bench/http_bench.sh
-- picks delay_ms with a short calibration run. Still a closed loop: a stalled
-- server is offered fewer requests (coordinated omission), so the p99 is
-- optimistic under overload — acceptable at the half load it is used for.
-- Latency is measured from when a request is sent, not including the delay.
-- Prints the BENCH line of report.lua.
-- report.lua, beside this script, brings bench_line() and the done() that
-- prints it.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
local delay_ms = 10

function init(args)
  delay_ms = tonumber(args[1]) or delay_ms
  math.randomseed(os.time())
end

function delay()
  local d = delay_ms
  if d <= 0 then return 0 end
  local whole = math.floor(d)
  if math.random() < d - whole then whole = whole + 1 end
  return whole
end

