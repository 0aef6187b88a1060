//! `GET /api/v1/contract/kline/{symbol}` (public): `interval` (`Min1 Min5 Min15 Min30 Min60
//! Hour4 Hour8 Day1 Week1`, default `Min1`), optional `start`/`end` in **seconds**. `data` is
//! **columnar**: `{time, open, close, high, low, vol, amount, realOpen, realClose, realHigh,
//! realLow}`, one array each, numbers, times in seconds, oldest first, at most 2000 rows, the
//! last one still forming. `vol` in contracts.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::render::contract_size;
use super::{err, num, ok, unified};
use crate::Shared;
use crate::form;
use crate::klines::latest;

const MAX_ROWS: i64 = 2000;

fn step_ms(interval: &str) -> Option<i64> {
    Some(match interval {
        "Min1" => 60_000,
        "Min5" => 300_000,
        "Min15" => 900_000,
        "Min30" => 1_800_000,
        "Min60" => 3_600_000,
        "Hour4" => 14_400_000,
        "Hour8" => 28_800_000,
        "Day1" => 86_400_000,
        "Week1" => 604_800_000,
        _ => return None,
    })
}

pub async fn klines(
    State(sh): State<Arc<Shared>>,
    Path(contract): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = form::parse(raw.as_deref().unwrap_or_default());
    let Some(step) = step_ms(q.get("interval").map(String::as_str).unwrap_or("Min1")) else {
        return err(600, "Parameter interval error");
    };
    let now = sh.now_ms();
    let secs = |k: &str| {
        q.get(k)
            .and_then(|s| s.parse::<i64>().ok())
            .map(|s| s * 1000)
    };
    let last = secs("end").unwrap_or(now);
    let first = secs("start").unwrap_or(last - step * (MAX_ROWS - 1));
    let symbol = unified(&contract);
    let ex = sh.exchange();
    let cs = contract_size(&ex, &symbol);
    let Some(mut candles) = ex.history().candles(&symbol, step, first, last, now) else {
        return err(1001, "Contract does not exist!");
    };
    drop(ex);
    candles.retain(|c| c.open_ms >= first);
    let candles = latest(candles, 2000);
    let col = |f: &dyn Fn(&crate::klines::SimCandle) -> Value| -> Value {
        Value::Array(candles.iter().map(f).collect())
    };
    let vol = |c: &crate::klines::SimCandle| {
        if cs.is_zero() {
            c.volume
        } else {
            c.volume / cs
        }
    };
    ok(json!({
        "time": col(&|c| json!(c.open_ms.div_euclid(1000))),
        "open": col(&|c| num(c.open)),
        "close": col(&|c| num(c.close)),
        "high": col(&|c| num(c.high)),
        "low": col(&|c| num(c.low)),
        "vol": col(&|c| num(vol(c))),
        "amount": col(&|c| num(c.volume * c.close)),
        "realOpen": col(&|c| num(c.open)),
        "realClose": col(&|c| num(c.close)),
        "realHigh": col(&|c| num(c.high)),
        "realLow": col(&|c| num(c.low)),
    }))
}
