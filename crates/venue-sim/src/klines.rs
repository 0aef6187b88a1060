//! Each simulator's price path and the candles its public kline endpoint serves from it.
//!
//! The path of a symbol is a step function: the price the test (or a fill) set at each instant,
//! flat before the first point (a simulator "has always been" at its starting price, so a
//! warm-up finds candles). Tests may also record points in the past
//! ([`crate::SimHandle::record_price_at`]) to give a strategy real history without waiting for
//! it. A candle's open is the price at its open time, high and low span every point inside it,
//! its close is the price at its last millisecond (or now, for the candle still forming), and
//! its volume is the quantity recorded with the points inside it.
//!
//! Venue-specific parameter names, orders and shapes are in each venue's `klines.rs`.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

/// Points kept per symbol; the oldest go first (a week of one price a second is ~600 000).
const MAX_POINTS: usize = 200_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Point {
    t_ms: i64,
    price: Decimal,
    qty: Decimal,
}

/// One simulated candle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimCandle {
    pub open_ms: i64,
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    pub volume: Decimal,
    /// False for the candle that has not closed yet at the simulator's now.
    pub closed: bool,
}

/// The price path of every symbol.
#[derive(Debug, Clone, Default)]
pub struct PriceHistory {
    points: BTreeMap<String, Vec<Point>>,
}

impl PriceHistory {
    /// Records `price` (and `qty` traded) for `symbol` at `t_ms`. A point at an instant that
    /// already has one replaces its price and adds to its quantity.
    pub fn record(&mut self, symbol: &str, t_ms: i64, price: Decimal, qty: Decimal) {
        let v = self.points.entry(symbol.to_string()).or_default();
        let at = v.partition_point(|p| p.t_ms <= t_ms);
        match at.checked_sub(1).and_then(|i| v.get_mut(i)) {
            Some(p) if p.t_ms == t_ms => {
                p.price = price;
                p.qty += qty;
            }
            _ => v.insert(at, Point { t_ms, price, qty }),
        }
        if v.len() > MAX_POINTS {
            v.drain(..v.len() - MAX_POINTS);
        }
    }

    fn price_at(v: &[Point], t_ms: i64) -> Option<Decimal> {
        let at = v.partition_point(|p| p.t_ms <= t_ms);
        match at.checked_sub(1) {
            Some(i) => v.get(i).map(|p| p.price),
            None => v.first().map(|p| p.price),
        }
    }

    /// Candles of `step_ms` opening in `[first_open, last_open]` (aligned down to the step),
    /// none opening after `now_ms`. `None` for a symbol with no path.
    pub fn candles(
        &self,
        symbol: &str,
        step_ms: i64,
        first_open: i64,
        last_open: i64,
        now_ms: i64,
    ) -> Option<Vec<SimCandle>> {
        let v = self.points.get(symbol)?;
        let step = step_ms.max(1);
        let mut out = Vec::new();
        let mut open_ms = first_open.div_euclid(step) * step;
        let last = last_open.min(now_ms);
        while open_ms <= last {
            let end = (open_ms + step).min(now_ms.saturating_add(1));
            let open = Self::price_at(v, open_ms)?;
            let close = Self::price_at(v, end - 1)?;
            let (mut high, mut low) = (open.max(close), open.min(close));
            let mut volume = Decimal::ZERO;
            let from = v.partition_point(|p| p.t_ms < open_ms);
            for p in v[from..].iter().take_while(|p| p.t_ms < end) {
                high = high.max(p.price);
                low = low.min(p.price);
                volume += p.qty;
            }
            out.push(SimCandle {
                open_ms,
                open,
                high,
                low,
                close,
                volume,
                closed: open_ms + step <= now_ms,
            });
            open_ms += step;
        }
        Some(out)
    }
}

/// The latest `limit` of `candles` (they are oldest first).
pub fn latest(mut candles: Vec<SimCandle>, limit: usize) -> Vec<SimCandle> {
    if candles.len() > limit {
        candles.drain(..candles.len() - limit);
    }
    candles
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn candles_follow_the_step_path() {
        let mut h = PriceHistory::default();
        h.record("X", 0, dec!(10), Decimal::ZERO);
        h.record("X", 61_000, dec!(12), dec!(1));
        h.record("X", 65_000, dec!(9), dec!(2));
        h.record("X", 150_000, dec!(11), Decimal::ZERO);
        let c = h.candles("X", 60_000, 0, 180_000, 170_000).unwrap();
        assert_eq!(c.len(), 3, "the candle opening at 180 000 is in the future");
        assert_eq!(
            (c[0].open, c[0].high, c[0].low, c[0].close),
            (dec!(10), dec!(10), dec!(10), dec!(10))
        );
        assert_eq!(
            (c[1].open, c[1].high, c[1].low, c[1].close, c[1].volume),
            (dec!(10), dec!(12), dec!(9), dec!(9), dec!(3))
        );
        assert_eq!(
            (c[2].open, c[2].close, c[2].closed),
            (dec!(9), dec!(11), false)
        );
        assert!(c[0].closed && c[1].closed);
        // Before the first point the path is flat at it.
        let early = h.candles("X", 60_000, -120_000, -60_000, 170_000).unwrap();
        assert!(early.iter().all(|c| c.close == dec!(10)));
        assert!(h.candles("Y", 60_000, 0, 0, 1).is_none());
    }
}
