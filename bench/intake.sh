#!/usr/bin/env bash
# Intake throughput side by side: GET /health (the HTTP ceiling), the TradingView webhook and
# POST /trade, each at 1, 8, 64 and 256 connections against one server (release binary, one
# paper account, SQLite on disk with synchronous=FULL), and after every run the signals stored
# against the 2xx answers counted.
#   bench/intake.sh [seconds per run] [binary]
# Needs: cargo build --release --workspace --locked --bin tradeengine; wrk; python3.
# STORE=postgres runs the same on PostgreSQL: a fresh database `bench_intake` on the local
# server (dropped and created; DATABASE_URL names another), so no other test's rows are counted.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-10}"
BIN="${2:-./target/release/tradeengine}"
PORT="${PORT:-18183}"
CONNS="${CONNS:-1 8 64 256}"
DIR="$(mktemp -d)"
trap 'kill "$PID" 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$DIR"' EXIT
export TV_SECRET="bench-secret-not-real" REST_TOKEN="bench-token-not-real-0123456789abcdef"
export TRADEENGINE_TV_SECRET="$TV_SECRET" TRADEENGINE_REST_TOKEN="$REST_TOKEN"
DB_LINE=""
PG_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bench_intake}"
if [ "${STORE:-sqlite}" = "postgres" ]; then
  if [ -z "${DATABASE_URL:-}" ]; then
    psql -q "postgres://postgres@127.0.0.1:5432/postgres" -c "DROP DATABASE IF EXISTS bench_intake" -c "CREATE DATABASE bench_intake"
  fi
  DB_LINE="database_url = \"$PG_URL\""
fi
cat > "$DIR/bench.toml" <<TOML
[engine]
drift_check_interval_secs = 3600
data_dir = "$DIR/data"
bind = "127.0.0.1:$PORT"
hot_reload = false
$DB_LINE
[[accounts]]
name = "paper"
venue = "paper"
[accounts.paper]
starting_balance = 1000000
[sources.tradingview]
type = "tradingview"
[sources.tradingview.settings]
secret_env = "TRADEENGINE_TV_SECRET"
[sources.api]
type = "rest"
allow_add = true                  # every buy and sell is applied (adds and reductions), none refused
cooling_minutes = 0
[sources.api.settings]
token_env = "TRADEENGINE_REST_TOKEN"
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = { tradingview = 0.5, api = 0.5 }
TOML
TRADEENGINE_LOG=warn "$BIN" --config "$DIR/bench.toml" run > "$DIR/out.txt" 2> "$DIR/err.txt" &
PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || { echo "the server did not start:"; cat "$DIR/err.txt"; exit 1; }
PRICE=$(curl -sf -H "Authorization: Bearer $REST_TOKEN" "http://127.0.0.1:$PORT/price/BTCUSDT" \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("price") or d.get("mark_price") or 60000)' 2>/dev/null || echo 60000)
export PRICE
count() {
  if [ "${STORE:-sqlite}" = "postgres" ]; then
    psql -tA "$PG_URL" -c "select count(*) from $1"
  else
    python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from ' + sys.argv[2]).fetchone()[0])" "$DIR/data/tradeengine.sqlite" "$1"
  fi
}
run() { # name path script conns
  local before after out
  before=$(count signals); refused_before=$(count refused_signals)
  export RUN="$1$4-"
  if [ -n "$3" ]; then
    out=$(wrk -t"$(( $4 < 2 ? $4 : 2 ))" -c"$4" -d"${SECS}s" -s "$3" "http://127.0.0.1:$PORT$2" | grep -E "Requests/sec|^requests ")
  else
    out=$(wrk -t"$(( $4 < 2 ? $4 : 2 ))" -c"$4" -d"${SECS}s" --latency "http://127.0.0.1:$PORT$2" | grep -E "Requests/sec|^ +50%|^ +99%")
  fi
  after=$(count signals); refused_after=$(count refused_signals)
  echo "$1 c=$4: $(echo "$out" | tr '\n' ' ' | tr -s ' ') | signals stored $((after - before)), refused $((refused_after - refused_before))"
}
echo "intake: $BIN, ${SECS}s per run, store ${STORE:-sqlite}, price $PRICE, load $(cut -d' ' -f1-3 /proc/loadavg)"
for c in $CONNS; do
  run health /health "" "$c"
  run webhook /webhook/tradingview bench/webhook.lua "$c"
  run trade /trade bench/trade.lua "$c"
done
kill -INT "$PID"; wait "$PID" || true
grep -iE "error|refus" "$DIR/err.txt" | head -5 || true
