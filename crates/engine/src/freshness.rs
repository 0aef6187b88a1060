//! Whether each polled source (SN8, the strategy source) is fresh: when it last succeeded, since
//! when it is stale and why (its last error).
//!
//! A source that cannot be read keeps its sleeves as `on_stale` says, but an operator must see
//! it at once, not find it in a log: the API (`GET /api/v1/sources` and `"stale": true` on the
//! source's contributions in `GET /api/v1/symbols`), `tradeengine status`, the dashboard and the
//! `tradeengine_source_stale` gauge all read this book. Pollers write it after every poll with
//! the engine's clock, so it is deterministic under test.
//!
//! The log says it once, not every poll: a WARN when a source goes stale (since when and why),
//! a reminder WARN at most every [`STALE_REMINDER`] while it stays stale, and an INFO when it is
//! fresh again.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use tradeengine_model::Timestamp;

/// How often the log reminds an operator of a source that stays stale.
pub const STALE_REMINDER: TimeDelta = TimeDelta::minutes(10);

/// A polled source's freshness, as served by the API and printed by `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFreshness {
    /// The source's type (`sn8`, `strategy`).
    pub kind: String,
    /// True when the source has had no accepted poll within its TTL.
    pub stale: bool,
    /// When it went stale (the poll that found it so); `None` while fresh.
    pub stale_since: Option<Timestamp>,
    /// The last poll that was accepted.
    pub last_success: Option<Timestamp>,
    /// Why the last poll failed, while the source is failing (cleared by a success).
    pub last_error: Option<String>,
    pub last_error_at: Option<Timestamp>,
    /// Failed polls since the last success.
    pub consecutive_failures: u64,
    /// The last poll, whatever its outcome.
    pub checked_at: Timestamp,
    /// Age of the last success past which the source is stale.
    pub ttl_secs: u64,
    /// The last WARN about this source's staleness (internal: paces the reminders).
    #[serde(skip)]
    pub warned_at: Option<Timestamp>,
}

/// What the log said about a source's staleness after a poll, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleNote {
    /// Fresh → stale (WARN).
    WentStale,
    /// Still stale, and the last WARN is [`STALE_REMINDER`] old (WARN).
    StillStale,
    /// Stale → fresh (INFO).
    Fresh,
}

/// Every polled source's freshness, by source name. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct FreshnessBook(Arc<RwLock<BTreeMap<String, SourceFreshness>>>);

impl FreshnessBook {
    /// Starts tracking a source (at engine start): fresh until its TTL passes without success.
    pub fn register(&self, source: &str, kind: &str, ttl_secs: u64, now: Timestamp) {
        self.edit(|map| {
            map.insert(
                source.to_string(),
                SourceFreshness {
                    kind: kind.to_string(),
                    stale: false,
                    stale_since: None,
                    last_success: None,
                    last_error: None,
                    last_error_at: None,
                    consecutive_failures: 0,
                    checked_at: now,
                    ttl_secs,
                    warned_at: None,
                },
            );
        });
        crate::telemetry::source_stale(source, false);
    }

    /// A poll was accepted.
    pub fn success(&self, source: &str, now: Timestamp) {
        self.update(source, now, |f| {
            f.last_success = Some(now);
            f.last_error = None;
            f.last_error_at = None;
            f.consecutive_failures = 0;
        });
    }

    /// A poll failed (fetch, guard, ranking), with why.
    pub fn failure(&self, source: &str, error: &str, now: Timestamp) {
        crate::telemetry::source_poll_failed(source);
        let error = crate::one_line::header_safe(error);
        self.update(source, now, |f| {
            f.last_error = Some(error);
            f.last_error_at = Some(now);
            f.consecutive_failures += 1;
        });
    }

    /// The source's own staleness verdict after a poll.
    pub fn set_stale(&self, source: &str, stale: bool, now: Timestamp) -> Option<StaleNote> {
        let mut said = None;
        self.update(source, now, |f| {
            let note = match (f.stale, stale) {
                (false, true) => Some(StaleNote::WentStale),
                (true, true) if f.warned_at.is_none_or(|w| now - w >= STALE_REMINDER) => {
                    Some(StaleNote::StillStale)
                }
                (true, false) => Some(StaleNote::Fresh),
                _ => None,
            };
            if stale && !f.stale {
                f.stale_since = Some(now);
            }
            if !stale {
                f.stale_since = None;
                f.warned_at = None;
            }
            f.stale = stale;
            if matches!(note, Some(StaleNote::WentStale | StaleNote::StillStale)) {
                f.warned_at = Some(now);
            }
            said = note.map(|n| (n, f.clone()));
        });
        crate::telemetry::source_stale(source, stale);
        let (note, f) = said?;
        let since = f.stale_since.map(|t| t.to_rfc3339());
        let last_success = f.last_success.map(|t| t.to_rfc3339());
        let why = f.last_error.as_deref().unwrap_or("no accepted poll");
        match note {
            StaleNote::WentStale => tracing::warn!(
                %source, kind = %f.kind, ttl_secs = f.ttl_secs, ?last_success, %why,
                "source is stale: no accepted poll within its TTL; its sleeves follow on_stale"
            ),
            StaleNote::StillStale => tracing::warn!(
                %source, kind = %f.kind, ?since, failures = f.consecutive_failures, %why,
                "source still stale (reminded every 10 minutes while it lasts)"
            ),
            StaleNote::Fresh => tracing::info!(%source, kind = %f.kind, "source is fresh again"),
        }
        Some(note)
    }

    /// Every tracked source.
    pub fn snapshot(&self) -> BTreeMap<String, SourceFreshness> {
        self.0.read().map(|m| m.clone()).unwrap_or_default()
    }

    /// One source, when tracked.
    pub fn get(&self, source: &str) -> Option<SourceFreshness> {
        self.0.read().ok()?.get(source).cloned()
    }

    fn update(&self, source: &str, now: Timestamp, f: impl FnOnce(&mut SourceFreshness)) {
        self.edit(|map| {
            if let Some(entry) = map.get_mut(source) {
                entry.checked_at = now;
                f(entry);
            }
        });
    }

    fn edit(&self, f: impl FnOnce(&mut BTreeMap<String, SourceFreshness>)) {
        if let Ok(mut map) = self.0.write() {
            f(&mut map);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap_or_default()
    }

    #[test]
    fn a_failing_source_goes_stale_with_since_and_why_and_recovers() {
        let book = FreshnessBook::default();
        book.register("sn8", "sn8", 120, at(0));
        book.success("sn8", at(10));
        book.failure("sn8", "connection refused", at(70));
        book.set_stale("sn8", false, at(70));
        let f = book.get("sn8").unwrap();
        assert!(!f.stale);
        assert_eq!(f.last_error.as_deref(), Some("connection refused"));
        book.failure("sn8", "HTTP 503", at(140));
        book.set_stale("sn8", true, at(140));
        book.failure("sn8", "HTTP 503", at(200));
        book.set_stale("sn8", true, at(200));
        let f = book.get("sn8").unwrap();
        assert!(f.stale);
        assert_eq!(
            f.stale_since,
            Some(at(140)),
            "since the poll that found it stale"
        );
        assert_eq!(f.last_success, Some(at(10)));
        assert_eq!(f.consecutive_failures, 3);
        assert_eq!(f.last_error.as_deref(), Some("HTTP 503"));
        book.success("sn8", at(260));
        book.set_stale("sn8", false, at(260));
        let f = book.get("sn8").unwrap();
        assert!(!f.stale && f.stale_since.is_none() && f.last_error.is_none());
        assert_eq!(f.checked_at, at(260));
        // An untracked source is ignored.
        assert_eq!(book.set_stale("other", true, at(1)), None);
        book.success("other", at(1));
        assert!(book.get("other").is_none());
    }

    #[test]
    fn the_log_warns_when_stale_then_every_ten_minutes_and_says_when_fresh() {
        let book = FreshnessBook::default();
        book.register("sn8", "sn8", 120, at(0));
        assert_eq!(book.set_stale("sn8", false, at(10)), None);
        assert_eq!(
            book.set_stale("sn8", true, at(130)),
            Some(StaleNote::WentStale)
        );
        // Every poll after that is quiet until ten minutes have passed since the last line.
        for secs in (140..730).step_by(10) {
            assert_eq!(book.set_stale("sn8", true, at(secs)), None, "at {secs}");
        }
        assert_eq!(
            book.set_stale("sn8", true, at(730)),
            Some(StaleNote::StillStale)
        );
        assert_eq!(book.set_stale("sn8", true, at(740)), None);
        assert_eq!(
            book.set_stale("sn8", false, at(750)),
            Some(StaleNote::Fresh)
        );
        assert_eq!(book.set_stale("sn8", false, at(760)), None);
        // Stale again: a new first line.
        assert_eq!(
            book.set_stale("sn8", true, at(900)),
            Some(StaleNote::WentStale)
        );
    }
}
