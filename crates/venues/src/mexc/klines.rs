//! MEXC Futures public candles: `GET /api/v1/contract/kline/{symbol}?interval=Min1&start&end`.
//!
//! Unlike the others the reply is **columnar**: `data = {time: [...], open: [...], close: [...],
//! high: [...], low: [...], vol: [...], amount: [...]}`, one array per field, oldest first,
//! times and `start`/`end` in **seconds**; at most 2000 rows. `interval`: `Min1 Min5 Min15 Min30
//! Min60 Hour4 Day1`. The last row is the candle still forming.

use async_trait::async_trait;
use serde_json::Value;
use tradeengine_model::Symbol;

use super::http::scope;
use super::{MexcVenue, VENUE, venue_symbol};
use crate::http::Query;
use crate::market::{self, Kline, KlineInterval, MarketData};
use crate::{VenueError, VenueErrorKind};

pub const MAX_ROWS: u32 = 2000;

/// MEXC's name for an interval.
pub fn interval_name(interval: KlineInterval) -> &'static str {
    match interval {
        KlineInterval::M1 => "Min1",
        KlineInterval::M5 => "Min5",
        KlineInterval::M15 => "Min15",
        KlineInterval::M30 => "Min30",
        KlineInterval::H1 => "Min60",
        KlineInterval::H4 => "Hour4",
        KlineInterval::D1 => "Day1",
    }
}

fn malformed(reason: String) -> VenueError {
    VenueError::new(
        VENUE,
        VenueErrorKind::Internal,
        format!("unusable kline reply: {reason}"),
    )
}

/// The columns of `data`, checked to be arrays of one length.
fn columns(data: &Value) -> Result<[&Vec<Value>; 6], VenueError> {
    let col = |name: &str| -> Result<&Vec<Value>, VenueError> {
        data.get(name)
            .and_then(Value::as_array)
            .ok_or_else(|| malformed(format!("data.{name} is not a list")))
    };
    let cols = [
        col("time")?,
        col("open")?,
        col("high")?,
        col("low")?,
        col("close")?,
        col("vol")?,
    ];
    let n = cols[0].len();
    if let Some(c) = cols.iter().find(|c| c.len() != n) {
        return Err(malformed(format!(
            "columns differ in length ({} times, {} in another column)",
            n,
            c.len()
        )));
    }
    Ok(cols)
}

#[async_trait]
impl MarketData for MexcVenue {
    fn market_venue(&self) -> &'static str {
        VENUE
    }

    fn max_candles(&self) -> u32 {
        MAX_ROWS - 1
    }

    async fn candles(
        &self,
        symbol: &Symbol,
        interval: KlineInterval,
        limit: u32,
        now_ms: i64,
    ) -> Result<Vec<Kline>, VenueError> {
        let limit = limit.clamp(1, MAX_ROWS - 1);
        let contract = venue_symbol(symbol.as_str()).ok_or_else(|| {
            VenueError::new(
                VENUE,
                VenueErrorKind::Rejected,
                format!("{symbol} has no MEXC contract name"),
            )
        })?;
        let (start, end) = market::window(interval, limit, now_ms);
        let q = Query::new()
            .with("interval", interval_name(interval))
            .with("start", start.div_euclid(1000).to_string())
            .with("end", end.div_euclid(1000).to_string());
        let path = format!("/api/v1/contract/kline/{contract}");
        let data = self.http().public_get(&path, &q, scope::TICKER).await?;
        let [t, o, h, l, c, v] = columns(&data)?;
        let candles = (0..t.len())
            .map(|i| market::parse_row(VENUE, i, [&t[i], &o[i], &h[i], &l[i], &c[i], &v[i]], 1000))
            .collect::<Result<Vec<_>, _>>()?;
        market::finish(VENUE, candles, interval, limit, now_ms)
    }
}
