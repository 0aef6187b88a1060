//! Venue time: our clock plus a measured offset to the venue's.
//!
//! Venues reject a signed request whose timestamp is outside `[server − recvWindow,
//! server + 1 s)` (Binance −1021, Bybit 10002), so requests are stamped with
//! `local_now + offset`, where `offset = server_time − (t_sent + t_received) / 2` from one
//! server-time request (the midpoint assumes the reply took as long as the request). The offset
//! is measured at connect and again whenever the venue says the timestamp was wrong.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tradeengine_model::Clock;

/// Our injected clock plus the venue's measured offset, in milliseconds.
#[derive(Debug)]
pub struct VenueClock {
    clock: Arc<dyn Clock>,
    offset_ms: AtomicI64,
}

impl VenueClock {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            offset_ms: AtomicI64::new(0),
        }
    }

    /// Local time in epoch milliseconds, without the offset.
    pub fn local_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// The venue's time as we estimate it, epoch milliseconds: what signed requests carry.
    pub fn venue_ms(&self) -> i64 {
        self.local_ms()
            .saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    /// Records a server-time reading taken between local times `sent_ms` and `received_ms`.
    pub fn observe(&self, server_ms: i64, sent_ms: i64, received_ms: i64) {
        let mid = sent_ms.saturating_add(received_ms.saturating_sub(sent_ms) / 2);
        self.offset_ms
            .store(server_ms.saturating_sub(mid), Ordering::Relaxed);
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use tradeengine_model::ManualClock;

    use super::*;

    #[test]
    fn offset_is_measured_from_the_midpoint() {
        let start = chrono::Utc.timestamp_millis_opt(1_000_000).single();
        let clock = Arc::new(ManualClock::new(start.unwrap_or_default()));
        let vc = VenueClock::new(clock.clone());
        // Sent at 1 000 000, received at 1 000 100: midpoint 1 000 050; server said 1 030 050.
        vc.observe(1_030_050, 1_000_000, 1_000_100);
        assert_eq!(vc.offset_ms(), 30_000);
        assert_eq!(vc.venue_ms(), 1_030_000);
        clock.advance(chrono::Duration::milliseconds(5));
        assert_eq!(vc.venue_ms(), 1_030_005);
    }
}
