//! `GET /fapi/v1/klines` (public, weight by `limit`): `symbol`, `interval` (`1m 3m 5m 15m 30m 1h
//! 2h 4h 6h 8h 12h 1d`), optional `startTime`/`endTime` (ms), `limit` (1–1500, default 500). A
//! bare array of `[openTime, open, high, low, close, volume, closeTime, quoteVolume, trades,
//! takerBuyBase, takerBuyQuote, "0"]`, times as numbers, **oldest first**; with `startTime`
//! the first `limit` from there, else the latest `limit` up to `endTime` (or now), the last one
//! still forming.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{bad, weight, with_weight};
use crate::Shared;
use crate::form;
use crate::klines::latest;

fn step_ms(interval: &str) -> Option<i64> {
    let (n, unit) = interval.split_at(interval.len().checked_sub(1)?);
    let n: i64 = n.parse().ok()?;
    let ms = match (n, unit) {
        (1 | 3 | 5 | 15 | 30, "m") => n * 60_000,
        (1 | 2 | 4 | 6 | 8 | 12, "h") => n * 3_600_000,
        (1, "d") => 86_400_000,
        _ => return None,
    };
    Some(ms)
}

pub async fn klines(State(sh): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> Response {
    let q = form::parse(raw.as_deref().unwrap_or_default());
    let w = weight("GET", "/fapi/v1/klines", &q);
    with_weight(&sh, answer(&sh, &q), w)
}

fn answer(sh: &Shared, q: &std::collections::BTreeMap<String, String>) -> Response {
    let Some(step) = q.get("interval").and_then(|i| step_ms(i)) else {
        return bad(-1120, "Invalid interval.");
    };
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 500,
        Some(Ok(l @ 1..=1500)) => l,
        Some(_) => return bad(-1130, "Data sent for parameter 'limit' is not valid."),
    };
    let n = i64::try_from(limit).unwrap_or(1500);
    let now = sh.now_ms();
    let start: Option<i64> = q.get("startTime").and_then(|s| s.parse().ok());
    let end: Option<i64> = q.get("endTime").and_then(|s| s.parse().ok());
    let symbol = q.get("symbol").cloned().unwrap_or_default();
    let (from, to) = match (start, end) {
        (Some(s), e) => (s, e.unwrap_or(s + step * n).min(s + step * (n - 1))),
        (None, e) => {
            let to = e.unwrap_or(now);
            (to - step * (n - 1), to)
        }
    };
    let Some(candles) = sh
        .exchange()
        .history()
        .candles(&symbol, step, from, to, now)
    else {
        return bad(-1121, "Invalid symbol.");
    };
    let rows: Vec<Value> = latest(candles, limit)
        .iter()
        .map(|c| {
            json!([
                c.open_ms,
                c.open.to_string(),
                c.high.to_string(),
                c.low.to_string(),
                c.close.to_string(),
                c.volume.to_string(),
                c.open_ms + step - 1,
                (c.volume * c.close).to_string(),
                0,
                "0",
                "0",
                "0"
            ])
        })
        .collect();
    Json(rows).into_response()
}
