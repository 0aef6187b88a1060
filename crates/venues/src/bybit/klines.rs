//! Bybit v5 public candles: `GET /v5/market/kline?category=linear&symbol&interval&start&end&limit`.
//!
//! `result.list` holds `[startTime, open, high, low, close, volume, turnover]` as strings,
//! **newest first** (https://bybit-exchange.github.io/docs/v5/market/kline; reading it oldest first
//! is an easy mistake); at most 1000 rows; `interval` is minutes (`1 5 15 30 60 240`) or `D`. The
//! list includes the candle still forming.

use async_trait::async_trait;
use tradeengine_model::Symbol;

use super::{BybitVenue, VENUE};
use crate::VenueError;
use crate::http::Query;
use crate::market::{self, Kline, KlineInterval, MarketData};

/// Bybit's name for an interval.
pub fn interval_name(interval: KlineInterval) -> &'static str {
    match interval {
        KlineInterval::M1 => "1",
        KlineInterval::M5 => "5",
        KlineInterval::M15 => "15",
        KlineInterval::M30 => "30",
        KlineInterval::H1 => "60",
        KlineInterval::H4 => "240",
        KlineInterval::D1 => "D",
    }
}

pub const MAX_ROWS: u32 = 1000;

#[async_trait]
impl MarketData for BybitVenue {
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
        let (start, end) = market::window(interval, limit, now_ms);
        let q = Query::new()
            .with("category", "linear")
            .with("symbol", symbol.as_str())
            .with("interval", interval_name(interval))
            .with("start", start.to_string())
            .with("end", end.to_string())
            .with("limit", (limit + 1).to_string());
        let result = self.http().public_get("/v5/market/kline", &q).await?;
        let list = result.get("list").unwrap_or(&serde_json::Value::Null);
        let candles = market::rows(VENUE, list, "result.list", 6)?
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                market::parse_row(VENUE, i, [&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]], 1)
            })
            .collect::<Result<Vec<_>, _>>()?;
        market::finish(VENUE, candles, interval, limit, now_ms)
    }
}
