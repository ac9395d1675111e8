-- wrk script for bench/web-load.sh: rotates over a few packages' bug lists (kernel included) and prints
-- the latency percentiles wrk's --latency table lacks (p99.9) in a form the shell script can parse.
local packages = { "kernel", "firefox", "bash", "glibc", "python3", "systemd", "openssl", "httpd" }
local requests = {}
local next_index = 0
local threads_made = 0

-- Runs in the main state: give each thread its own starting package so they do not march in step.
function setup(thread)
  thread:set("offset", threads_made)
  threads_made = threads_made + 1
end

-- args[1]: "page" for the HTML bug pages (/packages/{name}/bugs), "api" for the JSON (/api/packages/{name}/bugs).
function init(args)
  local prefix = (args[1] == "api") and "/api/packages/" or "/packages/"
  for _, name in ipairs(packages) do
    table.insert(requests, wrk.format("GET", prefix .. name .. "/bugs"))
  end
  next_index = (offset or 0) % #requests
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end

function done(summary, latency, requests)
  local function ms(us) return us / 1000.0 end
  io.write(string.format("RESULT requests=%d duration_s=%.2f errors_connect=%d errors_read=%d errors_write=%d errors_timeout=%d non2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, summary.errors.status))
  io.write(string.format("LATENCY p50=%.2f p90=%.2f p99=%.2f p999=%.2f max=%.2f mean=%.2f\n",
    ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(99)),
    ms(latency:percentile(99.9)), ms(latency.max), ms(latency.mean)))
end
