//! Fast-path duplicate suppression for alerts, in memory, with injected time.
//!
//! The durable guarantee is the store's unique idempotency key; this structure only saves the
//! round trip for the common case (TradingView double-fires, a user clicks "test" twice).
//! - An alert with an `event_id` is a duplicate of an earlier alert of the same source with
//!   that id **and the same body** seen within `event_window` (default 24 h). A different body
//!   under a reused id is a new alert: templates reuse ids (`{{strategy.order.id}}` is "Long"
//!   on every entry), and keying on the id alone dropped every entry after the first.
//! - Without one, an alert is a duplicate of an identical payload (same BLAKE3 of the
//!   secret-free body) seen within `body_window` (default 60 s): long enough for double-fires,
//!   short enough that a legitimate repeat (exit, later re-enter with the same text) passes.
//!
//! Memory is bounded by `max_entries`; when full, the oldest entries go first. A duplicate does
//! not refresh its entry, so a stream of repeats cannot keep a key alive forever.
//!
//! **Only stored alerts may be recorded.** A caller that answers "duplicate" from this window
//! must have recorded the key only once the alert's outcome was durable: [`Dedup::seen`] asks
//! without recording and [`Dedup::record`] records, so an alert whose store write failed is not
//! folded into a later retry. [`Dedup::check`] does both at once, for
//! callers with nothing to store.

use std::collections::{HashMap, VecDeque};

use chrono::Duration;
use tradeengine_model::Timestamp;

use super::parse::TvAlert;

/// What the dedup structure says about an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DedupVerdict {
    Fresh,
    /// Seen before, at `first_seen`.
    Duplicate {
        first_seen: Timestamp,
    },
}

/// Keys seen within one fixed window, oldest first.
#[derive(Debug, Clone)]
struct Window {
    window: Duration,
    seen: HashMap<String, Timestamp>,
    order: VecDeque<(Timestamp, String)>,
}

impl Window {
    fn new(window: Duration) -> Self {
        Self {
            window,
            seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    fn check(&mut self, key: String, now: Timestamp, max_entries: usize) -> DedupVerdict {
        let verdict = self.seen(&key, now);
        if verdict == DedupVerdict::Fresh {
            self.record(key, now, max_entries);
        }
        verdict
    }

    fn seen(&mut self, key: &str, now: Timestamp) -> DedupVerdict {
        self.expire(now);
        match self.seen.get(key) {
            Some(first) if now.signed_duration_since(*first) <= self.window => {
                DedupVerdict::Duplicate { first_seen: *first }
            }
            _ => DedupVerdict::Fresh,
        }
    }

    /// Records `key` as seen at `now`, unless it is already held within the window (a
    /// duplicate does not refresh its entry).
    fn record(&mut self, key: String, now: Timestamp, max_entries: usize) {
        if let DedupVerdict::Duplicate { .. } = self.seen(&key, now) {
            return;
        }
        while self.seen.len() >= max_entries {
            match self.order.pop_front() {
                Some((_, k)) => {
                    self.seen.remove(&k);
                }
                None => break,
            }
        }
        self.seen.insert(key.clone(), now);
        self.order.push_back((now, key));
    }

    /// Drops entries past the window. A queue entry whose key was re-inserted later (after
    /// expiring) no longer matches the map and is just discarded.
    fn expire(&mut self, now: Timestamp) {
        while let Some((at, key)) = self.order.front() {
            if now.signed_duration_since(*at) <= self.window {
                break;
            }
            if self.seen.get(key) == Some(at) {
                self.seen.remove(key);
            }
            self.order.pop_front();
        }
    }
}

/// Which window a key lives in.
enum Kind {
    Event,
    Body,
}

/// In-memory duplicate windows: one for event ids, one for body hashes.
#[derive(Debug, Clone)]
pub struct Dedup {
    max_entries: usize,
    events: Window,
    bodies: Window,
}

impl Default for Dedup {
    fn default() -> Self {
        Self::new(Duration::hours(24), Duration::seconds(60), 100_000)
    }
}

impl Dedup {
    /// `max_entries` bounds each window separately.
    pub fn new(event_window: Duration, body_window: Duration, max_entries: usize) -> Self {
        Self {
            max_entries: max_entries.max(1),
            events: Window::new(event_window),
            bodies: Window::new(body_window),
        }
    }

    /// Records the alert and says whether it was seen before within its window.
    pub fn check(&mut self, alert: &TvAlert, now: Timestamp) -> DedupVerdict {
        let src = alert.signal.source.as_str();
        match &alert.event_id {
            Some(ev) => self.check_event(src, ev, now),
            None => self.check_body(src, &alert.body_hash, now),
        }
    }

    /// Says whether the alert was seen within its window, without recording it.
    pub fn seen(&mut self, alert: &TvAlert, now: Timestamp) -> DedupVerdict {
        let (window, key) = self.key_of(alert);
        match window {
            Kind::Event => self.events.seen(&key, now),
            Kind::Body => self.bodies.seen(&key, now),
        }
    }

    /// Records the alert as seen at `now`: call once its outcome is stored.
    pub fn record(&mut self, alert: &TvAlert, now: Timestamp) {
        let max = self.max_entries;
        match self.key_of(alert) {
            (Kind::Event, key) => self.events.record(key, now, max),
            (Kind::Body, key) => self.bodies.record(key, now, max),
        }
    }

    fn key_of(&self, alert: &TvAlert) -> (Kind, String) {
        let src = alert.signal.source.as_str();
        match &alert.event_id {
            Some(ev) => (
                Kind::Event,
                format!("{src}\u{0}{ev}\u{0}{}", alert.body_hash),
            ),
            None => (Kind::Body, format!("{src}\u{0}{}", alert.body_hash)),
        }
    }

    /// Event-id check for any source.
    pub fn check_event(&mut self, source: &str, event_id: &str, now: Timestamp) -> DedupVerdict {
        self.bodies.expire(now);
        self.events
            .check(format!("{source}\u{0}{event_id}"), now, self.max_entries)
    }

    /// Body-hash check for any source.
    pub fn check_body(&mut self, source: &str, body_hash: &str, now: Timestamp) -> DedupVerdict {
        self.events.expire(now);
        self.bodies
            .check(format!("{source}\u{0}{body_hash}"), now, self.max_entries)
    }

    /// Keys currently held.
    pub fn len(&self) -> usize {
        self.events.seen.len() + self.bodies.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(s: i64) -> Timestamp {
        chrono::Utc.timestamp_opt(1_750_000_000 + s, 0).unwrap()
    }

    #[test]
    fn event_ids_fold_within_their_window_only() {
        let mut d = Dedup::new(Duration::seconds(100), Duration::seconds(10), 10);
        assert_eq!(d.check_event("tv", "e1", t(0)), DedupVerdict::Fresh);
        assert_eq!(
            d.check_event("tv", "e1", t(50)),
            DedupVerdict::Duplicate { first_seen: t(0) }
        );
        // Another source may use the same id.
        assert_eq!(d.check_event("tv2", "e1", t(50)), DedupVerdict::Fresh);
        // A duplicate does not extend the window.
        assert_eq!(d.check_event("tv", "e1", t(101)), DedupVerdict::Fresh);
    }

    #[test]
    fn body_hashes_use_the_short_window() {
        let mut d = Dedup::new(Duration::seconds(100), Duration::seconds(10), 10);
        assert_eq!(d.check_body("tv", "h", t(0)), DedupVerdict::Fresh);
        assert!(matches!(
            d.check_body("tv", "h", t(10)),
            DedupVerdict::Duplicate { .. }
        ));
        assert_eq!(d.check_body("tv", "h", t(11)), DedupVerdict::Fresh);
        // A body hash never collides with an event id.
        assert_eq!(d.check_event("tv", "h", t(11)), DedupVerdict::Fresh);
    }

    #[test]
    fn asking_does_not_record_and_recording_keeps_the_first_time() {
        let mut d = Dedup::new(Duration::seconds(100), Duration::seconds(10), 10);
        let mut w = Window::new(Duration::seconds(10));
        assert_eq!(w.seen("k", t(0)), DedupVerdict::Fresh);
        assert_eq!(w.seen("k", t(1)), DedupVerdict::Fresh, "asking recorded");
        w.record("k".into(), t(2), 10);
        w.record("k".into(), t(5), 10);
        assert_eq!(
            w.seen("k", t(6)),
            DedupVerdict::Duplicate { first_seen: t(2) }
        );
        assert_eq!(d.check_event("tv", "e", t(0)), DedupVerdict::Fresh);
    }

    #[test]
    fn memory_is_bounded_and_expiry_frees_it() {
        let mut d = Dedup::new(Duration::seconds(100), Duration::seconds(10), 3);
        for i in 0..10 {
            assert_eq!(
                d.check_event("tv", &format!("e{i}"), t(i)),
                DedupVerdict::Fresh
            );
        }
        assert_eq!(d.len(), 3);
        // The oldest were evicted, the newest remain.
        assert_eq!(d.check_event("tv", "e0", t(10)), DedupVerdict::Fresh);
        assert!(matches!(
            d.check_event("tv", "e9", t(10)),
            DedupVerdict::Duplicate { .. }
        ));
        let _ = d.check_body("tv", "x", t(1000));
        assert_eq!(d.len(), 1);
        assert!(!d.is_empty());
    }
}
