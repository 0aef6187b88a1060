//! One reconciliation cycle of one account:
//!
//! 1. settle orders whose outcome is not known yet (never plan over an order that may fill);
//! 2. read account value, positions and prices **together** (one dependent round trip);
//! 3. instruments from the cache (a venue request only for symbols not seen before);
//! 4. blend every symbol's sleeves, size targets for this account (pure core);
//! 5. adjust the targets for the account's state: loss limits, the kill switch, a release
//!    into hold, positions nobody asked this engine to manage, free margin;
//! 6. plan each symbol, store the plan, execute it — symbols in parallel up to the account's
//!    concurrency, one symbol's failure never stopping another;
//! 7. record targets that changed, the position snapshot and the equity point, and publish the
//!    account's view.
//!
//! [`AccountWorker::cycle`] reads as that list; each step is a method below or in
//! [`super::decide`] and [`super::trade`].

use std::collections::BTreeMap;
use std::sync::Arc;

use rust_decimal::Decimal;
use tradeengine_core::risk::{PortfolioState, PortfolioTracker};
use tradeengine_core::size::SizedTarget;
use tradeengine_model::{Position, Price, SignalId, SourceId, Symbol, Timestamp};
use tradeengine_store::{CycleEnd, EquitySnapshot, FillPrice, SeenSignal, TargetRecord};
use tradeengine_venues::AccountBalance;

use super::AccountWorker;
pub use super::outcome::CycleError;
use super::outcome::SymbolProblem;
use super::pricing::Skipped;
use super::recovery::Settlement;
use super::targets::{
    ConfiguredSymbol, configured_symbols, hold_at_current, reduce_targets, zero_targets,
};
pub use super::targets::{blend_policy, symbol_config};
use crate::config::{AccountConfig, AccountState, Config, RiskLimits};
use crate::killswitch::KillAction;

/// How many times a paper account's reads are taken again when its value moved under them.
const REREADS: usize = 3;

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
    /// Per-symbol problems that did not stop the cycle, typed; their `Display` is the text the
    /// API's `symbol_errors` shows.
    pub symbol_errors: Vec<SymbolProblem>,
    /// Order entry failed this cycle (5xx, timeout, reset, rate limit, credentials — not a
    /// business rejection): the worker treats the cycle as failed, backs the account off and
    /// shows this as the account's `last_error` (see `super::AccountWorker::run`).
    pub order_entry_error: Option<String>,
    /// Each fill's symbol and venue time, in the order filled per symbol.
    pub fill_times: Vec<(Symbol, Timestamp)>,
}

impl CycleReport {
    /// The last pre-trade risk refusal of this cycle (recorded or held), as the account's view
    /// shows it.
    pub fn last_risk_refusal(&self) -> Option<&SymbolProblem> {
        self.symbol_errors
            .iter()
            .rev()
            .find(|p| p.risk_refusal().is_some())
    }
}

/// What the venue said at the start of a cycle.
pub(super) struct Market {
    pub balance: AccountBalance,
    pub positions: Vec<Position>,
    pub by_symbol: BTreeMap<Symbol, Position>,
    pub prices: BTreeMap<Symbol, Price>,
}

/// What every step after the reads works with.
pub(super) struct CycleContext<'c> {
    pub config: &'c Arc<Config>,
    pub account: &'c AccountConfig,
    pub symbols: &'c [ConfiguredSymbol<'c>],
    pub limits: &'c RiskLimits,
    pub tracker: &'c PortfolioTracker,
    pub kill: Option<KillAction>,
    pub now: Timestamp,
}

impl AccountWorker {
    /// Runs one cycle. See the module docs.
    pub async fn cycle(&mut self) -> Result<CycleReport, CycleError> {
        let config = self.state.config();
        let account = config
            .account(self.name.as_str())
            .ok_or_else(|| {
                CycleError::Other(format!("account {} is no longer configured", self.name))
            })?
            .clone();
        if account.state == AccountState::Disabled {
            self.update_view(|v| v.state = Some(AccountState::Disabled))
                .await;
            // A flatten is the operator's order to close everything, disabled or not: "every
            // account flattening" must mean every account (a rehearsal's disabled account kept
            // its positions under a flatten of all). Anything else leaves it alone.
            if self.state.kill_action_for(&self.name).await != Some(KillAction::Flatten) {
                return Ok(CycleReport::default());
            }
        }
        let settlement = self.settle().await?;
        let symbols = configured_symbols(&config);
        let (market, mut skipped) = self.read_market(&symbols).await?;
        let now = self.clock.now();
        let limits = config.risk_limits(Some(&account));
        let tracker = self
            .observe_equity(&limits, market.balance.value, now)
            .await?;
        let kill = self.state.kill_action_for(&self.name).await;
        let kill = self.watch_outside(&market, &settlement, kill, now).await?;
        let plans_from = self.plan_ids.mark();
        let ctx = CycleContext {
            config: &config,
            account: &account,
            symbols: &symbols,
            limits: &limits,
            tracker: &tracker,
            kill,
            now,
        };
        let decided = self
            .decide_targets(&ctx, market.balance.value, &market.prices)
            .await?;
        skipped.extend(decided.not_sized);
        let mut targets = decided.targets;
        let unknown = self
            .adjust_targets(
                &ctx,
                &market,
                decided.hold.as_ref(),
                &mut targets,
                &mut skipped,
            )
            .await?;
        let mut report = CycleReport {
            value: market.balance.value,
            risk_state: tracker.state,
            symbol_errors: skipped
                .into_iter()
                .map(|(symbol, reason)| SymbolProblem::symbol(symbol, reason))
                .collect(),
            ..CycleReport::default()
        };
        self.outside.trading();
        let attribution_before = self.attributed.clone();
        self.desired = desired_positions(
            &self.name,
            &targets,
            &decided.blends,
            market.balance.value,
            &self.attributed,
        );
        self.trade(&ctx, &market, &targets, &settlement, &mut report)
            .await?;
        let positions = self.positions_after_trading(&mut report, &market).await;
        // Whether any plan was made, not `report.sent`: a symbol whose plan failed on a store
        // error after its order went out counts nothing as sent.
        let planned = self.plan_ids.mark() > plans_from;
        self.remember_reads(plans_from, &market, planned, &settlement);
        let changed = self.changed_targets(&targets, &decided.blends, now);
        let attribution_moved = self.attributed != attribution_before;
        let acted = report.plans > 0 || report.sent > 0 || attribution_moved;
        let fill_prices = self.fill_prices(&report.fill_times);
        let marks = self
            .marks_to_record(&market.prices, &decided.seen, acted, now)
            .map(|(m, seen)| (m, seen, fill_prices));
        self.record_cycle_end(&market, changed, positions.as_deref(), marks, now)
            .await?;
        let positions = positions.unwrap_or(market.positions);
        self.publish_view(&ctx, &report, &targets, positions, &settlement, unknown)
            .await?;
        Ok(report)
    }

    /// Step 1: settles orders whose outcome is not known yet, and once per worker looks for
    /// fills a crash lost.
    async fn settle(&mut self) -> Result<Settlement, CycleError> {
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
        Ok(settlement)
    }

    /// Steps 2 and 3: balance, positions and prices together, then instruments. A symbol that
    /// cannot be priced or described is returned apart with its reason; the others trade (see
    /// `pricing`).
    async fn read_market(
        &mut self,
        symbols: &[ConfiguredSymbol<'_>],
    ) -> Result<(Market, Skipped), CycleError> {
        let symbols: Vec<Symbol> = symbols.iter().map(|s| s.symbol.clone()).collect();
        let read = || async {
            tokio::try_join!(
                self.venue.account_balance(),
                self.venue.positions(),
                super::pricing::prices(&*self.venue, &symbols),
            )
        };
        let (mut balance, mut positions, (mut prices, mut skipped)) = read().await?;
        // This engine's paper venue answers each read at its own instant, and its feed can step
        // between them: the value would then be of other prices than the ones recorded for the
        // replay (a walk stepping in a slow cycle sized one live cycle 0.30 lower). A balance
        // read again and unchanged shows the held symbols' prices did not move meanwhile.
        for _ in 0..REREADS {
            if self.fill_feed.is_none() || self.venue.account_balance().await? == balance {
                break;
            }
            (balance, positions, (prices, skipped)) = read().await?;
        }
        self.state.publish_prices(&prices).await;
        skipped.extend(self.refresh_instruments(&symbols).await?);
        let by_symbol = positions
            .iter()
            .map(|p| (p.symbol.clone(), p.clone()))
            .collect();
        let market = Market {
            balance,
            positions,
            by_symbol,
            prices,
        };
        Ok((market, skipped))
    }

    /// Step 5: the targets the account's state allows. Loss limits first (HALTED flattens,
    /// REDUCING only moves toward zero), then the kill switch, a release into hold, positions
    /// nobody asked this engine to manage, and the venue's free margin. Returns the unknown
    /// positions' view.
    async fn adjust_targets(
        &mut self,
        ctx: &CycleContext<'_>,
        market: &Market,
        hold: Option<&crate::release_hold::ReleaseHold>,
        targets: &mut Vec<SizedTarget>,
        skipped: &mut Skipped,
    ) -> Result<BTreeMap<Symbol, super::unknown::UnknownPositionView>, CycleError> {
        let state = ctx.tracker.state;
        match state {
            // HALTED flattens: the plans that follow are reduce-only closes, and once flat
            // there is nothing to send.
            PortfolioState::Halted => zero_targets(targets),
            PortfolioState::Reducing => reduce_targets(targets, &market.by_symbol),
            PortfolioState::Active => {}
        }
        if ctx.kill.is_some() {
            self.store_release_targets(targets).await?;
        } else {
            self.release_targets = None;
        }
        let flatten = ctx.kill == Some(KillAction::Flatten);
        if flatten {
            zero_targets(targets);
            // "Every position": also those in symbols no `[[symbols]]` entry names (a manual
            // trade, a symbol removed from the file).
            let closes = self
                .unconfigured_closes(targets, &market.positions, skipped)
                .await;
            targets.extend(closes);
        }
        // Released into hold: a symbol no source has moved since the release stays where the
        // venue has it (see `release_hold`). Loss limits and the switch itself come first.
        if ctx.kill.is_none()
            && state == PortfolioState::Active
            && ctx.account.state == AccountState::Enabled
            && let Some(hold) = hold
        {
            for t in targets.iter_mut() {
                let sleeves = self.state.sleeves_of(&t.symbol).await;
                if crate::release_hold::still_held(hold, &sleeves) {
                    hold_at_current(t, market.by_symbol.get(&t.symbol));
                }
            }
        }
        // Positions nobody asked this engine to manage are left alone (see `unknown`).
        let unknown = self
            .unknown
            .apply(
                &self.name,
                ctx.config.unknown_position_policy(ctx.account),
                &*self.store,
                &self.state,
                &market.by_symbol,
                targets,
                flatten,
                state == PortfolioState::Halted,
                ctx.now,
            )
            .await?;
        // An operator's flatten of a position no configured symbol covers: its close target.
        let decided = self.unknown.unconfigured_to_close();
        if !flatten && !decided.is_empty() {
            let outside: Vec<Position> = (market.positions.iter())
                .filter(|p| decided.contains(&p.symbol))
                .cloned()
                .collect();
            let closes = self.unconfigured_closes(targets, &outside, skipped).await;
            targets.extend(closes);
        }
        if !flatten && state == PortfolioState::Active {
            match super::gross::fit_beside_left_alone(
                targets,
                &market.positions,
                &market.prices,
                &unknown,
                market.balance.value,
                ctx.limits.max_gross_exposure,
            ) {
                Ok(Some(left_alone)) => {
                    tracing::debug!(account = %self.name, %left_alone, "targets fitted into the gross budget beside the positions left alone");
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(account = %self.name, error = %e, "cannot fit targets into the gross budget beside the positions left alone this cycle");
                }
            }
        }
        self.cap_by_margin(
            targets,
            &market.by_symbol,
            market.balance.available_margin,
            market.balance.value,
            ctx.limits,
        );
        Ok(unknown)
    }

    /// What was read before trading is stale once anything was sent: read it again, so the
    /// store, the API and `tradeengine positions` show what the venue holds after this cycle
    /// (a stop right after a trade used to leave the pre-trade snapshot as the last word).
    /// `None` when the read failed: a snapshot stamped now must not hold what was true before.
    async fn positions_after_trading(
        &self,
        report: &mut CycleReport,
        market: &Market,
    ) -> Option<Vec<Position>> {
        if report.filled == 0 && report.sent == 0 {
            return Some(market.positions.clone());
        }
        match self.venue.positions().await {
            Ok(after) => Some(after),
            Err(e) => {
                report
                    .symbol_errors
                    .push(SymbolProblem::PositionsAfterTrading(e.to_string()));
                None
            }
        }
    }

    /// Step 7, the store, in one transaction: the targets that changed, the position snapshot
    /// (when `positions` is fresh), the equity point and the mark reading (when it is due).
    async fn record_cycle_end(
        &mut self,
        market: &Market,
        changed: Vec<TargetRecord>,
        positions: Option<&[Position]>,
        marks: Option<(
            tradeengine_store::MarkReading,
            Vec<SeenSignal>,
            Vec<FillPrice>,
        )>,
        now: Timestamp,
    ) -> Result<(), CycleError> {
        let unrealised: Decimal = positions
            .unwrap_or(&market.positions)
            .iter()
            .filter_map(|p| {
                market
                    .prices
                    .get(&p.symbol)
                    .and_then(|m| p.unrealised_pnl(*m))
            })
            .sum();
        let equity = EquitySnapshot {
            account: self.name.clone(),
            value: market.balance.value,
            unrealised_pnl: unrealised,
            at: now,
        };
        self.store
            .record_cycle_end(&CycleEnd {
                account: &self.name,
                targets: &changed,
                positions,
                equity: &equity,
                marks: marks.as_ref().map(|(m, _, _)| m),
                seen: marks.as_ref().map_or(&[], |(_, s, _)| s.as_slice()),
                fill_prices: marks.as_ref().map_or(&[], |(_, _, f)| f.as_slice()),
            })
            .await?;
        self.targets_stored(changed);
        if let Some((m, seen, _)) = marks {
            self.last_marks = Some(m.prices);
            for s in seen {
                self.last_seen.insert((s.source, s.symbol), s.signal);
            }
        }
        Ok(())
    }

    /// Step 7, the replay's prices and signals: the cycle's readings, with the sleeves' last
    /// signals that changed since the last stored reading (`seen`: what the blend included,
    /// which a replay applies before cycling here), when it planned, moved an attribution key,
    /// blended a signal the last reading did not list, or saw prices other than the last
    /// stored ones (an idle cycle at unchanged prices and signals changes nothing a replay must
    /// reproduce, and would only grow the table). Written with the cycle's closing
    /// transaction; remembered as the last stored only once it committed.
    fn marks_to_record(
        &self,
        prices: &BTreeMap<Symbol, Price>,
        seen: &BTreeMap<(SourceId, Symbol), SignalId>,
        acted: bool,
        now: Timestamp,
    ) -> Option<(tradeengine_store::MarkReading, Vec<SeenSignal>)> {
        let new: Vec<SeenSignal> = seen
            .iter()
            .filter(|(key, id)| self.last_seen.get(*key) != Some(*id))
            .map(|((source, symbol), id)| SeenSignal {
                source: source.clone(),
                symbol: symbol.clone(),
                signal: id.clone(),
            })
            .collect();
        if prices.is_empty()
            || (!acted && new.is_empty() && self.last_marks.as_ref() == Some(prices))
        {
            return None;
        }
        let reading = tradeengine_store::MarkReading {
            seq: 0,
            account: self.name.clone(),
            at: now,
            prices: prices.clone(),
        };
        Some((reading, new))
    }

    /// Step 7, the market price at each of this cycle's fills, when this engine runs the
    /// account's paper venue (its feed prices any instant; an exchange fills where it fills,
    /// and a replay of such a session fills at the readings). A paper order fills at the price
    /// when it reaches the venue, which can have moved since the cycle's reading.
    fn fill_prices(&self, fills: &[(Symbol, Timestamp)]) -> Vec<FillPrice> {
        let Some(feed) = &self.fill_feed else {
            return Vec::new();
        };
        fills
            .iter()
            .filter_map(|(symbol, at)| {
                Some(FillPrice {
                    symbol: symbol.clone(),
                    price: feed.price(symbol, *at)?,
                })
            })
            .collect()
    }

    /// Step 7, the view the API and the dashboard read.
    async fn publish_view(
        &mut self,
        ctx: &CycleContext<'_>,
        report: &CycleReport,
        targets: &[SizedTarget],
        positions: Vec<Position>,
        settlement: &Settlement,
        unknown: BTreeMap<Symbol, super::unknown::UnknownPositionView>,
    ) -> Result<(), CycleError> {
        let target_map: BTreeMap<Symbol, Decimal> = targets
            .iter()
            .map(|t| (t.symbol.clone(), t.qty.get()))
            .collect();
        let last_refusal = report.last_risk_refusal().map(ToString::to_string);
        let symbol_errors = report
            .symbol_errors
            .iter()
            .map(ToString::to_string)
            .collect();
        let venue_rejections = self.publish_rejections().await?;
        let entry_error = report
            .order_entry_error
            .as_ref()
            .map(|e| format!("order entry failing: {e}"));
        let (state, value, open_orders) = (ctx.account.state, report.value, settlement.still_open);
        let (settled_filled, settled_rejected) = (settlement.filled, settlement.rejected);
        let (tracker, kill, now) = (ctx.tracker.clone(), ctx.kill, ctx.now);
        self.update_view(|v| {
            v.unknown_positions = unknown;
            v.symbol_errors = symbol_errors;
            v.value = Some(value);
            v.positions = positions;
            v.targets = target_map;
            v.last_cycle_at = Some(now);
            v.reconciled = open_orders == 0 && entry_error.is_none();
            v.last_error = entry_error;
            v.state = Some(state);
            v.cycles += 1;
            v.orders_sent += report.sent;
            v.orders_filled += report.filled + settled_filled;
            v.orders_rejected += report.rejected + settled_rejected;
            v.orders_risk_refused += report.risk_refused;
            if last_refusal.is_some() {
                v.last_risk_refusal = last_refusal;
            }
            v.risk = Some(tracker);
            v.kill = kill;
            v.venue_rejections = venue_rejections;
        })
        .await;
        Ok(())
    }
}

/// Each target's attribution (see [`crate::pnl::PlanAttribution`]), `changed` against `last`;
/// a symbol whose positions cannot be computed is logged and left out (its plan is attributed
/// to no source).
fn desired_positions(
    account: &tradeengine_model::AccountName,
    targets: &[tradeengine_core::size::SizedTarget],
    blends: &std::collections::BTreeMap<tradeengine_model::Symbol, tradeengine_core::blend::Blend>,
    value: rust_decimal::Decimal,
    last: &std::collections::BTreeMap<tradeengine_model::Symbol, crate::pnl::ContributionKey>,
) -> std::collections::BTreeMap<tradeengine_model::Symbol, crate::pnl::PlanAttribution> {
    let mut out = std::collections::BTreeMap::new();
    for t in targets {
        let Some(blend) = blends.get(&t.symbol) else {
            continue;
        };
        match crate::pnl::desired_for(blend, t, value) {
            Ok(desired) => {
                let key = crate::pnl::contribution_key(blend, t);
                let changed = last.get(&t.symbol) != Some(&key);
                out.insert(
                    t.symbol.clone(),
                    crate::pnl::PlanAttribution {
                        desired,
                        key,
                        changed,
                    },
                );
            }
            Err(e) => {
                tracing::warn!(%account, symbol = %t.symbol, error = %e, "cannot attribute this target to sources");
            }
        }
    }
    out
}
