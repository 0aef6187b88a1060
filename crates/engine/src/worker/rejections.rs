//! Back-off for legs the venue refuses for a business reason (insufficient margin, below the
//! minimum size, reduce-only refused, position limit).
//!
//! Such a refusal does not change by asking again a second later: without back-off one target
//! past the account's margin became an order a second (25 rejected orders in 18 s). So the
//! first refusal starts an *episode* for the account and symbol: the symbol is not planned
//! again until its retry time, 1 s after the first refusal and doubling with each refusal
//! after it up to 5 minutes; the episode is audited once, when it starts (`venue_rejected`),
//! and shown in the account's view (API, dashboard). Anything that may change the venue's
//! answer ends the episode at once and the symbol is planned in the next cycle:
//! - the target moves (quantity or leverage);
//! - an operator acts: the configuration changes (reload, API write), the kill switch changes,
//!   or the portfolio risk state changes (e.g. `risk reset`);
//! - a plan for the symbol goes through, or there is nothing left to do.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use tokio::time::Instant;
use tradeengine_core::risk::PortfolioState;
use tradeengine_model::{Symbol, Timestamp};

use crate::config::Config;
use crate::killswitch::KillAction;
pub use crate::state::RejectionView;

/// Wait after the first refusal of an episode.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// Longest wait between two attempts of one episode.
const MAX_RETRY: Duration = Duration::from_secs(300);
/// Longest wait while the kill switch flattens the account: the closes are what the operator
/// is waiting for, and a venue that refused one a moment ago (a transient reduce-only or
/// margin refusal, a maintenance window) may take it now. A rehearsal's close waited 64 s
/// after the venue would have accepted it.
const FLATTEN_MAX_RETRY: Duration = Duration::from_secs(2);

/// What the venue's answer depends on besides the market: when any of it changes, the episode
/// ends.
#[derive(Debug, Clone)]
pub struct EpisodeKey {
    pub target_qty: Decimal,
    pub target_leverage: Decimal,
    pub config: Arc<Config>,
    pub kill: Option<KillAction>,
    pub risk_state: PortfolioState,
}

impl EpisodeKey {
    fn same(&self, other: &Self) -> bool {
        self.target_qty == other.target_qty
            && self.target_leverage == other.target_leverage
            && Arc::ptr_eq(&self.config, &other.config)
            && self.kill == other.kill
            && self.risk_state == other.risk_state
    }
}

#[derive(Debug, Clone)]
struct Episode {
    key: EpisodeKey,
    view: RejectionView,
    due: Instant,
}

/// Every symbol's episode, for one account.
#[derive(Debug, Default)]
pub struct Rejections {
    episodes: BTreeMap<Symbol, Episode>,
    /// What was last written to the store (see [`state_key`]).
    published: Option<BTreeMap<Symbol, RejectionView>>,
}

/// The store's state key holding an account's ongoing episodes, so `tradeengine status` (which
/// reads the store) shows them too.
pub fn state_key(account: &tradeengine_model::AccountName) -> String {
    format!("venue_rejections.{account}")
}

/// What to do with a symbol this cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Plan it (no episode, the episode ended, or its retry is due).
    Plan,
    /// Leave it: still refused, retried later (the reason is a
    /// [`super::outcome::SkipReason::VenueBackoff`]).
    Hold(super::outcome::SkipReason),
}

/// The wait after the `attempts`-th refusal of an episode: 1 s, 2 s, 4 s … 5 min.
pub fn retry_delay(attempts: u32) -> Duration {
    let factor = 1u32 << attempts.saturating_sub(1).min(16);
    FIRST_RETRY.saturating_mul(factor).min(MAX_RETRY)
}

impl Rejections {
    /// Whether `symbol` may be planned now. An episode whose key changed ends here.
    pub fn gate(&mut self, symbol: &Symbol, key: &EpisodeKey, now: Instant) -> Gate {
        let Some(e) = self.episodes.get(symbol) else {
            return Gate::Plan;
        };
        if !e.key.same(key) {
            tracing::info!(%symbol, reason = %e.view.reason, attempts = e.view.attempts, "venue rejection episode ended: the target or the operator changed something");
            self.episodes.remove(symbol);
            return Gate::Plan;
        }
        if now >= e.due {
            return Gate::Plan;
        }
        let left = e.due.saturating_duration_since(now);
        // Whole seconds rounded up, as the text always showed them.
        let retry_in_secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        Gate::Hold(super::outcome::SkipReason::VenueBackoff {
            attempts: e.view.attempts,
            since: e.view.since.format("%H:%M:%S").to_string(),
            reason: e.view.reason.clone(),
            retry_in_secs,
        })
    }

    /// Records the venue's refusal of the symbol's plan. Returns true when this starts a new
    /// episode (the caller audits it); a refusal within an episode only pushes the retry out.
    pub fn refused(
        &mut self,
        symbol: &Symbol,
        key: EpisodeKey,
        reason: String,
        now: Instant,
        wall: Timestamp,
    ) -> bool {
        let (attempts, since, new) = match self.episodes.get(symbol) {
            Some(e) if e.key.same(&key) => (e.view.attempts.saturating_add(1), e.view.since, false),
            _ => (1, wall, true),
        };
        let delay = if key.kill == Some(KillAction::Flatten) {
            retry_delay(attempts).min(FLATTEN_MAX_RETRY)
        } else {
            retry_delay(attempts)
        };
        let retry_at = wall + chrono::TimeDelta::from_std(delay).unwrap_or_default();
        self.episodes.insert(
            symbol.clone(),
            Episode {
                key,
                view: RejectionView {
                    reason,
                    since,
                    attempts,
                    retry_at,
                },
                due: now + delay,
            },
        );
        new
    }

    /// The symbol's plan went through, or needs nothing: its episode, if any, is over.
    pub fn cleared(&mut self, symbol: &Symbol) {
        if let Some(e) = self.episodes.remove(symbol) {
            tracing::info!(%symbol, attempts = e.view.attempts, "venue rejection episode ended: the symbol traded");
        }
    }

    /// Drops episodes of symbols no longer traded.
    pub fn retain(&mut self, keep: impl Fn(&Symbol) -> bool) {
        self.episodes.retain(|s, _| keep(s));
    }

    /// The earliest retry, so the worker wakes for it.
    pub fn next_due(&self) -> Option<Instant> {
        self.episodes.values().map(|e| e.due).min()
    }

    /// The episodes as the API shows them.
    pub fn views(&self) -> BTreeMap<Symbol, RejectionView> {
        self.episodes
            .iter()
            .map(|(s, e)| (s.clone(), e.view.clone()))
            .collect()
    }
}

impl EpisodeKey {
    /// The key of `target` under this cycle's configuration, kill action and risk state.
    pub fn of(
        target: &tradeengine_core::size::SizedTarget,
        config: &Arc<Config>,
        kill: Option<KillAction>,
        risk_state: PortfolioState,
    ) -> Self {
        Self {
            target_qty: target.qty.get(),
            target_leverage: target.leverage,
            config: config.clone(),
            kill,
            risk_state,
        }
    }
}

impl super::AccountWorker {
    /// The ongoing episodes, written to the store when they changed since the last write (the
    /// first call writes them anyway, clearing what a previous run left).
    pub(super) async fn publish_rejections(
        &mut self,
    ) -> Result<BTreeMap<Symbol, RejectionView>, tradeengine_store::StoreError> {
        let views = self.rejections.views();
        if self.rejections.published.as_ref() != Some(&views) {
            let json = serde_json::to_value(&views).unwrap_or_default();
            self.store.put_state(&state_key(&self.name), &json).await?;
            self.rejections.published = Some(views.clone());
        }
        Ok(views)
    }

    /// After a symbol's plan ran: a venue refusal starts (audited once) or continues its
    /// episode; a plan that went through ends it.
    pub(super) async fn note_venue_answer(
        &mut self,
        symbol: &Symbol,
        key: EpisodeKey,
        exec: &super::execute::ExecutionReport,
    ) -> Result<(), tradeengine_store::StoreError> {
        let Some(reason) = &exec.venue_rejection else {
            if exec.stopped.is_none() {
                self.rejections.cleared(symbol);
            }
            return Ok(());
        };
        let wall = self.clock.now();
        let (qty, leverage) = (key.target_qty, key.target_leverage);
        if self
            .rejections
            .refused(symbol, key, reason.clone(), Instant::now(), wall)
        {
            tracing::warn!(account = %self.name, %symbol, %reason, "the venue refuses this symbol's order; backing off (1 s, doubling to 5 min) until the target or the configuration changes");
            crate::audit_payload::AuditPayload::VenueRejected {
                reason,
                target: qty,
                leverage,
                first_retry_secs: retry_delay(1).as_secs(),
            }
            .record(
                &*self.store,
                Some(self.name.as_str()),
                Some(symbol.as_str()),
                wall,
            )
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(qty: Decimal, config: &Arc<Config>) -> EpisodeKey {
        EpisodeKey {
            target_qty: qty,
            target_leverage: Decimal::ONE,
            config: config.clone(),
            kill: None,
            risk_state: PortfolioState::Active,
        }
    }

    fn config() -> Arc<Config> {
        Arc::new(
            crate::config::load_str(
                crate::config::demo::DEMO_TOML,
                None,
                &[],
                &crate::config::Overrides::default(),
            )
            .unwrap(),
        )
    }

    #[test]
    fn the_delay_doubles_from_a_second_to_five_minutes() {
        assert_eq!(retry_delay(1), Duration::from_secs(1));
        assert_eq!(retry_delay(2), Duration::from_secs(2));
        assert_eq!(retry_delay(5), Duration::from_secs(16));
        assert_eq!(retry_delay(9), Duration::from_secs(256));
        assert_eq!(retry_delay(10), MAX_RETRY);
        assert_eq!(retry_delay(u32::MAX), MAX_RETRY);
    }

    #[test]
    fn a_flatten_is_retried_at_most_two_seconds_apart_however_often_refused() {
        let cfg = config();
        let sym = Symbol::new("BTCUSDT").unwrap();
        let mut r = Rejections::default();
        let t0 = Instant::now();
        let flatten = EpisodeKey {
            kill: Some(KillAction::Flatten),
            ..key(Decimal::ZERO, &cfg)
        };
        for n in 0..10u64 {
            let now = t0 + Duration::from_secs(2 * n);
            assert_eq!(r.gate(&sym, &flatten, now), Gate::Plan, "attempt {n}");
            r.refused(
                &sym,
                flatten.clone(),
                "reduce-only refused".into(),
                now,
                Timestamp::default(),
            );
            assert!(r.next_due().unwrap() <= now + FLATTEN_MAX_RETRY);
        }
        // Without the flatten the same refusals back off to minutes.
        let mut plain = Rejections::default();
        let k = key(Decimal::ZERO, &cfg);
        for _ in 0..10 {
            plain.refused(&sym, k.clone(), "margin".into(), t0, Timestamp::default());
        }
        assert!(plain.next_due().unwrap() >= t0 + Duration::from_secs(256));
    }

    #[test]
    fn an_episode_holds_until_due_and_ends_when_the_target_or_config_moves() {
        let cfg = config();
        let sym = Symbol::new("BTCUSDT").unwrap();
        let mut r = Rejections::default();
        let t0 = Instant::now();
        let wall = chrono::Utc::now();
        assert_eq!(r.gate(&sym, &key(Decimal::ONE, &cfg), t0), Gate::Plan);
        assert!(r.refused(&sym, key(Decimal::ONE, &cfg), "margin".into(), t0, wall));
        assert!(matches!(
            r.gate(&sym, &key(Decimal::ONE, &cfg), t0),
            Gate::Hold(_)
        ));
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(r.gate(&sym, &key(Decimal::ONE, &cfg), t1), Gate::Plan);
        // Refused again within the episode: not new, and the wait doubles.
        assert!(!r.refused(&sym, key(Decimal::ONE, &cfg), "margin".into(), t1, wall));
        assert_eq!(r.views()[&sym].attempts, 2);
        assert_eq!(r.next_due(), Some(t1 + Duration::from_secs(2)));
        assert!(matches!(
            r.gate(
                &sym,
                &key(Decimal::ONE, &cfg),
                t1 + Duration::from_millis(1999)
            ),
            Gate::Hold(_)
        ));
        // A new target ends it.
        assert_eq!(r.gate(&sym, &key(Decimal::TWO, &cfg), t1), Gate::Plan);
        assert!(r.views().is_empty());
        // So does a configuration change (an operator action).
        assert!(r.refused(&sym, key(Decimal::ONE, &cfg), "margin".into(), t1, wall));
        assert_eq!(r.gate(&sym, &key(Decimal::ONE, &config()), t1), Gate::Plan);
        assert!(r.views().is_empty());
    }
}
