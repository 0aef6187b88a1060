#!/usr/bin/env bash
# Webhook throughput, end to end with persistence: the release binary with a paper account and
# a TradingView source on SQLite (synchronous=FULL, group commit), loaded by wrk.
#   bench/webhook.sh [connections] [seconds]
# Needs: cargo build --release -p tradeengine; wrk (Debian package).
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS="${1:-64}"
SECS="${2:-10}"
PORT="${PORT:-18181}"
DIR="$(mktemp -d)"
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$DIR"' EXIT
export TV_SECRET="bench-secret-not-real"
export TRADEENGINE_TV_SECRET="$TV_SECRET"
cat > "$DIR/bench.toml" <<TOML
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
weights = { tradingview = 1.0 }
TOML
TRADEENGINE_LOG=warn ./target/release/tradeengine --config "$DIR/bench.toml" run > "$DIR/out.txt" 2> "$DIR/err.txt" &
PID=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
echo "wrk: 2 threads, $CONNS connections, ${SECS}s"
wrk -t2 -c"$CONNS" -d"${SECS}s" -s bench/webhook.lua "http://127.0.0.1:$PORT" | grep -E "Requests/sec|requests |Latency"
STORED=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from signals').fetchone()[0])" "$DIR/data/tradeengine.sqlite")
echo "signals stored: $STORED"
kill -INT "$PID"; wait "$PID" || true
