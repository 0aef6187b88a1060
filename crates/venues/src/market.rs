//! Public market data without keys: OHLCV candles (klines) from a venue's public kline endpoint.
//!
//! [`MarketData`] is the seam (barter-rs style): one async call, `candles`, implemented by every
//! exchange adapter in its own `<venue>/klines.rs` (Bybit `/v5/market/kline`, Binance
//! `/fapi/v1/klines`, BloFin `/api/v1/market/candles`, KuCoin Futures `/api/v1/kline/query`,
//! MEXC `/api/v1/contract/kline/{symbol}`). Whatever order and shape the venue answers in
//! (Bybit and BloFin list newest first, MEXC sends columns), the adapter hands back **closed**
//! candles in strictly increasing open time: indicators computed over Bybit's newest-first
//! list as if it were oldest first are silently wrong. The still-forming candle every venue
//! includes is dropped, judged by the caller's clock (`now_ms`), so a test on a manual clock is
//! exact.
//!
//! Prices stay [`Decimal`] here, as the venue sent them; indicator code converts once.
//! [`crate::connect::public_market`] builds a keyless adapter for a venue and base URL.

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde_json::Value;
use tradeengine_model::Symbol;

use crate::{Venue, VenueError, VenueErrorKind};

/// Candle lengths every supported venue serves (the intersection of their lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KlineInterval {
    M1,
    M5,
    M15,
    M30,
    H1,
    H4,
    D1,
}

impl KlineInterval {
    pub const ALL: [KlineInterval; 7] = [
        Self::M1,
        Self::M5,
        Self::M15,
        Self::M30,
        Self::H1,
        Self::H4,
        Self::D1,
    ];

    /// `1m 5m 15m 30m 1h 4h 1d`, the names configs use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::M1 => "1m",
            Self::M5 => "5m",
            Self::M15 => "15m",
            Self::M30 => "30m",
            Self::H1 => "1h",
            Self::H4 => "4h",
            Self::D1 => "1d",
        }
    }

    /// Parses a config name (`"1m"`, `"4h"`, `"1d"`); the error lists the accepted names.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|i| i.as_str() == text.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|i| i.as_str()).collect();
                format!(
                    "interval {text:?} is not one every venue serves; use one of {}",
                    names.join(", ")
                )
            })
    }

    /// The interval whose length is exactly `secs`, if any.
    pub fn from_secs(secs: u64) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.minutes() * 60 == secs)
    }

    pub fn minutes(self) -> u64 {
        match self {
            Self::M1 => 1,
            Self::M5 => 5,
            Self::M15 => 15,
            Self::M30 => 30,
            Self::H1 => 60,
            Self::H4 => 240,
            Self::D1 => 1440,
        }
    }

    pub fn millis(self) -> i64 {
        // At most 1440 × 60 000: no overflow.
        i64::try_from(self.minutes()).unwrap_or(1440) * 60_000
    }
}

/// One closed candle as the venue reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kline {
    /// Open time, Unix milliseconds.
    pub open_ms: i64,
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    /// Traded volume in the venue's unit (contracts on KuCoin, MEXC and BloFin, base
    /// elsewhere); indicators only compare it with itself.
    pub volume: Decimal,
}

/// A venue's public candles.
#[async_trait]
pub trait MarketData: Send + Sync + std::fmt::Debug {
    /// Short venue name (`bybit`, …) for logs and errors.
    fn market_venue(&self) -> &'static str;

    /// Most rows one request returns; `candles` returns at most this many.
    fn max_candles(&self) -> u32;

    /// The latest `limit` candles of `symbol` (unified name) that closed at or before `now_ms`
    /// (Unix ms, the caller's clock), oldest first with strictly increasing open times. Fewer
    /// when the venue has fewer. A reply that is not a list of sane candles is an `Internal`
    /// error naming the row and field.
    async fn candles(
        &self,
        symbol: &Symbol,
        interval: KlineInterval,
        limit: u32,
        now_ms: i64,
    ) -> Result<Vec<Kline>, VenueError>;
}

/// The query window for the latest `limit` candles up to `now_ms`: `(start_ms, end_ms)` where
/// `start_ms` is the open of the oldest wanted candle (one extra is asked for: the forming one,
/// which [`finish`] drops).
pub fn window(interval: KlineInterval, limit: u32, now_ms: i64) -> (i64, i64) {
    let step = interval.millis();
    let current_open = now_ms.div_euclid(step) * step;
    let start = current_open - step * i64::from(limit.max(1));
    (start, now_ms)
}

/// A JSON number or numeric string as text (MEXC's client quotes numbers; KuCoin sends numbers;
/// the others strings).
pub(crate) fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn bad(venue: &'static str, row: usize, reason: String) -> VenueError {
    VenueError::new(
        venue,
        VenueErrorKind::Internal,
        format!("unusable kline reply: row {row}: {reason}"),
    )
}

/// One row's fields, read from their JSON values. `time_unit_ms` is 1000 when the venue sends
/// seconds (MEXC).
pub(crate) fn parse_row(
    venue: &'static str,
    row: usize,
    fields: [&Value; 6],
    time_unit_ms: i64,
) -> Result<Kline, VenueError> {
    let [t, o, h, l, c, v] = fields;
    let t_text =
        text(t).ok_or_else(|| bad(venue, row, format!("open time {t} is not a number")))?;
    let open_ms = t_text
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|t| t.checked_mul(time_unit_ms))
        .filter(|t| *t > 0)
        .ok_or_else(|| {
            bad(
                venue,
                row,
                format!("open time {t_text:?} is not a positive integer"),
            )
        })?;
    let num = |name: &str, v: &Value| -> Result<Decimal, VenueError> {
        text(v)
            .and_then(|s| s.trim().parse::<Decimal>().ok())
            .ok_or_else(|| bad(venue, row, format!("{name} {v} is not a decimal")))
    };
    Ok(Kline {
        open_ms,
        open: num("open", o)?,
        high: num("high", h)?,
        low: num("low", l)?,
        close: num("close", c)?,
        volume: num("volume", v)?,
    })
}

/// The rows of an array-of-arrays reply, each with at least `min_len` fields.
pub(crate) fn rows<'a>(
    venue: &'static str,
    data: &'a Value,
    what: &str,
    min_len: usize,
) -> Result<Vec<&'a [Value]>, VenueError> {
    let list = data.as_array().ok_or_else(|| {
        VenueError::new(
            venue,
            VenueErrorKind::Internal,
            format!("unusable kline reply: {what} is not a list"),
        )
    })?;
    list.iter()
        .enumerate()
        .map(|(i, r)| {
            r.as_array()
                .map(Vec::as_slice)
                .filter(|a| a.len() >= min_len)
                .ok_or_else(|| {
                    bad(
                        venue,
                        i,
                        format!("expected a list of at least {min_len} fields"),
                    )
                })
        })
        .collect()
}

/// Sorts `candles` by open time (whatever order the venue used), refuses duplicates and
/// insane candles, drops the ones not yet closed at `now_ms`, and keeps the latest `limit`.
pub fn finish(
    venue: &'static str,
    mut candles: Vec<Kline>,
    interval: KlineInterval,
    limit: u32,
    now_ms: i64,
) -> Result<Vec<Kline>, VenueError> {
    for (i, k) in candles.iter().enumerate() {
        let prices = [k.open, k.high, k.low, k.close];
        if prices.iter().any(|p| *p <= Decimal::ZERO) {
            return Err(bad(venue, i, "a price is not positive".into()));
        }
        if k.low > k.open.min(k.close) || k.high < k.open.max(k.close) {
            return Err(bad(
                venue,
                i,
                format!(
                    "low {} and high {} do not bracket open {} and close {}",
                    k.low, k.high, k.open, k.close
                ),
            ));
        }
        if k.volume < Decimal::ZERO {
            return Err(bad(venue, i, format!("volume {} is negative", k.volume)));
        }
    }
    candles.sort_by_key(|k| k.open_ms);
    if let Some(w) = candles.windows(2).find(|w| w[0].open_ms == w[1].open_ms) {
        return Err(VenueError::new(
            venue,
            VenueErrorKind::Internal,
            format!(
                "unusable kline reply: two candles open at {} ms",
                w[0].open_ms
            ),
        ));
    }
    let step = interval.millis();
    candles.retain(|k| k.open_ms.saturating_add(step) <= now_ms);
    let keep = usize::try_from(limit).unwrap_or(usize::MAX);
    if candles.len() > keep {
        candles.drain(..candles.len() - keep);
    }
    Ok(candles)
}

/// One adapter seen two ways: its candles, and the same adapter as a [`Venue`] for
/// instruments (tick sizes), prices and, with keys, trading. What
/// [`crate::registry::VenueEntry::connect`] builds.
#[derive(Debug, Clone)]
pub struct PublicMarket {
    pub candles: Arc<dyn MarketData>,
    pub venue: Arc<dyn Venue>,
}

impl PublicMarket {
    pub(crate) fn of<T: MarketData + Venue + 'static>(adapter: T) -> Self {
        let a = Arc::new(adapter);
        Self {
            candles: a.clone(),
            venue: a,
        }
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn k(open_ms: i64, close: Decimal) -> Kline {
        Kline {
            open_ms,
            open: close,
            high: close + dec!(1),
            low: close - dec!(0.5),
            close,
            volume: dec!(2),
        }
    }

    #[test]
    fn intervals_parse_and_measure() {
        assert_eq!(KlineInterval::parse("15m"), Ok(KlineInterval::M15));
        assert_eq!(KlineInterval::H4.millis(), 14_400_000);
        assert_eq!(KlineInterval::from_secs(3600), Some(KlineInterval::H1));
        assert_eq!(KlineInterval::from_secs(5), None);
        let e = KlineInterval::parse("2m").unwrap_err();
        assert!(e.contains("1m, 5m, 15m, 30m, 1h, 4h, 1d"), "{e}");
    }

    #[test]
    fn finish_sorts_drops_the_forming_candle_and_keeps_the_latest() {
        // Newest first, as Bybit and BloFin send them; the last one is still forming at 250 000.
        let rows = vec![
            k(240_000, dec!(14)),
            k(180_000, dec!(13)),
            k(120_000, dec!(12)),
            k(60_000, dec!(11)),
        ];
        let out = finish("bybit", rows, KlineInterval::M1, 2, 250_000).unwrap();
        let opens: Vec<i64> = out.iter().map(|k| k.open_ms).collect();
        assert_eq!(opens, vec![120_000, 180_000]);
        // Exactly at its close time the candle counts as closed.
        let out = finish("bybit", vec![k(0, dec!(1))], KlineInterval::M1, 5, 60_000).unwrap();
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn finish_refuses_duplicates_and_insane_rows() {
        let dup = vec![k(0, dec!(1)), k(0, dec!(2))];
        let e = finish("mexc", dup, KlineInterval::M1, 5, 1_000_000).unwrap_err();
        assert!(e.message.contains("two candles open at 0"), "{e}");
        let mut inverted = k(0, dec!(10));
        inverted.high = dec!(5);
        let e = finish("mexc", vec![inverted], KlineInterval::M1, 5, 1_000_000).unwrap_err();
        assert_eq!(e.kind, VenueErrorKind::Internal);
        assert!(e.message.contains("row 0: low 9.5 and high 5"), "{e}");
    }

    #[test]
    fn window_asks_for_one_more_than_the_closed_candles() {
        assert_eq!(
            window(KlineInterval::M1, 3, 250_000),
            (240_000 - 180_000, 250_000)
        );
    }
}
