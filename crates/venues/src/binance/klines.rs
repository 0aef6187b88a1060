//! Binance USDⓈ-M public candles: `GET /fapi/v1/klines?symbol&interval&startTime&endTime&limit`.
//!
//! A bare JSON array of `[openTime, open, high, low, close, volume, closeTime, quoteVolume,
//! trades, takerBuyBase, takerBuyQuote, ignore]`, times as numbers and prices as strings,
//! **oldest first**; at most 1500 rows; weight 1/2/5/10 by `limit` (<100, <500, ≤1000, more).
//! The last row is the candle still forming.

use async_trait::async_trait;
use tradeengine_model::Symbol;

use super::{BinanceVenue, VENUE};
use crate::VenueError;
use crate::binance::http::Auth;
use crate::http::{Method, Query};
use crate::market::{self, Kline, KlineInterval, MarketData};

pub const MAX_ROWS: u32 = 1500;

/// Request weight for `limit` rows, from the endpoint's documented table.
pub fn weight(limit: u32) -> u32 {
    match limit {
        0..100 => 1,
        100..500 => 2,
        500..=1000 => 5,
        _ => 10,
    }
}

#[async_trait]
impl MarketData for BinanceVenue {
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
            .with("symbol", symbol.as_str())
            .with("interval", interval.as_str())
            .with("startTime", start.to_string())
            .with("endTime", end.to_string())
            .with("limit", (limit + 1).to_string());
        let reply = self
            .http()
            .request(
                Method::Get,
                "/fapi/v1/klines",
                &q,
                Auth::Public,
                weight(limit + 1),
                false,
            )
            .await?;
        let candles = market::rows(VENUE, &reply, "the reply", 7)?
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                market::parse_row(VENUE, i, [&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]], 1)
            })
            .collect::<Result<Vec<_>, _>>()?;
        market::finish(VENUE, candles, interval, limit, now_ms)
    }
}
