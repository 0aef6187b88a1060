-- wrk script: TradingView alerts with a unique event_id each, so every request is parsed,
-- authenticated, validated and stored (none is folded by the duplicate check).
-- The secret comes from the TV_SECRET environment variable.
local secret = os.getenv("TV_SECRET") or "bench-secret"
-- RUN (optional) prefixes every id, so runs against one server never repeat an id.
local run = os.getenv("RUN") or ""
local thread_id = 0
local counter = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("id", thread_id)
end

function request()
  counter = counter + 1
  local size = (counter % 40) + 1
  local direction = (counter % 3 == 0) and "short" or "long"
  local body = string.format(
    '{"secret":"%s","symbol":"BTCUSDT","direction":"%s","action":"buy","size":"%d/100","leverage":"2","event_id":"w%s%d-%d"}',
    secret, direction, size, run, id or 0, counter)
  return wrk.format("POST", "/webhook/tradingview", { ["Content-Type"] = "text/plain" }, body)
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("requests %d, non-2xx or socket errors %d, p50 %.2f ms, p99 %.2f ms\n",
    summary.requests, errors, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
