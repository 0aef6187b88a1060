//! `GET /v5/market/kline` (public): `category`, `symbol`, `interval` (minutes `1 3 5 15 30 60
//! 120 240 360 720` or `D`/`W`), optional `start`/`end` (ms, on the open time), `limit` (1–1000,
//! default 200). `result.list` rows are `[startTime, open, high, low, close, volume, turnover]`,
//! all strings, **newest first**; the first row is the candle still forming.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::{err, ok};
use crate::Shared;
use crate::form;
use crate::klines::latest;

fn step_ms(interval: &str) -> Option<i64> {
    let minutes: i64 = match interval {
        "D" => 1440,
        "W" => 10_080,
        m => match m.parse().ok()? {
            m @ (1 | 3 | 5 | 15 | 30 | 60 | 120 | 240 | 360 | 720) => m,
            _ => return None,
        },
    };
    Some(minutes * 60_000)
}

pub async fn klines(State(sh): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> Response {
    let q = form::parse(raw.as_deref().unwrap_or_default());
    let symbol = q.get("symbol").cloned().unwrap_or_default();
    let Some(step) = q.get("interval").and_then(|i| step_ms(i)) else {
        return err(&sh, 10001, "Invalid period!");
    };
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 200,
        Some(Ok(l @ 1..=1000)) => l,
        Some(_) => return err(&sh, 10001, "params error: limit must be in [1, 1000]"),
    };
    let now = sh.now_ms();
    let end = q.get("end").and_then(|e| e.parse().ok()).unwrap_or(now);
    let start = q
        .get("start")
        .and_then(|s| s.parse().ok())
        .unwrap_or(end - step * i64::try_from(limit).unwrap_or(1000));
    let candles = sh
        .exchange()
        .history()
        .candles(&symbol, step, start, end, now);
    let Some(candles) = candles else {
        return err(&sh, 10001, "params error: symbol invalid");
    };
    let list: Vec<Value> = latest(candles, limit)
        .iter()
        .rev()
        .map(|c| {
            json!([
                c.open_ms.to_string(),
                c.open.to_string(),
                c.high.to_string(),
                c.low.to_string(),
                c.close.to_string(),
                c.volume.to_string(),
                (c.volume * c.close).to_string()
            ])
        })
        .collect();
    ok(
        &sh,
        json!({"category": "linear", "symbol": symbol, "list": list}),
    )
}
