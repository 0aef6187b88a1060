//! Which *occurrence* of an id-less, time-less message body a delivery belongs to, so that its
//! idempotency key does not depend on when it happened to be delivered.
//!
//! A broker message with no id and no time of its own can only be recognised by its body. The
//! same body can be a redelivery (must not count again) or a deliberate repeat (an amount-signal
//! producer sends the same BUY every cycle; a BUY, SELL, BUY sequence must count the second BUY). A
//! fixed time bucket (`receive time / window`) as the key's suffix got both wrong at a bucket's
//! edge: a message stored at 11:59:59.5 and redelivered at 12:00:01 got a second key and was stored
//! twice.
//!
//! Here the suffix names the occurrence: the receive time (ms) at which this body was **first**
//! seen, kept per body hash.
//! - A **redelivered** message (the broker says so: AMQP `redelivered`) is never a new
//!   occurrence: it gets the latest occurrence of its body, however long ago that was, and so the
//!   key its first delivery had. Only a body never seen before starts one.
//! - A first delivery within `window` of its body's latest occurrence's first sighting is the
//!   same occurrence (a producer's retry); later, it starts a new one.
//!
//! The table is in memory; a source rebuilds it at start from the signals the store holds
//! ([`Occurrences::learn_key`]), so a redelivery after a restart finds its first key too.
//! Memory is bounded by `max_entries`, oldest first out.

use std::collections::{HashMap, VecDeque};

use chrono::TimeDelta;
use tradeengine_model::Timestamp;

/// The latest occurrence of one body.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Occurrence {
    /// The key's suffix (`body:{hash}@{anchor}`).
    anchor: String,
    first_seen: Timestamp,
}

/// Body hash → its latest occurrence (module docs).
#[derive(Debug, Clone)]
pub struct Occurrences {
    max_entries: usize,
    latest: HashMap<String, Occurrence>,
    order: VecDeque<(String, Timestamp)>,
}

impl Default for Occurrences {
    fn default() -> Self {
        Self::new(200_000)
    }
}

impl Occurrences {
    pub fn new(max_entries: usize) -> Self {
        Self {
            max_entries: max_entries.max(1),
            latest: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The anchor of the occurrence a delivery of the body `hash` at `now` belongs to (module
    /// docs), starting a new occurrence when it belongs to none.
    pub fn anchor(
        &mut self,
        hash: &str,
        now: Timestamp,
        window: TimeDelta,
        redelivered: bool,
    ) -> String {
        if let Some(o) = self.latest.get(hash) {
            let since = now.signed_duration_since(o.first_seen);
            if redelivered || (since >= TimeDelta::zero() && since <= window) {
                return o.anchor.clone();
            }
        }
        let anchor = now.timestamp_millis().to_string();
        self.insert(hash, anchor.clone(), now);
        anchor
    }

    /// Learns a stored key (`body:{hash}@{anchor}`, as [`crate::message`] makes them) and the
    /// time its signal was received. Keys of another shape are ignored. An older occurrence
    /// never replaces a newer one, so the store may be read in any order.
    pub fn learn_key(&mut self, key: &str, received_at: Timestamp) {
        let Some((hash, anchor)) = key
            .strip_prefix("body:")
            .and_then(|rest| rest.split_once('@'))
        else {
            return;
        };
        if let Some(o) = self.latest.get(hash)
            && o.first_seen >= received_at
        {
            return;
        }
        self.insert(hash, anchor.to_string(), received_at);
    }

    fn insert(&mut self, hash: &str, anchor: String, first_seen: Timestamp) {
        while self.latest.len() >= self.max_entries && !self.latest.contains_key(hash) {
            let Some((old, at)) = self.order.pop_front() else {
                break;
            };
            if self.latest.get(&old).is_some_and(|o| o.first_seen == at) {
                self.latest.remove(&old);
            }
        }
        self.latest
            .insert(hash.to_string(), Occurrence { anchor, first_seen });
        self.order.push_back((hash.to_string(), first_seen));
        // Stale queue entries (a hash re-inserted later) are dropped when they reach the front.
        if self.order.len() > self.max_entries.saturating_mul(2) {
            let latest = &self.latest;
            self.order
                .retain(|(h, at)| latest.get(h).is_some_and(|o| o.first_seen == *at));
        }
    }

    /// Bodies currently known.
    pub fn len(&self) -> usize {
        self.latest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.latest.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(ms: i64) -> Timestamp {
        chrono::Utc
            .timestamp_millis_opt(1_767_225_600_000 + ms)
            .unwrap()
    }

    const MIN: TimeDelta = TimeDelta::minutes(1);

    #[test]
    fn a_redelivery_keeps_its_occurrence_across_any_boundary() {
        let mut o = Occurrences::default();
        // First seen half a second before a minute boundary.
        let first = o.anchor("h", t(59_500), MIN, false);
        assert_eq!(o.anchor("h", t(61_000), MIN, true), first);
        assert_eq!(o.anchor("h", t(3_600_000), MIN, true), first);
        // A first delivery within the window is the same occurrence, even past a boundary.
        assert_eq!(o.anchor("h", t(100_000), MIN, false), first);
    }

    #[test]
    fn a_deliberate_repeat_after_the_window_is_a_new_occurrence() {
        let mut o = Occurrences::default();
        let first = o.anchor("h", t(0), MIN, false);
        let second = o.anchor("h", t(61_000), MIN, false);
        assert_ne!(first, second);
        // Its redelivery belongs to the newest occurrence.
        assert_eq!(o.anchor("h", t(200_000), MIN, true), second);
        // A body never seen starts an occurrence even when redelivered.
        let other = o.anchor("g", t(5_000), MIN, true);
        assert_eq!(other, t(5_000).timestamp_millis().to_string());
    }

    #[test]
    fn stored_keys_are_learned_newest_wins() {
        let mut o = Occurrences::default();
        o.learn_key("body:h@111", t(10));
        o.learn_key("body:h@99", t(5));
        o.learn_key("msg:abc", t(20));
        o.learn_key("body:nohash", t(20));
        assert_eq!(o.len(), 1);
        assert_eq!(o.anchor("h", t(999_999), MIN, true), "111");
    }

    #[test]
    fn memory_is_bounded() {
        let mut o = Occurrences::new(3);
        for i in 0..10 {
            o.anchor(&format!("h{i}"), t(i * 100_000), MIN, false);
        }
        assert_eq!(o.len(), 3);
        o.anchor("h9", t(2_000_000), MIN, false);
        assert_eq!(o.len(), 3);
        assert!(o.order.len() <= 6);
    }
}
