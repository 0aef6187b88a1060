//! One symbol's part of a cycle: plan it, and when the plan has steps, store and execute it —
//! unless the risk gate would refuse it exactly as it did at the start of the symbol's ongoing
//! refusal episode, which is then counted but not recorded again
//! (see [`crate::risk::RefusalEpisode`]).

use rust_decimal::Decimal;
use tradeengine_core::RiskRefusal;
use tradeengine_core::plan::{PlanInput, plan};
use tradeengine_core::risk::PortfolioState;
use tradeengine_core::size::SizedTarget;
use tradeengine_model::{
    AccountName, Instrument, MarginMode, OrderKind, PlanId, Position, Timestamp,
};
use tradeengine_store::Store;

use super::execute::{ExecutionReport, Executor};
use super::outcome::CycleError;
use crate::risk::RefusalEpisode;

/// What one symbol needs for this cycle.
#[derive(Debug, Clone)]
pub struct SymbolJob {
    pub target: SizedTarget,
    pub instrument: Instrument,
    pub current: Position,
    pub plan_id: PlanId,
    /// The symbol's ongoing refusal episode, if it has one.
    pub episode: Option<RefusalEpisode>,
    /// Each source's desired virtual position behind the target (P&L attribution, see
    /// [`crate::pnl`]); `None` when it could not be computed, and its plan is then attributed
    /// to no source.
    pub attribution: Option<crate::pnl::PlanAttribution>,
}

/// The account-wide settings every symbol of a cycle is planned with.
#[derive(Debug, Clone, Copy)]
pub struct PlanSettings {
    pub now: Timestamp,
    pub drift_band: Decimal,
    pub account_min_notional: Decimal,
    pub margin_mode: MarginMode,
    pub risk_state: PortfolioState,
}

/// What became of one symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SymbolOutcome {
    /// The position is where the target wants it (within the drift band): no plan.
    Nothing,
    /// A plan was stored and executed.
    Executed(ExecutionReport),
    /// The gate still refuses the plan, first leg, by the episode's rule, with the episode's
    /// target and risk state: nothing was stored or sent, and nothing recorded.
    Held(RiskRefusal),
}

impl SymbolOutcome {
    /// The symbol's refusal episode after this outcome: kept while held, started (or
    /// replaced) by a recorded refusal, ended by anything else.
    pub fn episode_after(
        &self,
        job: &SymbolJob,
        risk_state: PortfolioState,
    ) -> Option<RefusalEpisode> {
        match self {
            Self::Nothing => None,
            Self::Held(_) => job.episode.clone(),
            Self::Executed(exec) => exec.refused_by.map(|rule| RefusalEpisode {
                target_qty: job.target.qty.get(),
                target_leverage: job.target.leverage,
                state: risk_state,
                rule,
            }),
        }
    }
}

impl super::AccountWorker {
    /// Cuts opening targets to what the venue's free margin carries at each symbol's leverage,
    /// less `[risk] margin_buffer` (see [`tradeengine_core::margin`]). A venue whose adapter
    /// cannot report free margin gets no cap, said once in the log; a cap that cannot be
    /// computed (an overflow) leaves the targets as they are, said in the log, since the
    /// venue's own margin check still stands behind it.
    pub(super) fn cap_by_margin(
        &mut self,
        targets: &mut [SizedTarget],
        positions: &std::collections::BTreeMap<tradeengine_model::Symbol, Position>,
        available: Option<Decimal>,
        value: Decimal,
        limits: &crate::config::RiskLimits,
    ) {
        let Some(available) = available else {
            if !self.margin_cap_unavailable_logged {
                self.margin_cap_unavailable_logged = true;
                tracing::warn!(account = %self.name, venue = self.venue.kind(), "this venue's adapter does not report free margin: opening targets are not capped by it");
            }
            return;
        };
        let held = positions
            .iter()
            .map(|(s, p)| (s.clone(), p.size.get()))
            .collect();
        match tradeengine_core::margin::cap_by_margin(
            targets,
            &held,
            available,
            value,
            limits.margin_buffer,
        ) {
            Ok(capped) => {
                for t in targets.iter().filter(|t| capped.contains(&t.symbol)) {
                    tracing::info!(account = %self.name, symbol = %t.symbol, target = %t.qty.get(), %available, buffer = %limits.margin_buffer, "opening target cut to the free margin");
                }
            }
            Err(e) => {
                tracing::warn!(account = %self.name, error = %e, "cannot cap targets by free margin this cycle");
            }
        }
    }
}

/// A symbol's plan, stored and ready to execute, or what became of the symbol without one.
#[derive(Debug)]
pub enum Prepared {
    Done(SymbolOutcome),
    Plan(tradeengine_model::Plan),
}

/// Plans one symbol and, when the plan has steps, stores and executes it (or holds it, see the
/// module docs).
pub async fn plan_and_execute(
    executor: &Executor,
    store: &dyn Store,
    account: &AccountName,
    job: &SymbolJob,
    settings: PlanSettings,
) -> Result<SymbolOutcome, CycleError> {
    match prepare(executor, store, account, job, settings).await? {
        Prepared::Done(outcome) => Ok(outcome),
        Prepared::Plan(plan) => Ok(SymbolOutcome::Executed(
            executor
                .execute(&plan, job.target.price.get(), job.target.leverage)
                .await?,
        )),
    }
}

/// Plans one symbol and, when the plan has steps and is not held (see the module docs),
/// stores it: what is left is to execute it.
pub async fn prepare(
    executor: &Executor,
    store: &dyn Store,
    account: &AccountName,
    job: &SymbolJob,
    settings: PlanSettings,
) -> Result<Prepared, CycleError> {
    let target = &job.target;
    let input = PlanInput {
        plan_id: &job.plan_id,
        account,
        now: settings.now,
        current: &job.current,
        target: target.qty,
        unrounded_target: target.unrounded_qty,
        target_leverage: target.leverage,
        margin_mode: settings.margin_mode,
        instrument: &job.instrument,
        price: target.price,
        drift_band: settings.drift_band,
        min_notional: job
            .instrument
            .min_notional
            .max(settings.account_min_notional),
        kind: OrderKind::Market,
    };
    let plan = plan(&input)?;
    let changed = job.attribution.as_ref().is_some_and(|a| a.changed);
    if plan.is_empty() {
        if changed {
            record_attribution(store, account, job, &plan, settings.now, false).await;
        }
        return Ok(Prepared::Done(SymbolOutcome::Nothing));
    }
    if let Some(episode) = &job.episode
        && episode.covers(target.qty.get(), target.leverage, settings.risk_state)
        && let Some((0, refusal)) = executor
            .probe(&plan, target.price.get(), target.leverage)
            .await
        && refusal.rule == episode.rule
    {
        tracing::debug!(%account, symbol = %plan.symbol, rule = %refusal.rule, "still refused by risk; not recorded again");
        if changed {
            record_attribution(store, account, job, &plan, settings.now, false).await;
        }
        return Ok(Prepared::Done(SymbolOutcome::Held(refusal)));
    }
    // The plan and its attribution in one transaction (no window in which a stored plan's
    // fills would be booked as unattributed); a plan without one is stored alone.
    match attribution_record(account, job, &plan, settings.now, true) {
        Some(record) => store.record_plan_attributed(&plan, &record).await?,
        None => store.record_plan(&plan).await?,
    }
    tracing::info!(
        %account, symbol = %plan.symbol, plan = %plan.id, current = %plan.current, target = %plan.target,
        steps = plan.steps.len(), "plan"
    );
    Ok(Prepared::Plan(plan))
}

/// Stores the attribution event of a plan that sends nothing (the sources' contributions
/// changed). Attribution reports, it does not trade: a failure here is logged and the cycle goes
/// on; the next event of the symbol carries the sources' positions again, so the books catch up
/// there (see ARCHITECTURE.md, "P&L by source").
async fn record_attribution(
    store: &dyn Store,
    account: &AccountName,
    job: &SymbolJob,
    plan: &tradeengine_model::Plan,
    now: Timestamp,
    sent: bool,
) {
    let Some(record) = attribution_record(account, job, plan, now, sent) else {
        return;
    };
    if let Err(e) = store.record_pnl_event(&record).await {
        tracing::warn!(%account, symbol = %plan.symbol, error = %e, "cannot store the plan's P&L attribution");
    }
}

/// The plan's attribution event (who wanted the orders it sends; `sent`: whether its orders go
/// out); `None` without attribution or when it cannot be encoded (logged: the plan's fills then
/// count as unattributed, which keeps the books' identity).
fn attribution_record(
    account: &AccountName,
    job: &SymbolJob,
    plan: &tradeengine_model::Plan,
    now: Timestamp,
    sent: bool,
) -> Option<tradeengine_store::PnlEventRecord> {
    let attribution = job.attribution.as_ref()?;
    let orders = if sent {
        plan.legs().map(|l| l.client_order_id.clone()).collect()
    } else {
        Vec::new()
    };
    let event = tradeengine_core::attribution::Event::Rebalance {
        desired: attribution.desired.clone(),
        target: plan.target.get(),
        reference: job.target.price,
        orders,
    };
    match serde_json::to_value(&event) {
        Ok(event) => Some(tradeengine_store::PnlEventRecord {
            seq: 0,
            account: account.clone(),
            symbol: plan.symbol.clone(),
            at: now,
            event,
        }),
        Err(e) => {
            tracing::warn!(%account, symbol = %plan.symbol, error = %e, "cannot encode the plan's P&L attribution; its fills count as unattributed");
            None
        }
    }
}
