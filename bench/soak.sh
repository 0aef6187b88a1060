#!/usr/bin/env bash
# Soak: the engine with one paper account and one TradingView source at a steady alert rate,
# every alert moving the target, sampling RSS, CPU, latency and the paper state's size on disk.
#   bench/soak.sh [seconds] [rate] [binary]
# Defaults: 600 s, 200 alerts/s, ./target/release/tradeengine. Needs python3.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-600}"
RATE="${2:-200}"
BIN="${3:-./target/release/tradeengine}"
PORT="${PORT:-18182}"
DIR="$(mktemp -d)"
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$DIR"' EXIT
export TV_SECRET="bench-secret-not-real"
export TRADEENGINE_TV_SECRET="$TV_SECRET"
cat > "$DIR/soak.toml" <<TOML
[engine]
drift_check_interval_secs = 3600
data_dir = "$DIR/data"
bind = "127.0.0.1:$PORT"
hot_reload = false
[[accounts]]
name = "paper"
venue = "paper"
[accounts.paper]
starting_balance = 1000000
[sources.tradingview]
type = "tradingview"
[sources.tradingview.settings]
secret_env = "TRADEENGINE_TV_SECRET"
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = { tradingview = ${WEIGHT:-1.0} }
TOML
TRADEENGINE_LOG=warn "$BIN" --config "$DIR/soak.toml" run > "$DIR/out.txt" 2> "$DIR/err.txt" &
PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
echo "soak: $BIN, ${RATE} alerts/s for ${SECS}s, weight ${WEIGHT:-1.0}"
python3 bench/soak.py --pid "$PID" --port "$PORT" --rate "$RATE" --seconds "$SECS" \
  --window "${WINDOW:-30}" --state-glob "$DIR/data/paper-*"
ORDERS=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from orders').fetchone()[0])" "$DIR/data/tradeengine.sqlite" 2>/dev/null || echo "?")
echo "orders in the store: $ORDERS"
kill -INT "$PID"; wait "$PID" || true
