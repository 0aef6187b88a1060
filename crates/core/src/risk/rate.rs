//! Orders per minute per account: a sliding 60-second window of the times orders were admitted.
//!
//! A runaway (a source flapping, a bug re-planning every cycle) shows up as a burst of opening
//! orders; capping them caps the damage. Reducing orders are counted (they are orders the venue
//! sees) but never refused, so a burst never stops an account from getting flat.

use std::collections::VecDeque;

use tradeengine_model::Timestamp;

use super::{RiskRefusal, RiskRule};

/// Length of the window, seconds.
pub const ORDER_RATE_WINDOW_SECS: i64 = 60;

/// Times of the orders admitted in the last [`ORDER_RATE_WINDOW_SECS`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderRateWindow {
    sent: VecDeque<Timestamp>,
}

impl OrderRateWindow {
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops orders older than the window: an order at `t` counts while `now − t < 60 s`.
    fn prune(&mut self, now: Timestamp) {
        let cutoff = now - chrono::TimeDelta::seconds(ORDER_RATE_WINDOW_SECS);
        while self.sent.front().is_some_and(|t| *t <= cutoff) {
            self.sent.pop_front();
        }
    }

    /// Orders counted at `now`.
    pub fn count(&mut self, now: Timestamp) -> usize {
        self.prune(now);
        self.sent.len()
    }

    /// Admits (and counts) an order at `now`, or refuses a non-reducing one when `max` orders
    /// were already admitted in the window. `now` earlier than the last order (a clock step
    /// back) is counted at the last order's time, so the window never lets a burst through.
    pub fn admit(
        &mut self,
        max: Option<u32>,
        reducing: bool,
        now: Timestamp,
    ) -> Result<(), RiskRefusal> {
        let now = self.sent.back().map_or(now, |last| now.max(*last));
        self.prune(now);
        if let Some(max) = max
            && !reducing
            && self.sent.len() >= max as usize
        {
            return Err(RiskRefusal::new(
                RiskRule::MaxOrdersPerMinute,
                format!(
                    "{} orders in the last {ORDER_RATE_WINDOW_SECS} s; limit {max}",
                    self.sent.len()
                ),
            ));
        }
        self.sent.push_back(now);
        Ok(())
    }
}
