//! Feeds [`crate::state::live`]: follows the audit chain (as `sources::events` does for the
//! brokers, so the account workers need no hook and nothing decided goes unsaid), and watches
//! the sources' freshness and the prices for changes.
//!
//! It starts at the chain's head as the engine starts (history is not replayed: the event
//! stream replays it from the store for a reader that asks). On stop it reads the chain one
//! last time, so the engine's stop reaches the notifications.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tradeengine_model::{Clock, Price, Symbol};
use tradeengine_store::Store;

use crate::state::SharedState;
use crate::state::live::LiveEvent;

/// How often the chain and the boards are read.
const POLL: Duration = Duration::from_millis(200);
/// Prices are said at most this often (every fifth poll).
const PRICE_EVERY: u32 = 5;
/// Events read from the chain at once.
const PAGE: i64 = 1000;

/// The feed's memory between polls.
#[derive(Debug)]
pub struct LiveFeed {
    store: Arc<dyn Store>,
    state: SharedState,
    clock: Arc<dyn Clock>,
    cursor: i64,
    stale: BTreeMap<String, bool>,
    prices: BTreeMap<Symbol, Price>,
    /// Each account's last cycle error as last said.
    errors: BTreeMap<String, Option<String>>,
    failing: bool,
}

impl LiveFeed {
    /// A feed that says what comes after audit event `cursor`.
    pub fn new(
        store: Arc<dyn Store>,
        state: SharedState,
        clock: Arc<dyn Clock>,
        cursor: i64,
    ) -> Self {
        let stale = state
            .source_freshness()
            .into_iter()
            .map(|(name, f)| (name, f.stale))
            .collect();
        Self {
            store,
            state,
            clock,
            cursor,
            stale,
            prices: BTreeMap::new(),
            errors: BTreeMap::new(),
            failing: false,
        }
    }

    /// Publishes the audit events after the cursor.
    pub async fn pump_audit(&mut self) {
        loop {
            match self.store.audit_events(self.cursor, PAGE).await {
                Ok(events) => {
                    if self.failing {
                        tracing::info!("live feed reads the audit trail again");
                        self.failing = false;
                    }
                    let n = events.len();
                    for e in &events {
                        self.cursor = self.cursor.max(e.seq);
                        self.state.publish_live(LiveEvent::from_audit(e));
                    }
                    if i64::try_from(n).unwrap_or(i64::MAX) < PAGE {
                        return;
                    }
                }
                Err(e) => {
                    if !self.failing {
                        tracing::warn!(error = %e, "live feed cannot read the audit trail");
                        self.failing = true;
                    }
                    return;
                }
            }
        }
    }

    /// Publishes each source whose staleness changed.
    pub fn pump_freshness(&mut self) {
        for (name, f) in self.state.source_freshness() {
            if self.stale.insert(name.clone(), f.stale) != Some(f.stale) {
                self.state.publish_live(LiveEvent::Freshness {
                    source: name,
                    stale: f.stale,
                    stale_since: f.stale_since,
                    last_error: f.last_error,
                    at: f.checked_at,
                });
            }
        }
    }

    /// Publishes each account whose cycle began failing or works again.
    pub async fn pump_accounts(&mut self) {
        for (account, view) in self.state.account_views().await {
            let name = account.to_string();
            let was = self.errors.get(&name).cloned().flatten();
            if was != view.last_error {
                self.errors.insert(name.clone(), view.last_error.clone());
                self.state.publish_live(LiveEvent::AccountError {
                    account: name,
                    error: view.last_error,
                    at: view.last_cycle_at.unwrap_or_else(|| self.clock.now()),
                });
            }
        }
    }

    /// Publishes the prices that changed.
    pub async fn pump_prices(&mut self) {
        let now = self.state.prices().await;
        let changed: BTreeMap<Symbol, Price> = now
            .iter()
            .filter(|(s, p)| self.prices.get(*s) != Some(*p))
            .map(|(s, p)| (s.clone(), *p))
            .collect();
        if !changed.is_empty() {
            self.prices = now;
            self.state.publish_live(LiveEvent::Prices {
                at: self.clock.now(),
                prices: changed,
            });
        }
    }

    /// Runs until `stop`, then reads the chain once more.
    pub async fn run(mut self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut n: u32 = 0;
        loop {
            let stopping = tokio::select! {
                _ = stop.cancelled() => true,
                _ = tick.tick() => false,
            };
            self.pump_audit().await;
            self.pump_freshness();
            n = n.wrapping_add(1);
            if n.is_multiple_of(PRICE_EVERY) {
                self.pump_prices().await;
                self.pump_accounts().await;
            }
            if stopping {
                return;
            }
        }
    }
}
