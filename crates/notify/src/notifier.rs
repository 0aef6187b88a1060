//! Deciding what each channel says and when: the kind switches, the rate limit, the refusal
//! summaries and the note of what the limit held back. Time comes from the injected clock, so
//! a test can flood a channel and step through the minutes.
//!
//! Refused signals: the first of a quiet spell is sent at once; the ones after it, until
//! `refusal_summary_secs` have passed, are counted and said in one summary line (by source and
//! reason). Other kinds over the limit are counted and said in one "held back" line as soon as
//! the limit allows, except the urgent kinds ([`NoticeKind::is_urgent`]), which always go.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::mpsc;
use tradeengine_model::{Clock, Timestamp};

use crate::channel::Channel;
use crate::config::ChannelLimits;
use crate::event::{Event, NoticeKind};
use crate::format;
use crate::limit::RateLimit;

#[derive(Debug)]
struct Route {
    channel: Arc<dyn Channel>,
    limits: ChannelLimits,
    bucket: RateLimit,
    /// Messages the limit held back, by kind.
    held: BTreeMap<NoticeKind, u64>,
    /// Refusals since the window opened: source → reason → count.
    refused: BTreeMap<String, BTreeMap<String, u64>>,
    /// When the refusal window opened (the first refusal of a quiet spell).
    window_from: Option<Timestamp>,
}

impl Route {
    fn count_refusal(&mut self, source: &str, reason: &str) {
        *self
            .refused
            .entry(source.to_string())
            .or_default()
            .entry(reason.to_string())
            .or_default() += 1;
    }
}

/// Sends events to the configured channels.
#[derive(Debug)]
pub struct Notifier {
    routes: Vec<Route>,
    clock: Arc<dyn Clock>,
}

impl Notifier {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            routes: Vec::new(),
            clock,
        }
    }

    /// Adds a channel with its switches and limits.
    pub fn add(&mut self, channel: Arc<dyn Channel>, limits: ChannelLimits) {
        self.routes.push(Route {
            channel,
            bucket: RateLimit::new(limits.per_minute),
            limits,
            held: BTreeMap::new(),
            refused: BTreeMap::new(),
            window_from: None,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Says `event` on every channel that wants its kind, as the limits allow.
    pub async fn notify(&mut self, event: &Event) {
        let now = self.clock.now();
        let kind = event.kind();
        for r in &mut self.routes {
            if !r.limits.notify.allows(kind) {
                continue;
            }
            if let Event::SignalRefused { source, reason, .. } = event
                && r.window_from.is_some()
            {
                r.count_refusal(source, reason);
                continue;
            }
            if kind.is_urgent() {
                r.bucket.take_anyway(now);
            } else if !r.bucket.try_take(now) {
                match event {
                    // The first refusal of a spell, over the limit: it opens the window and
                    // is the summary's first count.
                    Event::SignalRefused { source, reason, .. } => {
                        r.window_from = Some(now);
                        r.count_refusal(source, reason);
                    }
                    _ => *r.held.entry(kind).or_default() += 1,
                }
                continue;
            }
            if kind == NoticeKind::SignalRefused {
                r.window_from = Some(now);
            }
            send(r.channel.as_ref(), &format::render(event), Some(event)).await;
        }
    }

    /// Sends what is due: refusal summaries whose window has passed, and the note of what the
    /// limit held back once the limit allows one more message.
    pub async fn tick(&mut self) {
        let now = self.clock.now();
        for r in &mut self.routes {
            let window = TimeDelta::seconds(
                i64::try_from(r.limits.refusal_summary_secs).unwrap_or(i64::MAX),
            );
            if let Some(from) = r.window_from
                && now - from >= window
            {
                if r.refused.is_empty() {
                    r.window_from = None;
                } else if r.bucket.try_take(now) {
                    let text = format::refusal_summary(r.limits.refusal_summary_secs, &r.refused);
                    send(r.channel.as_ref(), &text, None).await;
                    r.refused.clear();
                    // A flood goes on: the next summary comes a window later.
                    r.window_from = Some(now);
                }
            }
            if !r.held.is_empty() && r.bucket.try_take(now) {
                let text = format::held_back(&r.held);
                send(r.channel.as_ref(), &text, None).await;
                r.held.clear();
            }
        }
    }

    /// Runs until `events` closes: each event as it comes, [`Self::tick`] every `tick_every`.
    /// What is still held when the sender goes is flushed once, as far as the limit allows.
    pub async fn run(mut self, mut events: mpsc::Receiver<Event>, tick_every: Duration) {
        let mut ticker = tokio::time::interval(tick_every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                e = events.recv() => match e {
                    Some(e) => self.notify(&e).await,
                    None => break,
                },
                _ = ticker.tick() => self.tick().await,
            }
        }
        self.tick().await;
    }
}

async fn send(channel: &dyn Channel, text: &str, event: Option<&Event>) {
    if let Err(e) = channel.send(text, event).await {
        tracing::warn!(channel = channel.name(), error = %e, "notification not sent");
    }
}
