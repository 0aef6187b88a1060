//! What one channel says and when: the kind switches, the rate limit, the refusal summaries and
//! the note of what the limit held back. Pure state, no I/O: the [`crate::courier`] keeps it in
//! the store with the channel's place in the outbox, so a restart neither repeats nor forgets a
//! summary. Time comes from the caller (an injected clock), so a test steps through the minutes.
//!
//! Refused signals: the first of a quiet spell is sent at once; the ones after it, until
//! `refusal_summary_secs` have passed, are counted and said in one summary line (by source and
//! reason). Other kinds over the limit are counted and said in one "held back" line as soon as
//! the limit allows, except the urgent kinds ([`NoticeKind::is_urgent`]), which always go.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use tradeengine_model::Timestamp;

use crate::config::ChannelLimits;
use crate::event::{Event, NoticeKind};
use crate::format;
use crate::limit::RateLimit;

/// A message that is due without an event behind it, and what sending it settles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Due {
    /// The refusals counted since the window opened.
    RefusalSummary,
    /// The kinds the limit held back.
    HeldBack,
}

/// One channel's decision state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    bucket: RateLimit,
    /// Messages the limit held back, by kind.
    held: BTreeMap<NoticeKind, u64>,
    /// Refusals since the window opened: source → reason → count.
    refused: BTreeMap<String, BTreeMap<String, u64>>,
    /// When the refusal window opened (the first refusal of a quiet spell).
    window_from: Option<Timestamp>,
}

impl Policy {
    pub fn new(limits: &ChannelLimits) -> Self {
        Self {
            bucket: RateLimit::new(limits.per_minute),
            held: BTreeMap::new(),
            refused: BTreeMap::new(),
            window_from: None,
        }
    }

    fn count_refusal(&mut self, source: &str, reason: &str) {
        *self
            .refused
            .entry(source.to_string())
            .or_default()
            .entry(reason.to_string())
            .or_default() += 1;
    }

    /// The text to send for `event` now, or `None` when it is switched off, counted into a
    /// summary or held back by the limit (either way it is settled: the caller moves on).
    pub fn decide(
        &mut self,
        limits: &ChannelLimits,
        event: &Event,
        now: Timestamp,
    ) -> Option<String> {
        let kind = event.kind();
        if !limits.notify.allows(kind) {
            return None;
        }
        if let Event::SignalRefused { source, reason, .. } = event
            && self.window_from.is_some()
        {
            self.count_refusal(source, reason);
            return None;
        }
        if kind.is_urgent() {
            self.bucket.take_anyway(now);
        } else if !self.bucket.try_take(now) {
            match event {
                // The first refusal of a spell, over the limit: it opens the window and is the
                // summary's first count.
                Event::SignalRefused { source, reason, .. } => {
                    self.window_from = Some(now);
                    self.count_refusal(source, reason);
                }
                _ => *self.held.entry(kind).or_default() += 1,
            }
            return None;
        }
        if kind == NoticeKind::SignalRefused {
            self.window_from = Some(now);
        }
        Some(format::render(event))
    }

    /// The summary or held-back note due now, if the limit allows one (it then takes its share
    /// of the limit). Call [`Self::settle`] once it is sent. A refusal window that passed
    /// without refusals is closed here.
    pub fn due(&mut self, limits: &ChannelLimits, now: Timestamp) -> Option<(String, Due)> {
        let window =
            TimeDelta::seconds(i64::try_from(limits.refusal_summary_secs).unwrap_or(i64::MAX));
        if let Some(from) = self.window_from
            && now - from >= window
        {
            if self.refused.is_empty() {
                self.window_from = None;
            } else if self.bucket.try_take(now) {
                let text = format::refusal_summary(limits.refusal_summary_secs, &self.refused);
                return Some((text, Due::RefusalSummary));
            }
        }
        if !self.held.is_empty() && self.bucket.try_take(now) {
            return Some((format::held_back(&self.held), Due::HeldBack));
        }
        None
    }

    /// A due message was delivered at `now`: what it said is cleared.
    pub fn settle(&mut self, due: &Due, now: Timestamp) {
        match due {
            Due::RefusalSummary => {
                self.refused.clear();
                // A flood goes on: the next summary comes a window later.
                self.window_from = Some(now);
            }
            Due::HeldBack => self.held.clear(),
        }
    }
}
