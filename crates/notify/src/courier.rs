//! At-least-once delivery: one courier per channel drains the durable [`Outbox`] in order,
//! keeps its place and its [`Policy`] in the store after every message, and retries a failed
//! send with back-off until it goes. A restart resumes from the saved place, so nothing said is
//! said again (except a message whose sending and saving a crash separated: at least once, never
//! at most once) and nothing unsaid is lost.
//!
//! The outbox is the engine's audit trail (every fill, refusal, risk change, kill switch, start
//! and stop is written there in the transaction that made it) plus the few events the trail does
//! not hold (a source going stale, a reconciliation error), which wait in the courier's saved
//! [`Progress`] until said. A channel that is down holds only its own messages back; the rate
//! limit and the summaries apply as before, their counts saved with the place.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc, watch};
use tradeengine_model::Clock;

use crate::channel::Channel;
use crate::config::ChannelLimits;
use crate::event::Event;
use crate::policy::{Due, Policy};

/// Items read from the outbox at once.
pub const PAGE: usize = 200;
/// Events from outside the outbox kept while a channel is down; past it the oldest go (a
/// source flapping for hours must not grow the saved record without end).
pub const MAX_WAITING: usize = 1000;

/// One item of the outbox: its place, and the notice it makes if it makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub seq: i64,
    pub event: Option<Event>,
}

#[derive(Debug, thiserror::Error)]
#[error("notification outbox: {0}")]
pub struct OutboxError(pub String);

/// The durable side: the items in order, and each channel's saved progress.
#[async_trait]
pub trait Outbox: Send + Sync + std::fmt::Debug {
    /// The newest item's seq (0 when there is none): where a channel seen for the first time
    /// starts, so it is not flooded with what happened before it was configured.
    async fn head(&self) -> Result<i64, OutboxError>;
    /// Up to `limit` items with `seq > after`, oldest first.
    async fn after(&self, after: i64, limit: usize) -> Result<Vec<Item>, OutboxError>;
    async fn load(&self, channel: &str) -> Result<Option<Progress>, OutboxError>;
    async fn save(&self, channel: &str, progress: &Progress) -> Result<(), OutboxError>;
}

/// A channel's place in the outbox, saved after every message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Every item up to this seq is settled: sent, counted in a summary, or switched off.
    pub after: i64,
    /// Events from outside the outbox, oldest first, still to be said.
    pub waiting: VecDeque<Event>,
    pub policy: Policy,
    /// The message being sent (see [`Courier`]) and the destinations that already have it, so
    /// a retry, even after a restart, skips them.
    pub sending: Option<String>,
    pub done: BTreeSet<i64>,
}

/// What sending the message in flight settles.
#[derive(Debug, Clone, PartialEq)]
enum Settles {
    Item(i64),
    Waiting,
    Due(Due),
}

impl Settles {
    fn key(&self) -> String {
        match self {
            Self::Item(seq) => format!("item {seq}"),
            Self::Waiting => "waiting".into(),
            Self::Due(Due::RefusalSummary) => "refusal summary".into(),
            Self::Due(Due::HeldBack) => "held back".into(),
        }
    }
}

#[derive(Debug, Clone)]
struct InFlight {
    text: String,
    event: Option<Event>,
    settles: Settles,
}

/// What one [`Courier::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A message went out.
    Sent,
    /// Items were settled without a message (switched off, counted, held back).
    Settled,
    /// Nothing to do until something new arrives or a summary falls due.
    Idle,
    /// The send failed; try again after this long.
    Failed(Duration),
}

/// Doubling waits between failed sends, `base` to `max`.
#[derive(Debug, Clone)]
struct Backoff {
    base: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max,
            next: base,
        }
    }

    fn take(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    fn reset(&mut self) {
        self.next = self.base;
    }
}

/// Drains the outbox into one channel.
#[derive(Debug)]
pub struct Courier {
    channel: Arc<dyn Channel>,
    limits: ChannelLimits,
    outbox: Arc<dyn Outbox>,
    clock: Arc<dyn Clock>,
    progress: Progress,
    inflight: Option<InFlight>,
    dirty: bool,
    backoff: Backoff,
}

impl Courier {
    /// The channel's courier, from its saved progress or, the first time, from the outbox's
    /// head (saved at once, so what happens from now on is said even if the engine stops
    /// before the first message).
    pub async fn open(
        channel: Arc<dyn Channel>,
        limits: ChannelLimits,
        outbox: Arc<dyn Outbox>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, OutboxError> {
        let progress = match outbox.load(channel.name()).await? {
            Some(p) => p,
            None => {
                let p = Progress {
                    after: outbox.head().await?,
                    waiting: VecDeque::new(),
                    policy: Policy::new(&limits),
                    sending: None,
                    done: BTreeSet::new(),
                };
                outbox.save(channel.name(), &p).await?;
                p
            }
        };
        Ok(Self {
            channel,
            limits,
            outbox,
            clock,
            progress,
            inflight: None,
            dirty: false,
            backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(300)),
        })
    }

    /// Waits between failed sends: `base`, doubling, at most `max` (default 1 s to 5 min).
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff = Backoff::new(base, max);
        self
    }

    /// The saved place, as far as this courier has got.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// An event from outside the outbox: kept with the progress (saved at the next step) and
    /// said in turn.
    pub fn queue(&mut self, event: Event) {
        // The front may be the message in flight: it stays.
        let oldest = usize::from(
            self.inflight
                .as_ref()
                .is_some_and(|f| f.settles == Settles::Waiting),
        );
        if self.progress.waiting.len() >= MAX_WAITING
            && let Some(gone) = self.progress.waiting.remove(oldest)
        {
            tracing::warn!(
                channel = self.channel.name(),
                kind = gone.kind().as_str(),
                "notification queue full; the oldest waiting event dropped"
            );
        }
        self.progress.waiting.push_back(event);
        self.dirty = true;
    }

    async fn save(&mut self) -> Result<(), OutboxError> {
        self.outbox
            .save(self.channel.name(), &self.progress)
            .await?;
        self.dirty = false;
        Ok(())
    }

    /// Picks the next message to send, settling on the way what needs none; `Err(true)` when
    /// items were settled and more may follow, `Err(false)` when nothing is left.
    async fn next_message(&mut self) -> Result<Result<InFlight, bool>, OutboxError> {
        let now = self.clock.now();
        if let Some((text, due)) = self.progress.policy.due(&self.limits, now) {
            return Ok(Ok(InFlight {
                text,
                event: None,
                settles: Settles::Due(due),
            }));
        }
        while let Some(e) = self.progress.waiting.front().cloned() {
            match self.progress.policy.decide(&self.limits, &e, now) {
                Some(text) => {
                    return Ok(Ok(InFlight {
                        text,
                        event: Some(e),
                        settles: Settles::Waiting,
                    }));
                }
                None => {
                    self.progress.waiting.pop_front();
                    self.dirty = true;
                }
            }
        }
        let page = self.outbox.after(self.progress.after, PAGE).await?;
        let more = !page.is_empty();
        for item in page {
            if let Some(e) = item.event
                && let Some(text) = self.progress.policy.decide(&self.limits, &e, now)
            {
                return Ok(Ok(InFlight {
                    text,
                    event: Some(e),
                    settles: Settles::Item(item.seq),
                }));
            }
            self.progress.after = item.seq;
            self.dirty = true;
        }
        Ok(Err(more))
    }

    /// Sends the next message (or retries the one that failed), settling what needs none.
    pub async fn step(&mut self) -> Result<Step, OutboxError> {
        if self.inflight.is_none() {
            let next = match self.next_message().await? {
                Ok(next) => next,
                Err(more) => {
                    if self.dirty {
                        self.save().await?;
                    }
                    return Ok(if more { Step::Settled } else { Step::Idle });
                }
            };
            let key = next.settles.key();
            if self.progress.sending.as_deref() != Some(&key) {
                self.progress.sending = Some(key);
                self.progress.done.clear();
            }
            self.inflight = Some(next);
        }
        let Some(f) = self.inflight.clone() else {
            return Ok(Step::Idle);
        };
        let had = self.progress.done.len();
        match self
            .channel
            .deliver(&f.text, f.event.as_ref(), &mut self.progress.done)
            .await
        {
            Ok(()) => {
                match &f.settles {
                    Settles::Item(seq) => self.progress.after = *seq,
                    Settles::Waiting => {
                        self.progress.waiting.pop_front();
                    }
                    Settles::Due(due) => self.progress.policy.settle(due, self.clock.now()),
                }
                self.progress.sending = None;
                self.progress.done.clear();
                self.inflight = None;
                self.backoff.reset();
                self.save().await?;
                Ok(Step::Sent)
            }
            Err(e) => {
                let wait = self.backoff.take();
                tracing::warn!(channel = self.channel.name(), error = %e, retry_in_ms = wait.as_millis(), "notification not sent; will retry");
                if self.progress.done.len() != had || self.dirty {
                    self.save().await?;
                }
                Ok(Step::Failed(wait))
            }
        }
    }

    /// Runs until `stop` turns true, then sends what it can of what is already in the outbox
    /// and returns at the first failure or when nothing is left (the rest waits for the next
    /// start). `waiting` brings events from outside the outbox; `wake` says the outbox grew;
    /// `poll` bounds how long an idle courier sleeps (summaries fall due with time).
    pub async fn run(
        mut self,
        mut waiting: mpsc::Receiver<Event>,
        wake: Arc<Notify>,
        mut stop: watch::Receiver<bool>,
        poll: Duration,
    ) {
        let mut open = true;
        let mut stopped = false;
        loop {
            while let Ok(e) = waiting.try_recv() {
                self.queue(e);
            }
            let stopping = stopped || *stop.borrow();
            let (pause, backing_off) = match self.step().await {
                Ok(Step::Sent | Step::Settled) => continue,
                Ok(Step::Idle) => (poll, false),
                Ok(Step::Failed(wait)) => (wait, true),
                Err(e) => {
                    let wait = self.backoff.take();
                    tracing::warn!(channel = self.channel.name(), error = %e, "notification outbox failed; will retry");
                    (wait, true)
                }
            };
            if stopping {
                if self.dirty {
                    let _ = self.save().await;
                }
                return;
            }
            // While backing off, new items do not cut the wait short: they wait their turn
            // (an event from outside is saved at once all the same).
            let until = tokio::time::Instant::now() + pause;
            loop {
                tokio::select! {
                    () = tokio::time::sleep_until(until) => break,
                    () = wake.notified(), if !backing_off => break,
                    e = waiting.recv(), if open => match e {
                        Some(e) => {
                            self.queue(e);
                            if !backing_off {
                                break;
                            }
                            if let Err(e) = self.save().await {
                                tracing::warn!(error = %e, "notification outbox cannot save");
                            }
                        }
                        None => open = false,
                    },
                    r = stop.changed() => {
                        stopped |= r.is_err();
                        break;
                    }
                }
            }
        }
    }
}
