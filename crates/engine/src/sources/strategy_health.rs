//! Freshness of a strategy source. Its poll is the candle read: when the venue's klines (or the
//! paper feed) cannot be read, the source decides nothing and its sleeves age towards
//! `on_stale` — which an operator must see in the freshness book (API, `status`, dashboard,
//! `tradeengine_source_stale`), not only in a log line per symbol.

use std::sync::Mutex;

use tradeengine_model::Timestamp;

use crate::freshness::FreshnessBook;

/// What one pass over the source's symbols saw of its candles.
#[derive(Debug, Default)]
pub struct CandleHealth {
    pass: Mutex<Pass>,
}

#[derive(Debug, Default)]
struct Pass {
    /// Some symbol's candles were read (ready or not yet closed).
    read: bool,
    /// The last read that failed, with why.
    error: Option<String>,
}

impl CandleHealth {
    /// Starts a pass (each `step`).
    pub fn begin(&self) {
        if let Ok(mut p) = self.pass.lock() {
            *p = Pass::default();
        }
    }

    pub fn read(&self) {
        if let Ok(mut p) = self.pass.lock() {
            p.read = true;
        }
    }

    pub fn failed(&self, symbol: &str, error: &str) {
        if let Ok(mut p) = self.pass.lock() {
            p.error = Some(format!("candles of {symbol}: {error}"));
        }
    }

    /// Writes the pass into the book: a success when any symbol's candles were read, a failure
    /// (with the last error) when none was and one failed, nothing for a pass with no symbol.
    /// The source is stale once no read has succeeded for `ttl_secs` since `since_start`.
    pub fn report(
        &self,
        book: &FreshnessBook,
        source: &str,
        ttl_secs: u64,
        since_start: Timestamp,
        now: Timestamp,
    ) {
        let (read, error) = match self.pass.lock() {
            Ok(p) => (p.read, p.error.clone()),
            Err(_) => return,
        };
        if read {
            book.success(source, now);
        } else if let Some(e) = error {
            book.failure(source, &e, now);
        }
        let last = book
            .get(source)
            .and_then(|f| f.last_success)
            .unwrap_or(since_start);
        let age = now.signed_duration_since(last).num_seconds();
        let stale = u64::try_from(age).is_ok_and(|a| a > ttl_secs);
        book.set_stale(source, stale, now);
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::*;

    #[test]
    fn failing_candle_reads_make_the_source_stale_after_its_ttl_and_a_read_clears_it() {
        let book = FreshnessBook::default();
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        book.register("strat", "strategy", 180, t0);
        let h = CandleHealth::default();

        h.begin();
        h.read();
        h.report(&book, "strat", 180, t0, t0);
        let f = book.get("strat").unwrap();
        assert!(!f.stale);
        assert_eq!(f.last_success, Some(t0));

        // The venue stops answering: failures are counted at once, stale only past the TTL.
        for s in [60, 120, 180] {
            h.begin();
            h.failed("BTCUSDT", "503 Service Unavailable");
            h.report(&book, "strat", 180, t0, t0 + Duration::seconds(s));
        }
        let f = book.get("strat").unwrap();
        assert!(!f.stale, "180 s is not past a 180 s TTL");
        assert_eq!(f.consecutive_failures, 3);
        assert_eq!(
            f.last_error.as_deref(),
            Some("candles of BTCUSDT: 503 Service Unavailable")
        );
        h.begin();
        h.failed("BTCUSDT", "503 Service Unavailable");
        let at = t0 + Duration::seconds(240);
        h.report(&book, "strat", 180, t0, at);
        let f = book.get("strat").unwrap();
        assert!(f.stale);
        assert_eq!(f.stale_since, Some(at));

        // One read clears it.
        h.begin();
        h.read();
        h.report(&book, "strat", 180, t0, at + Duration::seconds(60));
        let f = book.get("strat").unwrap();
        assert!(!f.stale);
        assert_eq!(f.stale_since, None);
        assert_eq!(f.consecutive_failures, 0);
    }

    #[test]
    fn a_source_that_never_read_a_candle_goes_stale_from_its_start() {
        let book = FreshnessBook::default();
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        book.register("strat", "strategy", 120, t0);
        let h = CandleHealth::default();
        h.begin();
        h.failed("ETHUSDT", "connection refused");
        h.report(&book, "strat", 120, t0, t0 + Duration::seconds(121));
        assert!(book.get("strat").unwrap().stale);
    }
}
