//! Hyperliquid public candles: `POST /info {"type": "candleSnapshot", "req": {coin, interval,
//! startTime, endTime}}`, answered oldest first as `{t, T, s, i, o, c, h, l, v, n}` rows with
//! prices as strings, at most 5000 per request, the forming candle included
//! (<https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint#candle-snapshot>).

use async_trait::async_trait;
use serde_json::{Value, json};
use tradeengine_model::Symbol;

use super::{HyperliquidVenue, VENUE};
use crate::VenueError;
use crate::market::{self, Kline, KlineInterval, MarketData};

pub const MAX_ROWS: u32 = 5000;

/// Hyperliquid's name for an interval.
pub fn interval_name(interval: KlineInterval) -> &'static str {
    match interval {
        KlineInterval::M1 => "1m",
        KlineInterval::M5 => "5m",
        KlineInterval::M15 => "15m",
        KlineInterval::M30 => "30m",
        KlineInterval::H1 => "1h",
        KlineInterval::H4 => "4h",
        KlineInterval::D1 => "1d",
    }
}

#[async_trait]
impl MarketData for HyperliquidVenue {
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
        // The exchange's own coin name (case kept: `kPEPE`).
        let coin = self.asset(symbol).await?.coin;
        let body = json!({"type": "candleSnapshot", "req": {
            "coin": coin, "interval": interval_name(interval), "startTime": start, "endTime": end,
        }});
        let reply = self.http.info(&body).await?;
        let rows = reply.as_array().ok_or_else(|| {
            VenueError::new(
                VENUE,
                crate::VenueErrorKind::Internal,
                "unusable kline reply: candleSnapshot is not a list",
            )
        })?;
        let null = Value::Null;
        let candles = rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let f = |k: &str| r.get(k).unwrap_or(&null);
                market::parse_row(
                    VENUE,
                    i,
                    [f("t"), f("o"), f("h"), f("l"), f("c"), f("v")],
                    1,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        market::finish(VENUE, candles, interval, limit, now_ms)
    }
}
