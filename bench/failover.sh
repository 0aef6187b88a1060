#!/usr/bin/env bash
# Takeover time of a cluster (engine.cluster): two `tradeengine run` processes on one
# PostgreSQL database and one account on the Bybit simulator; the process trading the account
# is killed with SIGKILL, and the time until the other one has taken the account over and
# finished its first reconciled cycle (its /ready answers 200 naming the account) is measured.
# The killed one is started again as the new standby, and so on, KILLS times (default 20).
# Prints every takeover and the median and max.
#   bench/failover.sh [kills] [binary]
# Needs: cargo build --release --workspace --locked --bin tradeengine; curl; jq; psql; a local
# PostgreSQL (DATABASE_URL names another; the schema `bench_failover` in it is dropped and made).
set -euo pipefail
cd "$(dirname "$0")/.."
KILLS="${1:-20}"
BIN="$(realpath "${2:-./target/release/tradeengine}")"
TTL="${TTL:-15}"
BASE="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
SCHEMA=bench_failover
DIR="$(mktemp -d)"
SIM_PORT="${SIM_PORT:-18390}"
PORTS=(18391 18392)
PIDS=("" "")
cleanup() {
  for p in "${PIDS[@]}" "${SIM:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$DIR"
}
trap cleanup EXIT
psql -q "$BASE" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" -c "CREATE SCHEMA $SCHEMA"
case "$BASE" in *\?*) SEP='&' ;; *) SEP='?' ;; esac
URL="${BASE}${SEP}options=-c%20search_path%3D${SCHEMA}"

"$BIN" venue-sim bybit --port "$SIM_PORT" >"$DIR/sim.log" 2>&1 &
SIM=$!
sleep 1
# The simulator's fixed test keys (see `tradeengine venue-sim --help`).
export TE_SIM_API_KEY="${TE_SIM_API_KEY:-sim-test-key}" TE_SIM_API_SECRET="${TE_SIM_API_SECRET:-sim-test-secret}"

start() { # start NODE
  local n=$1 d="$DIR/n$1"
  mkdir -p "$d"
  cat >"$d/tradeengine.toml" <<TOML
[engine]
mode = "testnet"
drift_check_interval_secs = 1
data_dir = "data"
bind = "127.0.0.1:${PORTS[$n]}"
database_url = "$URL"
hot_reload = false
cluster = true
node_id = "n$n"
lease_ttl_secs = $TTL
[[accounts]]
name = "sim"
venue = "bybit"
base_url = "http://127.0.0.1:$SIM_PORT"
ws_url = "off"
credentials = "env:TE_SIM"
[[symbols]]
symbol = "BTCUSDT"
TOML
  (cd "$d" && TRADEENGINE_LOG=warn exec "$BIN" --config tradeengine.toml run >>"$d/engine.log" 2>&1) &
  PIDS[$n]=$!
}

# Milliseconds since the epoch.
now_ms() { date +%s%3N; }

# Whether NODE trades the account and its first cycle reconciled it.
holds() {
  local body
  body="$(curl -fs "http://127.0.0.1:${PORTS[$1]}/ready" 2>/dev/null)" || return 1
  jq -e '.holds_accounts == ["sim"]' >/dev/null <<<"$body"
}

wait_for() { # wait_for SECONDS CMD...
  local until=$(( $(now_ms) + $1 * 1000 )); shift
  until "$@"; do
    [ "$(now_ms)" -lt "$until" ] || { echo "timed out: $*" >&2; tail -n 30 "$DIR"/n*/engine.log >&2; exit 1; }
    sleep 0.02
  done
}

start 0
wait_for 30 holds 0
start 1
sleep 2
holder=0
times=()
for i in $(seq 1 "$KILLS"); do
  standby=$((1 - holder))
  # The standby must be up (ready, holding nothing) before the holder dies.
  wait_for 30 curl -fs "http://127.0.0.1:${PORTS[$standby]}/ready" -o /dev/null
  t0=$(now_ms)
  kill -9 "${PIDS[$holder]}"
  wait "${PIDS[$holder]}" 2>/dev/null || true
  wait_for 60 holds "$standby"
  t=$(( $(now_ms) - t0 ))
  times+=("$t")
  printf 'kill %2d: n%d -> n%d took over in %d ms\n' "$i" "$holder" "$standby" "$t"
  start "$holder"
  holder=$standby
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
n=${#sorted[@]}
if (( n % 2 )); then median=${sorted[$((n / 2))]}; else median=$(( (sorted[n / 2 - 1] + sorted[n / 2]) / 2 )); fi
echo "takeover (kill -9 -> first reconciled cycle by the new holder), $n kills, lease ${TTL} s: median ${median} ms, max ${sorted[$((n - 1))]} ms"
