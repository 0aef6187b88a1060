//! `GET /api/v1/market/candles` (public): `instId` (`BTC-USDT`), `bar` (`1m 3m 5m 15m 30m 1H 2H
//! 4H 6H 8H 12H 1D`, default `1m`), optional `after` (candles opening before this ms) and
//! `before` (after it), `limit` (1–1440, default 500). Rows `[ts, open, high, low, close, vol,
//! volCurrency, volCurrencyQuote, confirm]`, strings, **newest first**; `vol` in contracts;
//! `confirm` `"0"` for the candle still forming, else `"1"`.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Blofin, contract_value, err, ok, symbol_of};
use crate::form;
use crate::klines::latest;

fn step_ms(bar: &str) -> Option<i64> {
    let (n, unit) = bar.split_at(bar.len().checked_sub(1)?);
    let n: i64 = n.parse().ok()?;
    Some(match (n, unit) {
        (1 | 3 | 5 | 15 | 30, "m") => n * 60_000,
        (1 | 2 | 4 | 6 | 8 | 12, "H") => n * 3_600_000,
        (1, "D") => 86_400_000,
        _ => return None,
    })
}

pub async fn candles(State(b): State<std::sync::Arc<Blofin>>, RawQuery(raw): RawQuery) -> Response {
    let q = form::parse(raw.as_deref().unwrap_or_default());
    let Some(inst_id) = q.get("instId") else {
        return err("152002", "Parameter instId cannot be empty");
    };
    let Some(step) = step_ms(q.get("bar").map(String::as_str).unwrap_or("1m")) else {
        return err("152002", "Parameter bar error");
    };
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 500,
        Some(Ok(l @ 1..=1440)) => l,
        Some(_) => return err("152002", "Parameter limit error"),
    };
    let n = i64::try_from(limit).unwrap_or(1440);
    let now = b.sh.now_ms();
    let after: Option<i64> = q.get("after").and_then(|s| s.parse().ok());
    let before: Option<i64> = q.get("before").and_then(|s| s.parse().ok());
    let to = after.map_or(now, |a| a - 1);
    let from = before.map_or(to - step * n, |b| b + 1);
    let symbol = symbol_of(inst_id);
    let cv = contract_value(&symbol);
    let Some(candles) =
        b.sh.exchange()
            .history()
            .candles(&symbol, step, from, to, now)
    else {
        return err("152014", "Instrument ID does not exist");
    };
    let rows: Vec<Value> = latest(candles, limit)
        .iter()
        .rev()
        .filter(|c| c.open_ms >= from)
        .map(|c| {
            let contracts = if cv.is_zero() {
                c.volume
            } else {
                c.volume / cv
            };
            json!([
                c.open_ms.to_string(),
                c.open.to_string(),
                c.high.to_string(),
                c.low.to_string(),
                c.close.to_string(),
                contracts.normalize().to_string(),
                c.volume.to_string(),
                (c.volume * c.close).to_string(),
                if c.closed { "1" } else { "0" }
            ])
        })
        .collect();
    ok(json!(rows))
}
