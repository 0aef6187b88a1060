//! One task per account. Each runs reconciliation cycles when a target changes and every
//! drift-check interval, backs off after failures, and never shares a failure with another
//! account (ARCHITECTURE.md, "Failures stay local").

mod batch;
pub mod cycle;
mod decide;
pub mod execute;
mod gross;
mod kill_targets;
pub mod outcome;
pub mod outside;
pub mod pricing;
pub mod recovery;
pub mod rejections;
pub mod symbol;
pub mod targets;
mod trade;
pub mod unknown;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use tokio_util::sync::CancellationToken;
use tradeengine_core::risk::OrderRateWindow;
use tradeengine_model::{AccountName, Clock, Instrument, Symbol};
use tradeengine_store::Store;
use tradeengine_venues::Venue;

use crate::killswitch::KillAction;
use crate::plan_ids::PlanIds;
use crate::state::{AccountView, SharedState};

/// After orders went out, run again this soon to confirm the result from the venue.
const FOLLOW_UP: Duration = Duration::from_millis(750);
/// After a target change, wait this long for the rest of a burst before planning: signals that
/// arrive together (a close and an open) are netted into one plan instead of two.
const COALESCE: Duration = Duration::from_millis(10);
/// Longest wait after repeated failures.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The worker of one account.
#[derive(Debug)]
pub struct AccountWorker {
    pub name: AccountName,
    pub venue: Arc<dyn Venue>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub state: SharedState,
    pub plan_ids: Arc<PlanIds>,
    instruments: BTreeMap<Symbol, Instrument>,
    last_targets: BTreeMap<Symbol, Decimal>,
    /// Orders admitted in the last minute (pre-trade `max_orders_per_minute`).
    order_window: Arc<std::sync::Mutex<OrderRateWindow>>,
    /// Whether this worker looked for fills a crash lost (once, at its first cycle).
    fills_checked: bool,
    /// Per symbol, the refusal the risk gate keeps making (recorded once, see
    /// [`crate::risk::RefusalEpisode`]).
    refusals: BTreeMap<Symbol, crate::risk::RefusalEpisode>,
    /// While the kill switch holds: the targets a release would trade to, as last stored for
    /// `kill --release`'s preview (written when they change).
    release_targets: Option<BTreeMap<Symbol, Decimal>>,
    /// Positions this engine has no record of managing (see [`unknown`]).
    unknown: unknown::UnknownPositions,
    /// Per-symbol problems already logged at warn, so an episode is logged once, not every
    /// cycle (see [`log_symbol_errors`]).
    symbol_episodes: std::collections::BTreeSet<String>,
    /// Per symbol, the venue's ongoing business refusal and when to try again.
    rejections: rejections::Rejections,
    /// Whether "no free margin reported, no margin cap" was logged (once per worker).
    margin_cap_unavailable_logged: bool,
    /// Positions moved by someone else, and the fight count (see [`outside`]).
    outside: outside::OutsideWatch,
    /// This cycle's desired source positions per symbol, handed to the symbol jobs (P&L
    /// attribution, see [`crate::pnl`]).
    desired: BTreeMap<Symbol, crate::pnl::PlanAttribution>,
    /// Per symbol, the blend contributions of the last attribution event handed to a job.
    attributed: BTreeMap<Symbol, crate::pnl::ContributionKey>,
    /// The prices of the last stored mark reading (see `cycle::record_marks`).
    last_marks: Option<BTreeMap<Symbol, tradeengine_model::Price>>,
    /// The signals blended as of the last stored mark reading (see `cycle::marks_to_record`).
    last_seen: BTreeMap<(tradeengine_model::SourceId, Symbol), tradeengine_model::SignalId>,
    /// The feed of the account's paper venue, when this engine runs it (see
    /// `cycle::fill_prices`).
    fill_feed: Option<Arc<dyn tradeengine_venues::PriceFeed>>,
}

impl AccountWorker {
    pub fn new(
        name: AccountName,
        venue: Arc<dyn Venue>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        state: SharedState,
        plan_ids: Arc<PlanIds>,
    ) -> Self {
        Self {
            name,
            venue,
            store,
            clock,
            state,
            plan_ids,
            instruments: BTreeMap::new(),
            last_targets: BTreeMap::new(),
            order_window: Arc::default(),
            fills_checked: false,
            refusals: BTreeMap::new(),
            release_targets: None,
            unknown: unknown::UnknownPositions::default(),
            symbol_episodes: Default::default(),
            rejections: rejections::Rejections::default(),
            margin_cap_unavailable_logged: false,
            outside: outside::OutsideWatch::default(),
            desired: BTreeMap::new(),
            attributed: BTreeMap::new(),
            last_marks: None,
            last_seen: BTreeMap::new(),
            fill_feed: None,
        }
    }

    /// The worker of an account whose paper venue prices its fills from `feed`: each reading
    /// then carries the market price at each fill, for a replay to fill there too.
    pub fn with_fill_feed(mut self, feed: Option<Arc<dyn tradeengine_venues::PriceFeed>>) -> Self {
        self.fill_feed = feed;
        self
    }

    async fn update_view(&self, f: impl FnOnce(&mut AccountView)) {
        self.state.update_account_view(&self.name, f).await;
    }

    /// How long to wait for the next cycle when no signal comes: the back-off after failures,
    /// a short follow-up after a cycle that sent orders, else the drift-check interval; and no
    /// longer than until a symbol's venue-rejection back-off is due (see `rejections`).
    fn next_wait(&self, failures: u32, follow_up: bool) -> Duration {
        let interval =
            Duration::from_secs(self.state.config().engine.drift_check_interval_secs.max(1));
        let wait = if failures > 0 {
            backoff(failures)
        } else if follow_up {
            FOLLOW_UP
        } else {
            interval
        };
        match self.rejections.next_due() {
            Some(due) if failures == 0 => wait.min(
                due.saturating_duration_since(tokio::time::Instant::now())
                    .max(COALESCE),
            ),
            _ => wait,
        }
    }

    /// The cycle's metrics: its outcome and duration, order entry, and the venue's health.
    fn count_cycle(
        &self,
        result: &Result<cycle::CycleReport, outcome::CycleError>,
        started: std::time::Instant,
    ) {
        // A cycle whose order entry failed read the venue but could not trade: it counts as
        // failing (metric, back-off), not as a healthy cycle.
        let entry_failing = matches!(result, Ok(r) if r.order_entry_error.is_some());
        crate::telemetry::cycle(
            self.name.as_str(),
            if result.is_ok() && !entry_failing {
                "ok"
            } else {
                "error"
            },
            started.elapsed(),
        );
        crate::telemetry::order_entry(self.name.as_str(), entry_failing);
        crate::telemetry::venue_health(self.name.as_str(), self.venue.kind(), &self.venue.health());
    }

    /// Runs cycles until `shutdown`. The cycle in progress when shutdown fires is finished, so
    /// no order is left between `Sent` and its result.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut targets = self.state.subscribe_targets();
        let mut failures: u32 = 0;
        let mut follow_up = false;
        // The first cycle runs at once: until it has read the venue the account is not
        // reconciled (`/ready` answers 503), and waiting a whole drift interval for it kept a
        // healthy engine unready for seconds after start.
        let mut first = true;
        loop {
            let kill = self.state.kill_action_for(&self.name).await;
            let wait = if std::mem::take(&mut first) {
                Duration::ZERO
            } else if failures > 0 && kill == Some(KillAction::Flatten) {
                // Closing everything is what the operator is waiting for: no minute-long
                // back-off between attempts while a flatten is engaged.
                self.next_wait(failures, follow_up).min(FLATTEN_RETRY)
            } else {
                self.next_wait(failures, follow_up)
            };
            let woke_for_target = tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => false,
                changed = targets.changed(), if failures == 0 => changed.is_ok(),
                // A kill switch engaged or released during a back-off is acted on at once, not
                // after it (a flatten waited out 8 + 16 + 32 s of retries in a rehearsal).
                () = kill_changes(&self.state, &self.name, kill), if failures > 0 => false,
            };
            if woke_for_target {
                // Let a burst of signals land before planning (they often come together).
                tokio::time::sleep(COALESCE).await;
                targets.borrow_and_update();
            }
            let started = std::time::Instant::now();
            let result = self.cycle().await;
            self.count_cycle(&result, started);
            match result {
                Ok(report) if report.order_entry_error.is_some() => {
                    // Order entry is failing (an exchange incident, an outage of its order
                    // gateway): back the account off exponentially, as for a failed cycle, so
                    // an outage is not met with a new plan every second. The cycle already
                    // made it the account's `last_error` and took `reconciled` away.
                    failures = failures.saturating_add(1);
                    follow_up = false;
                    tracing::warn!(
                        account = %self.name, error = report.order_entry_error.as_deref().unwrap_or_default(),
                        sent = report.sent, retry_in = ?backoff(failures), "order entry failing"
                    );
                }
                Ok(report) => {
                    failures = 0;
                    follow_up = report.sent > 0;
                    log_symbol_errors(&self.name, &mut self.symbol_episodes, &report.symbol_errors);
                    if report.sent > 0 || report.rejected > 0 {
                        tracing::info!(
                            account = %self.name, value = %report.value, plans = report.plans,
                            sent = report.sent, filled = report.filled, rejected = report.rejected, "cycle"
                        );
                    }
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    follow_up = false;
                    tracing::warn!(account = %self.name, error = %e, retry_in = ?backoff(failures), "cycle failed");
                    let msg = e.to_string();
                    self.update_view(|v| {
                        v.last_error = Some(msg);
                        // The venue could not be read: nothing is known to be reconciled.
                        v.reconciled = false;
                    })
                    .await;
                }
            }
        }
    }
}

/// How often a backing-off worker looks at the kill switch, and the longest back-off while a
/// flatten is engaged.
const KILL_POLL: Duration = Duration::from_millis(250);
const FLATTEN_RETRY: Duration = Duration::from_secs(2);

/// Resolves once the kill switch's action on `account` differs from `was`.
async fn kill_changes(state: &SharedState, account: &AccountName, was: Option<KillAction>) {
    while state.kill_action_for(account).await == was {
        tokio::time::sleep(KILL_POLL).await;
    }
}

/// Logs each per-symbol problem at warn when it begins, at debug while it lasts, and at info
/// when it ends: a symbol skipped every cycle is one warning per episode, not one a cycle.
fn log_symbol_errors(
    account: &AccountName,
    episodes: &mut std::collections::BTreeSet<String>,
    problems: &[outcome::SymbolProblem],
) {
    // Episodes are told apart by their text: a problem whose figures change is a new one.
    let errors: Vec<String> = problems.iter().map(ToString::to_string).collect();
    for e in &errors {
        if episodes.insert(e.clone()) {
            tracing::warn!(%account, error = %e, "symbol not reconciled this cycle (logged once until it clears)");
        } else {
            tracing::debug!(%account, error = %e, "symbol still not reconciled");
        }
    }
    episodes.retain(|e| {
        let ongoing = errors.contains(e);
        if !ongoing {
            tracing::info!(%account, cleared = %e, "symbol problem cleared");
        }
        ongoing
    });
}

/// 1 s, 2 s, 4 s … capped at a minute: after failing cycles, and between an account's attempts
/// to reach its venue at start (`connector`).
pub(crate) fn backoff(failures: u32) -> Duration {
    let secs = 1u64 << failures.saturating_sub(1).min(6);
    Duration::from_secs(secs).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(4), Duration::from_secs(8));
        assert_eq!(backoff(30), MAX_BACKOFF);
        assert_eq!(backoff(40), Duration::from_secs(60));
    }
}
