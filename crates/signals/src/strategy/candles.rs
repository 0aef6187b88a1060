//! OHLCV candles and the bounded, time-ordered window a strategy computes its indicators over.
//!
//! Candles can arrive out of order, and indicators over whatever arrived are wrong. Here
//! the window only ever holds candles in strictly increasing open time: a late or repeated
//! candle replaces the one with its open time (a venue re-sending a candle that was still
//! forming), an older one is refused, and a jump of more than one interval is recorded as a gap
//! so the caller can decide (the strategy source refuses to decide across a gap until the window
//! is refilled).

use std::collections::VecDeque;

/// One candle. Prices in `f64`: candles feed indicator math only, never an order (see
/// [`super::indicators`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candle {
    /// Open time, Unix milliseconds.
    pub open_ms: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    /// Base volume; 0 when the source has none (a price-only paper feed).
    pub volume: f64,
}

impl Candle {
    /// Finite, positive prices with `low ≤ open, close ≤ high` and a non-negative volume.
    pub fn is_sane(&self) -> bool {
        let p = [self.open, self.high, self.low, self.close];
        p.iter().all(|v| v.is_finite() && *v > 0.0)
            && self.low <= self.open.min(self.close)
            && self.high >= self.open.max(self.close)
            && self.volume.is_finite()
            && self.volume >= 0.0
    }
}

/// What [`CandleWindow::push`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// The next candle, right after the last one.
    Appended,
    /// Same open time as the last candle: replaced it (the candle was still forming).
    Replaced,
    /// Appended after a hole of `missing` candles.
    Gap { missing: i64 },
    /// Older than the last candle, or not aligned to the interval: dropped.
    Stale,
    /// Failed [`Candle::is_sane`]: dropped.
    Insane,
}

/// At most `capacity` candles of one symbol and interval, oldest first.
#[derive(Debug, Clone)]
pub struct CandleWindow {
    interval_ms: i64,
    capacity: usize,
    candles: VecDeque<Candle>,
    gaps: u64,
    /// Open time of the first candle after the most recent gap.
    last_gap_at: Option<i64>,
}

impl CandleWindow {
    /// `interval_ms ≥ 1`, `capacity ≥ 1` (both clamped up).
    pub fn new(interval_ms: i64, capacity: usize) -> Self {
        Self {
            interval_ms: interval_ms.max(1),
            capacity: capacity.max(1),
            candles: VecDeque::with_capacity(capacity.max(1)),
            gaps: 0,
            last_gap_at: None,
        }
    }

    pub fn interval_ms(&self) -> i64 {
        self.interval_ms
    }

    /// Adds a candle, keeping time order and the bound.
    pub fn push(&mut self, c: Candle) -> PushOutcome {
        if !c.is_sane() {
            return PushOutcome::Insane;
        }
        let outcome = match self.candles.back() {
            None => PushOutcome::Appended,
            Some(last) if c.open_ms == last.open_ms => {
                if let Some(slot) = self.candles.back_mut() {
                    *slot = c;
                }
                return PushOutcome::Replaced;
            }
            Some(last) if c.open_ms < last.open_ms => return PushOutcome::Stale,
            Some(last) => {
                let step = c.open_ms - last.open_ms;
                if step % self.interval_ms != 0 {
                    return PushOutcome::Stale;
                }
                let missing = step / self.interval_ms - 1;
                if missing > 0 {
                    self.gaps += 1;
                    self.last_gap_at = Some(c.open_ms);
                    PushOutcome::Gap { missing }
                } else {
                    PushOutcome::Appended
                }
            }
        };
        if self.candles.len() == self.capacity {
            self.candles.pop_front();
        }
        self.candles.push_back(c);
        outcome
    }

    /// Candles since the last gap (all of them when there was none): the run an indicator may be
    /// computed over without bridging a hole.
    pub fn contiguous(&self) -> Vec<Candle> {
        let from = match self.last_gap_at {
            Some(t) => self
                .candles
                .iter()
                .position(|c| c.open_ms >= t)
                .unwrap_or(0),
            None => 0,
        };
        self.candles.iter().skip(from).copied().collect()
    }

    pub fn len(&self) -> usize {
        self.candles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.candles.is_empty()
    }

    pub fn last(&self) -> Option<&Candle> {
        self.candles.back()
    }

    /// Gaps seen since the window was created.
    pub fn gap_count(&self) -> u64 {
        self.gaps
    }

    /// All candles, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Candle> {
        self.candles.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(t: i64, p: f64) -> Candle {
        Candle {
            open_ms: t,
            open: p,
            high: p + 1.0,
            low: p - 1.0,
            close: p,
            volume: 1.0,
        }
    }

    #[test]
    fn keeps_order_bound_and_replaces_forming_candle() {
        let mut w = CandleWindow::new(60_000, 3);
        assert_eq!(w.push(c(0, 10.0)), PushOutcome::Appended);
        assert_eq!(w.push(c(60_000, 11.0)), PushOutcome::Appended);
        assert_eq!(w.push(c(60_000, 12.0)), PushOutcome::Replaced);
        assert_eq!(w.push(c(0, 9.0)), PushOutcome::Stale);
        assert_eq!(w.push(c(90_000, 9.0)), PushOutcome::Stale);
        assert_eq!(w.push(c(120_000, 13.0)), PushOutcome::Appended);
        assert_eq!(w.push(c(180_000, 14.0)), PushOutcome::Appended);
        assert_eq!(w.len(), 3);
        let closes: Vec<f64> = w.iter().map(|c| c.close).collect();
        assert_eq!(closes, vec![12.0, 13.0, 14.0]);
    }

    #[test]
    fn gaps_are_counted_and_split_the_contiguous_run() {
        let mut w = CandleWindow::new(60_000, 10);
        w.push(c(0, 10.0));
        w.push(c(60_000, 10.0));
        assert_eq!(w.push(c(240_000, 10.0)), PushOutcome::Gap { missing: 2 });
        w.push(c(300_000, 10.0));
        assert_eq!(w.gap_count(), 1);
        assert_eq!(w.len(), 4);
        let run: Vec<i64> = w.contiguous().iter().map(|c| c.open_ms).collect();
        assert_eq!(run, vec![240_000, 300_000]);
    }

    #[test]
    fn insane_candles_are_dropped() {
        let mut w = CandleWindow::new(60_000, 10);
        let mut bad = c(0, 10.0);
        bad.high = 5.0;
        assert_eq!(w.push(bad), PushOutcome::Insane);
        bad = c(0, f64::NAN);
        assert_eq!(w.push(bad), PushOutcome::Insane);
        assert!(w.is_empty());
    }
}
