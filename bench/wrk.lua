-- One wrk script for every API workload of bench/api; BENCH_WORKLOAD picks the request.
-- Each thread seeds its own random numbers, so threads do not ask for the same ids in step.
local workload = os.getenv("BENCH_WORKLOAD")
local books = tonumber(os.getenv("BENCH_BOOKS"))
local max_offset = tonumber(os.getenv("BENCH_MAX_OFFSET"))
local authors = tonumber(os.getenv("BENCH_AUTHORS"))
local token = os.getenv("BENCH_TOKEN")

local threads = {}
local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_number", next_thread)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + thread_number)
end

local json = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }

local requests = {
  get_by_id = function()
    return wrk.format("GET", "/api/v1/books/" .. math.random(1, books))
  end,
  list_first_page = function()
    return wrk.format("GET", "/api/v1/books?limit=20")
  end,
  list_deep_offset = function()
    return wrk.format("GET", "/api/v1/books?limit=20&offset=" .. math.random(0, max_offset))
  end,
  list_deep_after_id = function()
    return wrk.format("GET", "/api/v1/books?limit=20&after_id=" .. math.random(0, books))
  end,
  list_q = function()
    -- Titles are "Book <n> ..."; a number's digits match many titles, a whole number few.
    return wrk.format("GET", "/api/v1/books?limit=20&q=" .. math.random(1, books))
  end,
  list_author = function()
    return wrk.format("GET", "/api/v1/books?limit=20&author=Author%20" .. math.random(1, authors))
  end,
  post = function()
    local body = string.format('{"title":"Bench %d","author":"Author %d","price":"%d.%02d"}',
      math.random(1, 1e9), math.random(1, authors), math.random(1, 99), math.random(0, 99))
    return wrk.format("POST", "/api/v1/books", json, body)
  end,
  patch = function()
    local body = string.format('{"price":"%d.%02d"}', math.random(1, 99), math.random(0, 99))
    return wrk.format("PATCH", "/api/v1/books/" .. math.random(1, books), json, body)
  end,
}

request = requests[workload]
if request == nil then
  error("unknown BENCH_WORKLOAD " .. tostring(workload))
end

-- One machine-readable line: requests/s, p50, p99, max (ms), and errors of any kind
-- (connection, read, write, timeout, or an answer that is not 2xx/3xx).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.0f %.2f %.2f %.2f %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.status + e.timeout))
end
