-- wrk script: adds nothing per request (no request/response callbacks, so no
-- Lua overhead on the hot path); at the end prints one machine-readable line
-- that bench/http_bench.sh parses:
--   BENCH requests=N duration_us=N rps=X p50_us=N p90_us=N p99_us=N p999_us=N max_us=N
--         err_connect=N err_read=N err_write=N err_timeout=N err_status=N
-- err_status is wrk's own count of responses with a status >= 400.
--
-- Authenticated endpoints: with BENCH_BEARER_TOKEN in the environment, every
-- request carries "Authorization: Bearer <token>" (GET /v1/me):
--   BENCH_BEARER_TOKEN=... wrk ... -s report.lua http://127.0.0.1:PORT/v1/me
-- The header is added to wrk.headers once, when the script loads, so wrk
-- still builds one static request (no Lua per request); paced.lua and
-- statuses.lua load this file and so send it too. The token comes from the
-- environment rather than -H so that it shows neither in `ps` nor in the
-- command lines bench/http_bench.sh keeps.
local bearer = os.getenv("BENCH_BEARER_TOKEN")
if bearer and bearer ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. bearer
end

-- The BENCH line, shared by paced.lua and statuses.lua (they load this file).
function bench_line(summary, latency)
  local e = summary.errors
  return string.format(
    "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_timeout=%d err_status=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max,
    e.connect, e.read, e.write, e.timeout, e.status)
end

function done(summary, latency, requests)
  io.write(bench_line(summary, latency))
end
