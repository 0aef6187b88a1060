//! BloFin public candles: `GET /api/v1/market/candles?instId=BTC-USDT&bar=1m&after&limit`.
//!
//! `data` holds `[ts, open, high, low, close, vol, volCurrency, volCurrencyQuote, confirm]` as
//! strings, **newest first**; `vol` is in contracts; `confirm` is `"0"` while the candle is still
//! forming and `"1"` once closed; `after` asks for candles older than a time; at most 1440 rows.
//! `bar`: `1m 5m 15m 30m 1H 4H 1D`.

use async_trait::async_trait;
use tradeengine_model::Symbol;

use super::{BlofinVenue, VENUE, venue_symbol};
use crate::http::Query;
use crate::market::{self, Kline, KlineInterval, MarketData};
use crate::{VenueError, VenueErrorKind};

pub const MAX_ROWS: u32 = 1440;

/// BloFin's name for an interval (hours and days in capitals).
pub fn bar(interval: KlineInterval) -> &'static str {
    match interval {
        KlineInterval::M1 => "1m",
        KlineInterval::M5 => "5m",
        KlineInterval::M15 => "15m",
        KlineInterval::M30 => "30m",
        KlineInterval::H1 => "1H",
        KlineInterval::H4 => "4H",
        KlineInterval::D1 => "1D",
    }
}

#[async_trait]
impl MarketData for BlofinVenue {
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
        let inst_id = venue_symbol(symbol.as_str()).ok_or_else(|| {
            VenueError::new(
                VENUE,
                VenueErrorKind::Rejected,
                format!("{symbol} has no BloFin instrument name"),
            )
        })?;
        // `after` is exclusive: candles opening before now_ms + 1.
        let q = Query::new()
            .with("instId", &inst_id)
            .with("bar", bar(interval))
            .with("after", (now_ms + 1).to_string())
            .with("limit", (limit + 1).to_string());
        let data = self.http().public_get("/api/v1/market/candles", &q).await?;
        let mut candles = Vec::new();
        for (i, r) in market::rows(VENUE, &data, "data", 9)?
            .into_iter()
            .enumerate()
        {
            let k = market::parse_row(VENUE, i, [&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]], 1)?;
            match market::text(&r[8]).as_deref() {
                Some("1") => candles.push(k),
                Some("0") => {} // still forming
                _ => {
                    return Err(VenueError::new(
                        VENUE,
                        VenueErrorKind::Internal,
                        format!(
                            "unusable kline reply: row {i}: confirm {} is not 0 or 1",
                            r[8]
                        ),
                    ));
                }
            }
        }
        market::finish(VENUE, candles, interval, limit, now_ms)
    }
}
