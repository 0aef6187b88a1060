//! `GET /api/v1/kline/query` (public): `symbol` (`XBTUSDTM`), `granularity` in minutes (`1 5 15
//! 30 60 120 240 480 720 1440 10080`), optional `from`/`to` (ms). `data` rows are `[time, open,
//! high, low, close, volume, turnover]` as JSON **numbers**, oldest first, at most 500: from
//! `from` when only it is given, else the latest up to `to` (or now), the last one still forming.
//! Volume in lots.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{err, multiplier, ok, symbol_of};
use crate::Shared;
use crate::form;
use crate::klines::latest;

const MAX_ROWS: i64 = 500;

fn num(d: Decimal) -> Value {
    serde_json::from_str(&d.normalize().to_string()).unwrap_or(Value::Null)
}

pub async fn klines(State(sh): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> Response {
    let q = form::parse(raw.as_deref().unwrap_or_default());
    let minutes: Option<i64> = q.get("granularity").and_then(|g| g.parse().ok());
    let Some(step) = minutes
        .filter(|m| [1, 5, 15, 30, 60, 120, 240, 480, 720, 1440, 10080].contains(m))
        .map(|m| m * 60_000)
    else {
        return err("400100", "Invalid granularity");
    };
    let Some(contract) = q.get("symbol") else {
        return err("400100", "symbol is required");
    };
    let now = sh.now_ms();
    let from: Option<i64> = q.get("from").and_then(|s| s.parse().ok());
    let to: Option<i64> = q.get("to").and_then(|s| s.parse().ok());
    let (first, last, take_first) = match (from, to) {
        (Some(f), None) => (f, f + step * (MAX_ROWS - 1), true),
        (f, t) => {
            let t = t.unwrap_or(now);
            (f.unwrap_or(t - step * (MAX_ROWS - 1)), t, false)
        }
    };
    let symbol = symbol_of(contract);
    let (lot, candles) = {
        let ex = sh.exchange();
        (
            multiplier(&ex, &symbol),
            ex.history().candles(&symbol, step, first, last, now),
        )
    };
    let Some(mut candles) = candles else {
        return err("100001", "Contract does not exist");
    };
    candles.retain(|c| c.open_ms >= first);
    let candles = if take_first {
        candles.into_iter().take(500).collect()
    } else {
        latest(candles, 500)
    };
    let rows: Vec<Value> = candles
        .iter()
        .map(|c| {
            let lots = if lot.is_zero() {
                c.volume
            } else {
                c.volume / lot
            };
            json!([
                c.open_ms,
                num(c.open),
                num(c.high),
                num(c.low),
                num(c.close),
                num(lots),
                num(c.volume * c.close)
            ])
        })
        .collect();
    ok(json!(rows))
}
