//! PTN-shaped payload builders for tests and benches. Everything is generated here, in code,
//! from the validator's documented shapes
//! (https://github.com/taoshidev/proprietary-trading-network; no fixtures copied from anywhere).
#![allow(dead_code)]

use serde_json::{Value, json};

/// Deterministic SplitMix64, so generated payloads are the same on every run.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

pub const NOW_MS: i64 = 1_750_000_000_000;
pub const DAY_MS: i64 = 86_400_000;

/// The 5-element trade pair array the REST output uses.
pub fn trade_pair(id: &str) -> Value {
    let (display, min, max) = match id {
        "BTCUSD" => ("BTC/USD", 0.01, 0.5),
        "ETHUSD" => ("ETH/USD", 0.01, 0.5),
        "SOLUSD" => ("SOL/USD", 0.01, 0.5),
        _ => ("EUR/USD", 0.1, 5.0),
    };
    json!([id, display, 0.003, min, max])
}

pub fn order(kind: &str, leverage: f64, price: f64, ms: i64) -> Value {
    json!({"order_type": kind, "leverage": leverage, "price": price, "bid": 0.0, "ask": 0.0,
           "slippage": 1e-05, "processed_ms": ms, "order_uuid": format!("o-{ms}"),
           "price_sources": [], "src": 0})
}

/// A closed position: one LONG order and a FLAT close `hours` later, with the given return.
pub fn closed(id: &str, open_ms: i64, hours: i64, ret: f64) -> Value {
    let close_ms = open_ms + hours * 3_600_000;
    json!({
        "miner_hotkey": "hk", "position_uuid": format!("p-{open_ms}"), "trade_pair": trade_pair(id),
        "open_ms": open_ms, "close_ms": close_ms, "is_closed_position": true,
        "position_type": "FLAT", "net_leverage": 0.0, "average_entry_price": 100.0,
        "cumulative_entry_value": 10.0, "realized_pnl": 1.0,
        "current_return": ret, "return_at_close": ret,
        "orders": [order("LONG", 0.1, 100.0, open_ms), order("FLAT", -0.1, 100.0 * ret, close_ms)]
    })
}

/// An open position from the given `(kind, leverage, price)` orders, REST style (`close_ms: 0`).
pub fn open(id: &str, open_ms: i64, orders: &[(&str, f64, f64)], current_return: f64) -> Value {
    let os: Vec<Value> = orders
        .iter()
        .enumerate()
        .map(|(i, (k, l, p))| order(k, *l, *p, open_ms + i as i64 * 60_000))
        .collect();
    let net: f64 = orders.iter().map(|(_, l, _)| l).sum();
    // The validator's own average entry: leverage-weighted over the adds, kept on a reduce.
    let (mut run, mut avg) = (0.0_f64, 0.0_f64);
    for (_, l, p) in orders {
        if run == 0.0 || run.signum() == l.signum() {
            avg = (avg * run.abs() + p * l.abs()) / (run + l).abs();
        }
        run += l;
    }
    json!({
        "miner_hotkey": "hk", "position_uuid": format!("p-{open_ms}"), "trade_pair": trade_pair(id),
        "open_ms": open_ms, "close_ms": 0, "is_closed_position": false,
        "position_type": if net >= 0.0 { "LONG" } else { "SHORT" }, "net_leverage": net,
        "average_entry_price": avg,
        "current_return": current_return, "return_at_close": current_return, "orders": os
    })
}

pub fn miner(thirty_day: f64, positions: Vec<Value>) -> Value {
    json!({"all_time_returns": thirty_day, "thirty_day_returns": thirty_day,
           "n_positions": positions.len(), "percentage_profitable": 0.6, "tier": 100,
           "positions": positions})
}

/// A synthetic validator payload: `miners` miners × `positions` positions each, mostly closed,
/// some open, over BTC/ETH/SOL and a forex pair outside the universe, with partial reduces.
pub fn synthetic_payload(miners: usize, positions: usize, seed: u64) -> Value {
    let mut rng = Rng::new(seed);
    let ids = ["BTCUSD", "ETHUSD", "SOLUSD", "EURUSD"];
    let mut root = serde_json::Map::new();
    for m in 0..miners {
        let mut ps = Vec::with_capacity(positions);
        let mut t = NOW_MS - 92 * DAY_MS + rng.below(DAY_MS as u64) as i64;
        let mut open_assets = [false; 4];
        // Per-miner skill, so some miners pass sirouk/trade-engine's 60 % win-rate filter.
        let skill = 0.03 * rng.unit() - 0.01;
        for _ in 0..positions {
            let a = rng.below(4) as usize;
            t += rng.below((2 * 88 * DAY_MS / positions.max(1) as i64) as u64) as i64 + 60_000;
            let base = [60_000.0, 3_000.0, 150.0, 1.1][a];
            let price = base * (0.9 + 0.2 * rng.unit());
            if !open_assets[a] && rng.below(20) == 0 {
                open_assets[a] = true;
                let side = if rng.below(2) == 0 { 1.0 } else { -1.0 };
                let l1 = side * (0.05 + 0.2 * rng.unit());
                let l2 = side * 0.1 * rng.unit();
                let l3 = -0.5 * l1;
                ps.push(open(
                    ids[a],
                    t,
                    &[
                        (if side > 0.0 { "LONG" } else { "SHORT" }, l1, price),
                        (if side > 0.0 { "LONG" } else { "SHORT" }, l2, price * 1.01),
                        (if side > 0.0 { "SHORT" } else { "LONG" }, l3, price * 1.02),
                    ],
                    0.98 + 0.05 * rng.unit(),
                ));
            } else {
                ps.push(closed(
                    ids[a],
                    t,
                    1 + rng.below(48) as i64,
                    0.97 + 0.05 * rng.unit() + skill,
                ));
            }
        }
        root.insert(
            format!("5Hotkey{m:04}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
            miner(1.0 + 0.3 * rng.unit() - 0.1, ps),
        );
    }
    Value::Object(root)
}
