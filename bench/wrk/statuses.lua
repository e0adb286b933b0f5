-- wrk script: counts every response by exact status code (a Lua call per
-- response, so it costs some client CPU: used for warm-ups and checks, not
-- for the throughput figures). Prints
--   STATUS code=count ...   and   NON2XX n
-- plus the BENCH line of report.lua.
-- report.lua, beside this script, defines bench_line() (and a done() that
-- this script replaces below).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total, non2xx, parts = {}, 0, {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do
      total[code] = (total[code] or 0) + n
    end
  end
  for code, n in pairs(total) do
    table.insert(parts, string.format("%d=%d", code, n))
    if code < 200 or code > 299 then non2xx = non2xx + n end
  end
  table.sort(parts)
  io.write("STATUS " .. table.concat(parts, " ") .. "\n")
  io.write(string.format("NON2XX %d\n", non2xx))
  io.write(bench_line(summary, latency))
end
