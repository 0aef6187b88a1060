//! KuCoin Futures public candles: `GET /api/v1/kline/query?symbol=XBTUSDTM&granularity&from&to`.
//!
//! `data` holds `[time, open, high, low, close, volume, turnover]` as JSON **numbers**, oldest
//! first; `granularity` is the candle length in **minutes** (`1 5 15 30 60 240 1440`); `from`
//! and `to` are milliseconds; at most 500 rows per request. Volume is in lots. The last row is
//! the candle still forming.

use async_trait::async_trait;
use tradeengine_model::Symbol;

use super::{KucoinVenue, VENUE, venue_symbol};
use crate::http::Query;
use crate::market::{self, Kline, KlineInterval, MarketData};
use crate::{VenueError, VenueErrorKind};

pub const MAX_ROWS: u32 = 500;

#[async_trait]
impl MarketData for KucoinVenue {
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
                format!("{symbol} has no KuCoin Futures contract name"),
            )
        })?;
        let (from, to) = market::window(interval, limit, now_ms);
        let q = Query::new()
            .with("symbol", &contract)
            .with("granularity", interval.minutes().to_string())
            .with("from", from.to_string())
            .with("to", to.to_string());
        let data = self.http().public_get("/api/v1/kline/query", &q).await?;
        let candles = market::rows(VENUE, &data, "data", 6)?
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                market::parse_row(VENUE, i, [&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]], 1)
            })
            .collect::<Result<Vec<_>, _>>()?;
        market::finish(VENUE, candles, interval, limit, now_ms)
    }
}
