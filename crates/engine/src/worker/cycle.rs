//! One reconciliation cycle of one account:
//!
//! 1. settle orders whose outcome is not known yet (never plan over an order that may fill);
//! 2. read account value, positions and prices **together** (one dependent round trip);
//! 3. instruments from the cache (a venue request only for symbols not seen before);
//! 4. blend every symbol's sleeves, size targets for this account (pure core);
//! 5. plan each symbol, store the plan, execute it — symbols in parallel up to the account's
//!    concurrency, one symbol's failure never stopping another;
//! 6. record targets that changed, the position snapshot and the equity point.

use std::collections::BTreeMap;

use futures::StreamExt;
use rust_decimal::Decimal;
use tradeengine_core::blend;
use tradeengine_core::risk::{ExposureBook, PortfolioState, PortfolioTracker};
use tradeengine_core::size::{AccountSizing, SizeInput, SizedTarget};
use tradeengine_model::{Position, Price, Symbol, Timestamp};
use tradeengine_store::{EquitySnapshot, TargetRecord};

use super::AccountWorker;
use super::execute::Executor;
use super::rejections::{EpisodeKey, Gate};
use super::symbol::{PlanSettings, SymbolJob, SymbolOutcome, plan_and_execute};
pub use super::targets::{blend_policy, symbol_config};
use super::targets::{reduce_targets, zero_targets};
use crate::config::{AccountState, Config, Mode, RiskLimits};
use crate::killswitch::KillAction;
use crate::risk::RiskGate;

/// What one cycle did, for logs, the API and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CycleReport {
    pub value: Decimal,
    pub plans: usize,
    pub sent: u64,
    pub filled: u64,
    pub rejected: u64,
    /// Legs refused by pre-trade risk (counted in `rejected` too).
    pub risk_refused: u64,
    /// Symbols whose plan the gate still refused as in their ongoing refusal episode (same
    /// target, rule and risk state): counted here, in a metric and in `symbol_errors`, but not
    /// stored or audited again (see [`crate::risk::RefusalEpisode`]).
    pub risk_held: u64,
    /// The account's portfolio state this cycle.
    pub risk_state: PortfolioState,
    /// Per-symbol problems that did not stop the cycle.
    pub symbol_errors: Vec<String>,
    /// Order entry failed this cycle (5xx, timeout, reset, rate limit, credentials — not a
    /// business rejection): the worker treats the cycle as failed, backs the account off and
    /// shows this as the account's `last_error` (see `super::AccountWorker::run`).
    pub order_entry_error: Option<String>,
}

/// A cycle that could not run at all (the venue could not be read).
#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    #[error("venue: {0}")]
    Venue(#[from] tradeengine_venues::VenueError),
    #[error("store: {0}")]
    Store(#[from] tradeengine_store::StoreError),
    #[error("core: {0}")]
    Core(#[from] tradeengine_core::CoreError),
    #[error("{0}")]
    Other(String),
}

impl AccountWorker {
    /// Runs one cycle. See the module docs.
    pub async fn cycle(&mut self) -> Result<CycleReport, CycleError> {
        let config = self.state.config();
        let account_cfg = config
            .account(self.name.as_str())
            .ok_or_else(|| {
                CycleError::Other(format!("account {} is no longer configured", self.name))
            })?
            .clone();
        if account_cfg.state == AccountState::Disabled {
            self.update_view(|v| v.state = Some(AccountState::Disabled))
                .await;
            return Ok(CycleReport::default());
        }
        let settlement = super::recovery::settle_open_orders(
            &self.name,
            &*self.venue,
            &*self.store,
            &*self.clock,
        )
        .await?;
        if !self.fills_checked {
            super::recovery::recheck_error_rejections(
                &self.name,
                &*self.venue,
                &*self.store,
                &*self.clock,
            )
            .await?;
            super::recovery::restore_missing_fills(&self.name, &*self.store).await?;
            self.fills_checked = true;
        }

        let symbols: Vec<Symbol> = config
            .symbols
            .iter()
            .filter_map(|s| Symbol::new(&s.symbol).ok())
            .collect();
        // A symbol that cannot be priced or described is left out with its reason; the
        // others trade (see `pricing`).
        let (balance, positions, (prices, mut skipped)) = tokio::try_join!(
            self.venue.account_balance(),
            self.venue.positions(),
            super::pricing::prices(&*self.venue, &symbols),
        )?;
        let value = balance.value;
        let now = self.clock.now();
        {
            let mut board = self.state.prices.write().await;
            for (s, p) in &prices {
                board.insert(s.clone(), *p);
            }
        }
        skipped.extend(self.refresh_instruments(&symbols).await?);

        let limits = config.risk_limits(Some(&account_cfg));
        let tracker = self.observe_equity(&limits, value, now).await?;
        let kill = self.state.kill.read().await.action_for(&self.name);
        let (mut targets, not_sized) = self
            .decide_targets(&config, &account_cfg, &limits, value, &prices, now)
            .await?;
        skipped.extend(not_sized);
        let positions_by_symbol: BTreeMap<Symbol, Position> = positions
            .iter()
            .map(|p| (p.symbol.clone(), p.clone()))
            .collect();
        match tracker.state {
            // HALTED flattens: the plans that follow are reduce-only closes, and once flat
            // there is nothing to send.
            PortfolioState::Halted => zero_targets(&mut targets),
            PortfolioState::Reducing => reduce_targets(&mut targets, &positions_by_symbol),
            PortfolioState::Active => {}
        }
        if kill.is_some() {
            self.store_release_targets(&targets).await?;
        } else {
            self.release_targets = None;
        }
        if kill == Some(KillAction::Flatten) {
            zero_targets(&mut targets);
            // "Every position": also those in symbols no `[[symbols]]` entry names (a manual
            // trade, a symbol removed from the file).
            let closes = self
                .unconfigured_closes(&targets, &positions, &mut skipped)
                .await;
            targets.extend(closes);
        }
        // Released into hold: a symbol no source has moved since the release stays where the
        // venue has it (see `release_hold`). Loss limits and the switch itself come first.
        if kill.is_none()
            && tracker.state == PortfolioState::Active
            && account_cfg.state == AccountState::Enabled
            && let Some(hold) = crate::release_hold::read(&*self.store).await?
            && hold.covers(&self.name)
        {
            for t in targets.iter_mut() {
                let sleeves = self.state.sleeves_of(&t.symbol).await;
                if crate::release_hold::still_held(&hold, &sleeves) {
                    crate::release_hold::hold_at_current(t, positions_by_symbol.get(&t.symbol));
                }
            }
        }
        // Positions nobody asked this engine to manage are left alone (see `unknown`).
        let unknown = self
            .unknown
            .apply(
                &self.name,
                config.unknown_position_policy(&account_cfg),
                &*self.store,
                &self.state,
                &positions_by_symbol,
                &mut targets,
                kill == Some(KillAction::Flatten),
                tracker.state == PortfolioState::Halted,
                now,
            )
            .await?;
        self.cap_by_margin(
            &mut targets,
            &positions_by_symbol,
            balance.available_margin,
            value,
            &limits,
        );
        let book = ExposureBook::new(
            value,
            positions.iter().map(|p| {
                let price = prices
                    .get(&p.symbol)
                    .or(p.entry_price.as_ref())
                    .map(|x| x.get())
                    .unwrap_or_default();
                (p.symbol.clone(), p.size.get(), price)
            }),
        );
        let symbol_limits = config
            .symbols
            .iter()
            .filter_map(|s| Some((Symbol::new(&s.symbol).ok()?, limits.pre_trade(Some(s)))))
            .collect();
        let gate = RiskGate::new(
            tracker.state,
            limits.pre_trade(None),
            symbol_limits,
            book,
            self.order_window.clone(),
        );

        let mut report = CycleReport {
            value,
            risk_state: tracker.state,
            symbol_errors: skipped
                .iter()
                .map(|(symbol, reason)| format!("{symbol}: {reason}"))
                .collect(),
            ..CycleReport::default()
        };
        let mode = config.account_mode(&account_cfg);
        let executor = Executor {
            account: self.name.clone(),
            venue: self.venue.clone(),
            store: self.store.clone(),
            clock: self.clock.clone(),
            dry_run: mode == Mode::DryRun,
            risk: std::sync::Arc::new(gate),
        };
        let settings = PlanSettings {
            now,
            drift_band: config.engine.drift_band,
            account_min_notional: account_cfg.min_order_notional,
            margin_mode: account_cfg.margin_mode,
            risk_state: tracker.state,
        };

        let mut jobs = Vec::new();
        // Frozen: read and record, plan nothing, send nothing.
        let plannable: &[SizedTarget] = if kill == Some(KillAction::Freeze) {
            &[]
        } else {
            &targets
        };
        for target in plannable {
            if settlement.open_symbols.contains(&target.symbol) {
                report
                    .symbol_errors
                    .push(format!("{}: waiting for an unsettled order", target.symbol));
                continue;
            }
            let key = EpisodeKey::of(target, &config, kill, tracker.state);
            if let Gate::Hold(why) =
                self.rejections
                    .gate(&target.symbol, &key, tokio::time::Instant::now())
            {
                report.symbol_errors.push(why);
                continue;
            }
            let Some(instrument) = self.instruments.get(&target.symbol).cloned() else {
                report
                    .symbol_errors
                    .push(format!("{}: no instrument", target.symbol));
                continue;
            };
            let current = positions_by_symbol
                .get(&target.symbol)
                .cloned()
                .unwrap_or_else(|| Position::flat(target.symbol.clone()));
            let plan_id = self
                .plan_ids
                .next()
                .map_err(|e| CycleError::Other(e.to_string()))?;
            jobs.push(SymbolJob {
                target: target.clone(),
                instrument,
                current,
                plan_id,
                episode: self.refusals.get(&target.symbol).cloned(),
            });
        }
        let account = self.name.clone();
        let store = self.store.clone();
        let concurrency = account_cfg.max_concurrent_requests.max(1);
        let results: Vec<(SymbolJob, Result<SymbolOutcome, String>)> = futures::stream::iter(jobs)
            .map(|job| {
                let executor = executor.clone();
                let account = account.clone();
                let store = store.clone();
                async move {
                    let outcome = plan_and_execute(&executor, &*store, &account, &job, settings)
                        .await
                        .map_err(|e| format!("{}: {e}", job.target.symbol));
                    (job, outcome)
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        for (job, r) in results {
            let symbol = job.target.symbol.clone();
            // A failed symbol keeps its episode: nothing about the refusal was learnt.
            if let Ok(outcome) = &r {
                match outcome.episode_after(&job, tracker.state) {
                    Some(episode) => self.refusals.insert(symbol.clone(), episode),
                    None => self.refusals.remove(&symbol),
                };
            }
            match &r {
                Ok(SymbolOutcome::Executed(exec)) => {
                    let key = EpisodeKey::of(&job.target, &config, kill, tracker.state);
                    self.note_venue_answer(&symbol, key, exec).await?;
                }
                Ok(SymbolOutcome::Nothing) => self.rejections.cleared(&symbol),
                _ => {}
            }
            match r {
                Ok(SymbolOutcome::Executed(exec)) => {
                    report.plans += 1;
                    report.sent += exec.sent;
                    report.filled += exec.filled;
                    report.rejected += exec.rejected;
                    report.risk_refused += exec.risk_refused;
                    if let Some(rule) = exec.refused_by {
                        crate::telemetry::risk_refusal(self.name.as_str(), rule.as_str(), true);
                    }
                    if let Some(stopped) = exec.stopped {
                        report.symbol_errors.push(stopped);
                    }
                    if let Some(e) = exec.entry_error {
                        report.order_entry_error = Some(format!("{symbol}: {e}"));
                    }
                }
                Ok(SymbolOutcome::Held(refusal)) => {
                    report.risk_held += 1;
                    crate::telemetry::risk_refusal(
                        self.name.as_str(),
                        refusal.rule.as_str(),
                        false,
                    );
                    report.symbol_errors.push(format!(
                        "{symbol}: {refusal} (still refused; recorded when the refusal began)"
                    ));
                }
                Ok(SymbolOutcome::Nothing) => {}
                Err(e) => report.symbol_errors.push(e),
            }
        }

        // What was read before trading is stale once anything filled: read it again, so the
        // store, the API and `tradeengine positions` show what the venue holds after this cycle
        // (a stop right after a trade used to leave the pre-trade snapshot as the last word).
        let (positions, fresh) = if report.filled > 0 || report.sent > 0 {
            match self.venue.positions().await {
                Ok(after) => (after, true),
                Err(e) => {
                    // Not recorded: a snapshot stamped now must not hold what was true before.
                    report
                        .symbol_errors
                        .push(format!("positions after trading: {e}"));
                    (positions, false)
                }
            }
        } else {
            (positions, true)
        };
        self.record_targets(&targets, now).await?;
        if fresh {
            self.store
                .record_positions(&self.name, &positions, now)
                .await?;
        }
        let unrealised: Decimal = positions
            .iter()
            .filter_map(|p| prices.get(&p.symbol).and_then(|m| p.unrealised_pnl(*m)))
            .sum();
        self.store
            .record_equity(&EquitySnapshot {
                account: self.name.clone(),
                value,
                unrealised_pnl: unrealised,
                at: now,
            })
            .await?;
        let target_map: BTreeMap<Symbol, Decimal> = targets
            .iter()
            .map(|t| (t.symbol.clone(), t.qty.get()))
            .collect();
        let state = account_cfg.state;
        let (sent, filled, rejected) = (report.sent, report.filled, report.rejected);
        let risk_refused = report.risk_refused;
        let last_refusal = report
            .symbol_errors
            .iter()
            .rev()
            .find(|e| e.contains("risk "))
            .cloned();
        let open_orders = settlement.still_open;
        let symbol_errors = report.symbol_errors.clone();
        let venue_rejections = self.publish_rejections().await?;
        let entry_error = report
            .order_entry_error
            .as_ref()
            .map(|e| format!("order entry failing: {e}"));
        self.update_view(|v| {
            v.unknown_positions = unknown;
            v.symbol_errors = symbol_errors;
            v.value = Some(value);
            v.positions = positions.clone();
            v.targets = target_map;
            v.last_cycle_at = Some(now);
            v.reconciled = open_orders == 0 && entry_error.is_none();
            v.last_error = entry_error;
            v.state = Some(state);
            v.cycles += 1;
            v.orders_sent += sent;
            v.orders_filled += filled;
            v.orders_rejected += rejected;
            v.orders_risk_refused += risk_refused;
            if last_refusal.is_some() {
                v.last_risk_refusal = last_refusal;
            }
            v.risk = Some(tracker);
            v.kill = kill;
            v.venue_rejections = venue_rejections;
        })
        .await;
        Ok(report)
    }

    /// Blends and sizes every configured symbol for this account. Close-only accounts target
    /// zero everywhere; symbols without a price or instrument are left out (and so not traded),
    /// and symbols that cannot be sized are returned apart with the reason.
    async fn decide_targets(
        &self,
        config: &Config,
        account_cfg: &crate::config::AccountConfig,
        limits: &RiskLimits,
        value: Decimal,
        prices: &BTreeMap<Symbol, Price>,
        now: Timestamp,
    ) -> Result<(Vec<SizedTarget>, super::pricing::Skipped), CycleError> {
        let policy = blend_policy(config, limits);
        let mut blends = Vec::new();
        for s in &config.symbols {
            let Some(sc) = symbol_config(s) else { continue };
            let sleeves = self.state.sleeves_of(&sc.symbol).await;
            // One symbol that cannot be blended (a bad sleeve, an overflow) is left out of this
            // cycle; the others go on (invariant 4, within an account).
            match blend::blend(&sc, &sleeves, &policy, now) {
                Ok(b) => blends.push(b),
                Err(e) => {
                    tracing::error!(account = %self.name, symbol = %sc.symbol, error = %e, "cannot blend; symbol skipped this cycle")
                }
            }
        }
        {
            let mut board = self.state.blends.write().await;
            for b in &blends {
                board.insert(b.symbol.clone(), b.clone());
            }
        }
        let inputs: Vec<SizeInput<'_>> = blends
            .iter()
            .filter_map(|b| {
                Some(SizeInput {
                    blend: b,
                    price: *prices.get(&b.symbol)?,
                    instrument: self.instruments.get(&b.symbol)?,
                })
            })
            .collect();
        if value <= Decimal::ZERO {
            return Err(CycleError::Other(format!(
                "account value is {value}; nothing can be sized (fund the account or set state = \"close_only\")"
            )));
        }
        let sizing = AccountSizing {
            value,
            leverage_override: account_cfg.leverage_override,
        };
        let (mut targets, not_sized) = super::pricing::size(&inputs, &sizing, &policy)?;
        if account_cfg.state == AccountState::CloseOnly {
            zero_targets(&mut targets);
        }
        Ok((targets, not_sized))
    }

    /// Feeds this cycle's equity reading to the account's portfolio tracker (loaded from the
    /// store, with any operator reset applied), stores it when it changed and audits a state
    /// change.
    async fn observe_equity(
        &self,
        limits: &RiskLimits,
        value: Decimal,
        now: Timestamp,
    ) -> Result<PortfolioTracker, CycleError> {
        let stored = crate::risk::load(&*self.store, &self.name).await?;
        let mut tracker = stored.clone();
        let escalation = tracker.observe(now, value, &limits.loss_limits());
        if let Some(e) = &escalation {
            tracing::error!(account = %self.name, from = e.from.as_str(), to = e.to.as_str(), rule = %e.rule, detail = %e.detail, "portfolio risk state changed");
            self.store
                .audit(
                    tradeengine_store::AuditKind::RiskStateChanged,
                    Some(self.name.as_str()),
                    None,
                    serde_json::json!({
                        "from": e.from, "to": e.to, "rule": e.rule, "detail": e.detail,
                        "equity": value, "figures": tracker.figures,
                    }),
                    now,
                )
                .await?;
        }
        if tracker != stored {
            crate::risk::save(&*self.store, &self.name, &tracker).await?;
        }
        Ok(tracker)
    }

    /// Instruments are cached for the life of the worker; only unseen symbols are requested.
    /// Returns the symbols the venue cannot describe (asked again next cycle).
    pub(super) async fn refresh_instruments(
        &mut self,
        symbols: &[Symbol],
    ) -> Result<super::pricing::Skipped, CycleError> {
        let missing: Vec<Symbol> = symbols
            .iter()
            .filter(|s| !self.instruments.contains_key(*s))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(Vec::new());
        }
        let (found, skipped) = super::pricing::instruments(&*self.venue, &missing).await?;
        if !found.is_empty() {
            crate::display::learn_ticks(&self.state, &*self.store, &found).await;
        }
        for i in found {
            self.instruments.insert(i.symbol.clone(), i);
        }
        Ok(skipped)
    }

    /// Stores targets that differ from the last stored ones (a target repeated every cycle is
    /// not news, and would bloat the audit trail).
    async fn record_targets(
        &mut self,
        targets: &[SizedTarget],
        now: Timestamp,
    ) -> Result<(), CycleError> {
        let blends = self.state.blends.read().await.clone();
        for t in targets {
            if self.last_targets.get(&t.symbol) == Some(&t.qty.get()) {
                continue;
            }
            let depth = blends.get(&t.symbol).map(|b| b.depth).unwrap_or_default();
            self.store
                .record_target(&TargetRecord {
                    account: self.name.clone(),
                    symbol: t.symbol.clone(),
                    depth,
                    leverage: t.leverage,
                    quantity: t.qty.get(),
                    decided_at: now,
                })
                .await?;
            self.last_targets.insert(t.symbol.clone(), t.qty.get());
        }
        Ok(())
    }
}
