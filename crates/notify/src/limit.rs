//! A channel's rate limit: a token bucket of `per_minute` messages refilled evenly over the
//! minute, in whole thousandths of a message so the arithmetic is exact integer arithmetic.
//! Time comes from the caller (the notifier's injected clock), so tests step through it.

use serde::{Deserialize, Serialize};
use tradeengine_model::Timestamp;

/// Kept with the channel's progress in the store, so a restart does not refill the bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    per_minute: u32,
    /// Thousandths of a message available.
    milli: i64,
    last: Option<Timestamp>,
}

impl RateLimit {
    /// A full bucket: a quiet channel may send `per_minute` at once.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            milli: Self::capacity(per_minute),
            last: None,
        }
    }

    fn capacity(per_minute: u32) -> i64 {
        i64::from(per_minute) * 1000
    }

    fn refill(&mut self, now: Timestamp) {
        if let Some(last) = self.last {
            let ms = (now - last).num_milliseconds().max(0);
            let add = ms.saturating_mul(i64::from(self.per_minute)) / 60;
            self.milli = (self.milli.saturating_add(add)).min(Self::capacity(self.per_minute));
        }
        // A clock stepped back never grants more.
        if self.last.is_none_or(|l| now > l) {
            self.last = Some(now);
        }
    }

    /// Takes one message's worth if there is one.
    pub fn try_take(&mut self, now: Timestamp) -> bool {
        self.refill(now);
        if self.milli >= 1000 {
            self.milli -= 1000;
            true
        } else {
            false
        }
    }

    /// Takes one message's worth even when the bucket is empty (urgent kinds), so the
    /// messages after it still wait their turn.
    pub fn take_anyway(&mut self, now: Timestamp) {
        self.refill(now);
        self.milli = (self.milli - 1000).max(-Self::capacity(self.per_minute));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone, Utc};
    use proptest::prelude::*;

    fn t0() -> Timestamp {
        Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn a_full_bucket_sends_per_minute_then_one_per_share_of_the_minute() {
        let mut l = RateLimit::new(3);
        assert!(l.try_take(t0()));
        assert!(l.try_take(t0()));
        assert!(l.try_take(t0()));
        assert!(!l.try_take(t0()));
        assert!(!l.try_take(t0() + TimeDelta::seconds(19)));
        assert!(l.try_take(t0() + TimeDelta::seconds(20)));
        assert!(!l.try_take(t0() + TimeDelta::seconds(20)));
    }

    #[test]
    fn urgent_messages_borrow_from_the_next_ones() {
        let mut l = RateLimit::new(1);
        assert!(l.try_take(t0()));
        l.take_anyway(t0());
        assert!(!l.try_take(t0() + TimeDelta::seconds(60)));
        assert!(l.try_take(t0() + TimeDelta::seconds(120)));
    }

    proptest! {
        /// Whatever the pattern of attempts, any one minute lets through at most a full bucket
        /// plus what the minute refills (2 × per_minute), and the whole run at most a bucket
        /// plus per_minute for each minute elapsed.
        #[test]
        fn never_more_than_the_limit(
            per_minute in 1u32..40,
            steps in proptest::collection::vec(0i64..5_000, 1..400),
        ) {
            let mut l = RateLimit::new(per_minute);
            let mut now = t0();
            let mut sent: Vec<Timestamp> = Vec::new();
            for ms in steps {
                now += TimeDelta::milliseconds(ms);
                if l.try_take(now) {
                    sent.push(now);
                }
            }
            for (i, start) in sent.iter().enumerate() {
                let in_minute = sent[i..]
                    .iter()
                    .take_while(|t| **t - *start < TimeDelta::seconds(60))
                    .count();
                prop_assert!(in_minute as u64 <= 2 * u64::from(per_minute));
            }
            let elapsed_ms = (now - t0()).num_milliseconds();
            let allowed = i64::from(per_minute) + elapsed_ms * i64::from(per_minute) / 60_000;
            prop_assert!(sent.len() as i64 <= allowed);
        }
    }
}
