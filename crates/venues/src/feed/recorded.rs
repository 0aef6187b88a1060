//! Replaying recorded klines as a feed.
//!
//! ## Time mapping (all in Unix ms)
//!
//! Let `first` be the first candle's open time, `end` the last candle's end, `span = end − first`,
//! and `anchor` the wall-clock instant the replay starts: [`ReplayOptions::start_at`], or `first`
//! itself when unset (the series is then read at its own dates, as a backtest with a
//! `ManualClock` does).
//!
//! - series time `τ = first + (t − anchor)`; `None` for `t < anchor`;
//! - looping: `τ = first + ((t − anchor) mod span)`; the price jumps from the last close back to
//!   the first at each wrap;
//! - not looping: `None` from `end` on, so a finished replay stops pricing instead of freezing
//!   the market at its last close.
//!
//! ## Price
//!
//! `price(t) = close of the candle covering τ × rescale`, rounded to `tick` when one is set
//! (nearest tick, half away from zero; never below one tick). Across a gap the last close
//! carries. `rescale` turns a series into another unit, e.g. an altcoin quoted in BTC times
//! 3·10⁷ gives prices in the tens of thousands, like BTC in USDT.
//!
//! A candle's close is only known at its end, so replaying it for the whole candle looks up to
//! one candle ahead. That is harmless for paper fills; a backtest that must not peek should
//! step its clock to candle ends.

use std::collections::BTreeMap;
use std::path::Path;

use rust_decimal::{Decimal, RoundingStrategy};
use tradeengine_model::{Price, Symbol, Timestamp};

use super::{FeedError, KlineSeries, PriceFeed};
use tradeengine_model::grid;

/// How one series is replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Wall-clock instant at which the first candle begins; `None` replays at the series' own
    /// dates.
    pub start_at: Option<Timestamp>,
    /// Start again from the first candle after the last one ends.
    pub looping: bool,
    /// Every close is multiplied by this (positive) factor.
    pub rescale: Decimal,
    /// Round rescaled prices to this tick, quote units.
    pub tick: Option<Decimal>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        Self {
            start_at: None,
            looping: false,
            rescale: Decimal::ONE,
            tick: None,
        }
    }
}

#[derive(Debug, Clone)]
struct Replay {
    series: KlineSeries,
    options: ReplayOptions,
}

/// A feed replaying one kline series per symbol.
#[derive(Debug, Clone, Default)]
pub struct RecordedFeed {
    replays: BTreeMap<Symbol, Replay>,
}

impl RecordedFeed {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the series replayed for `symbol`.
    pub fn insert(
        &mut self,
        symbol: Symbol,
        series: KlineSeries,
        options: ReplayOptions,
    ) -> Result<(), FeedError> {
        let bad = |field: &str, value: Decimal| FeedError::BadSetting {
            field: format!("{symbol}.{field}"),
            value: value.to_string(),
            rule: "must be greater than zero",
        };
        if options.rescale <= Decimal::ZERO {
            return Err(bad("rescale", options.rescale));
        }
        if let Some(tick) = options.tick
            && tick <= Decimal::ZERO
        {
            return Err(bad("tick", tick));
        }
        self.replays.insert(symbol, Replay { series, options });
        Ok(())
    }

    /// Loads `path` (see [`KlineSeries`] for the accepted layouts) and adds it for `symbol`.
    pub fn with_csv(
        mut self,
        symbol: Symbol,
        path: impl AsRef<Path>,
        options: ReplayOptions,
    ) -> Result<Self, FeedError> {
        let series = KlineSeries::from_path(path)?;
        self.insert(symbol, series, options)?;
        Ok(self)
    }

    /// The series replayed for `symbol`.
    pub fn series(&self, symbol: &Symbol) -> Option<&KlineSeries> {
        self.replays.get(symbol).map(|r| &r.series)
    }
}

impl Replay {
    /// Series time `τ` for wall time `t_ms` (module docs).
    fn series_time(&self, t_ms: i64) -> Option<i64> {
        let first = self.series.first_open_ms();
        let anchor = self
            .options
            .start_at
            .map_or(first, |s| s.timestamp_millis());
        let mut rel = t_ms.checked_sub(anchor)?;
        if rel < 0 {
            return None;
        }
        if self.options.looping {
            let span = self.series.end_ms().checked_sub(first)?;
            rel = rel.checked_rem_euclid(span)?;
        }
        first.checked_add(rel)
    }

    fn price(&self, at: Timestamp) -> Option<Price> {
        let tau = self.series_time(at.timestamp_millis())?;
        let raw = self
            .series
            .close_at_ms(tau)?
            .checked_mul(self.options.rescale)?;
        let value = match self.options.tick {
            Some(tick) => grid::round_to_step(raw, tick, RoundingStrategy::MidpointAwayFromZero)?
                .normalize()
                .max(tick),
            None => raw,
        };
        Price::new(value).ok()
    }
}

impl PriceFeed for RecordedFeed {
    fn price(&self, symbol: &Symbol, at: Timestamp) -> Option<Price> {
        self.replays.get(symbol)?.price(at)
    }

    fn symbols(&self) -> Vec<Symbol> {
        self.replays.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone, Utc};
    use rust_decimal_macros::dec;

    use super::*;

    // Three candles of one minute from 2017-11-04 23:02 UTC, then a 2-minute gap, then one more.
    const CSV: &str = "1509836520000,0.00162008,0.00162008,0.00162008,0.00162008,108.1\n\
        1509836580000,0.00161,0.00161,0.00161,0.00161,82.3\n\
        1509836640000,0.00161,0.00162,0.00161,0.00162,64.5\n\
        1509836820000,0.0016,0.0016,0.0016,0.0016,1\n";
    const FIRST: i64 = 1_509_836_520_000;

    fn sym() -> Symbol {
        Symbol::new("BTCUSDT").unwrap()
    }

    fn feed(options: ReplayOptions) -> RecordedFeed {
        let mut f = RecordedFeed::new();
        f.insert(sym(), KlineSeries::parse("t.csv", CSV).unwrap(), options)
            .unwrap();
        f
    }

    fn at_ms(ms: i64) -> Timestamp {
        Utc.timestamp_millis_opt(ms).single().unwrap()
    }

    fn price(f: &RecordedFeed, t: Timestamp) -> Option<Decimal> {
        f.price(&sym(), t).map(Price::get)
    }

    #[test]
    fn own_dates_without_options() {
        let f = feed(ReplayOptions::default());
        assert_eq!(price(&f, at_ms(FIRST - 1)), None);
        assert_eq!(price(&f, at_ms(FIRST)), Some(dec!(0.00162008)));
        assert_eq!(price(&f, at_ms(FIRST + 60_000)), Some(dec!(0.00161)));
        // In the gap (minutes 3 and 4) the 0.00162 close carries.
        assert_eq!(price(&f, at_ms(FIRST + 200_000)), Some(dec!(0.00162)));
        assert_eq!(price(&f, at_ms(FIRST + 300_000)), Some(dec!(0.0016)));
        // The series ends at FIRST + 6 min.
        assert_eq!(price(&f, at_ms(FIRST + 360_000)), None);
        assert_eq!(f.symbols(), vec![sym()]);
    }

    #[test]
    fn offset_rescale_and_tick() {
        let start = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().unwrap();
        let f = feed(ReplayOptions {
            start_at: Some(start),
            looping: false,
            rescale: dec!(30000000),
            tick: Some(dec!(0.1)),
        });
        assert_eq!(price(&f, start - TimeDelta::seconds(1)), None);
        // 0.00162008 × 3e7 = 48,602.4
        assert_eq!(price(&f, start), Some(dec!(48602.4)));
        // 0.00161 × 3e7 = 48,300
        assert_eq!(price(&f, start + TimeDelta::seconds(61)), Some(dec!(48300)));
        assert_eq!(price(&f, start + TimeDelta::minutes(6)), None);
    }

    #[test]
    fn tick_rounds_half_away_from_zero() {
        let f = feed(ReplayOptions {
            rescale: dec!(1000),
            tick: Some(dec!(0.001)),
            ..ReplayOptions::default()
        });
        // 0.00162008 × 1000 = 1.62008 → 1.620
        assert_eq!(price(&f, at_ms(FIRST)), Some(dec!(1.620)));
        let f = feed(ReplayOptions {
            rescale: dec!(1000),
            tick: Some(dec!(0.00016)),
            ..ReplayOptions::default()
        });
        // 1.61 / 0.00016 = 10,062.5 ticks → 10,063 → 1.61008
        assert_eq!(price(&f, at_ms(FIRST + 60_000)), Some(dec!(1.61008)));
    }

    #[test]
    fn looping_wraps_after_the_last_candle() {
        let start = at_ms(2_000_000_000_000);
        let f = feed(ReplayOptions {
            start_at: Some(start),
            looping: true,
            ..ReplayOptions::default()
        });
        let span = TimeDelta::minutes(6);
        for offset in [0, 59_999, 60_000, 200_000, 300_000, 359_999] {
            let t = start + TimeDelta::milliseconds(offset);
            assert_eq!(price(&f, t + span), price(&f, t), "offset {offset}");
            assert_eq!(price(&f, t + span * 100), price(&f, t), "offset {offset}");
        }
        assert_eq!(price(&f, start + span), Some(dec!(0.00162008)));
        assert_eq!(price(&f, start - TimeDelta::milliseconds(1)), None);
    }

    #[test]
    fn bad_options_are_refused() {
        let series = KlineSeries::parse("t.csv", CSV).unwrap();
        let mut f = RecordedFeed::new();
        let zero = ReplayOptions {
            rescale: dec!(0),
            ..ReplayOptions::default()
        };
        let err = f.insert(sym(), series.clone(), zero).unwrap_err();
        assert!(err.to_string().contains("BTCUSDT.rescale"), "{err}");
        let neg_tick = ReplayOptions {
            tick: Some(dec!(-0.1)),
            ..ReplayOptions::default()
        };
        assert!(f.insert(sym(), series, neg_tick).is_err());
        assert!(f.symbols().is_empty());
    }
}
