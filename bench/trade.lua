-- wrk script: petrosa-tradeengine's single-signal `POST /trade` body with a unique signal_id
-- each, so every request is authenticated, parsed, checked and stored (none is a duplicate).
-- The bearer token comes from REST_TOKEN, the price from PRICE (near the feed's, or the price
-- band refuses it).
local token = os.getenv("REST_TOKEN") or "bench-token"
local price = os.getenv("PRICE") or "60000"
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
  local action = (counter % 2 == 0) and "sell" or "buy"
  local qty = string.format("0.%03d", (counter % 40) + 1)
  local body = string.format(
    '{"strategy_id":"bench","symbol":"BTCUSDT","action":"%s","confidence":0.8,"price":%s,"quantity":%s,"signal_id":"t%s%d-%d"}',
    action, price, qty, run, id or 0, counter)
  return wrk.format("POST", "/trade", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("requests %d, non-2xx or socket errors %d, p50 %.2f ms, p99 %.2f ms\n",
    summary.requests, errors, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
