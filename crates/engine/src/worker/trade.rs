//! Step 6 of a cycle: each symbol's plan, stored and executed — symbols in parallel up to the
//! account's concurrency, one symbol's failure never stopping another — and what each outcome
//! means for the report, the symbol's refusal episodes and its venue back-off.

use futures::StreamExt;
use tradeengine_core::risk::{ExposureBook, PortfolioState};
use tradeengine_core::size::SizedTarget;
use tradeengine_model::Position;

use super::AccountWorker;
use super::cycle::{CycleContext, CycleReport, Market};
use super::execute::Executor;
use super::outcome::{CycleError, SkipReason, SymbolProblem};
use super::recovery::Settlement;
use super::rejections::{EpisodeKey, Gate};
use super::symbol::{PlanSettings, SymbolJob, SymbolOutcome, plan_and_execute};
use crate::config::Mode;
use crate::killswitch::KillAction;
use crate::risk::RiskGate;

/// A symbol left out of the cycle, with why.
fn skipped(symbol: &tradeengine_model::Symbol, reason: SkipReason) -> SymbolProblem {
    SymbolProblem::symbol(symbol.clone(), reason)
}

impl AccountWorker {
    /// Plans and executes every target the cycle may trade, and folds the outcomes into
    /// `report`.
    pub(super) async fn trade(
        &mut self,
        ctx: &CycleContext<'_>,
        market: &Market,
        targets: &[SizedTarget],
        settlement: &Settlement,
        report: &mut CycleReport,
    ) -> Result<(), CycleError> {
        let executor = Executor {
            account: self.name.clone(),
            venue: self.venue.clone(),
            store: self.store.clone(),
            clock: self.clock.clone(),
            dry_run: ctx.config.account_mode(ctx.account) == Mode::DryRun,
            risk: std::sync::Arc::new(self.risk_gate(ctx, market)),
        };
        let settings = PlanSettings {
            now: ctx.now,
            drift_band: ctx.config.engine.drift_band,
            account_min_notional: ctx.account.min_order_notional,
            margin_mode: ctx.account.margin_mode,
            risk_state: ctx.tracker.state,
        };
        // Frozen: read and record, plan nothing, send nothing.
        let plannable: &[SizedTarget] = if ctx.kill == Some(KillAction::Freeze) {
            &[]
        } else {
            targets
        };
        let jobs = self.symbol_jobs(ctx, market, plannable, settlement, report)?;
        let account = self.name.clone();
        let store = self.store.clone();
        let concurrency = ctx.account.max_concurrent_requests.max(1);
        // A venue with batch order entry takes the first legs of many symbols per request
        // (`super::batch`); a dry run sends nothing, so it keeps the one-by-one path.
        let results: Vec<(SymbolJob, Result<SymbolOutcome, CycleError>)> = if !executor.dry_run
            && executor.venue.batch_limit() > 1
        {
            super::batch::plan_and_execute_batched(
                &executor,
                &*store,
                &account,
                jobs,
                settings,
                concurrency,
            )
            .await
        } else {
            futures::stream::iter(jobs)
                .map(|job| {
                    let executor = executor.clone();
                    let account = account.clone();
                    let store = store.clone();
                    async move {
                        let outcome =
                            plan_and_execute(&executor, &*store, &account, &job, settings).await;
                        (job, outcome)
                    }
                })
                .buffer_unordered(concurrency)
                .collect()
                .await
        };
        for (job, outcome) in results {
            self.take_outcome(ctx, job, outcome, report).await?;
        }
        Ok(())
    }

    /// The pre-trade gate for this cycle: the account's and each symbol's limits over the
    /// exposure the venue reported.
    fn risk_gate(&self, ctx: &CycleContext<'_>, market: &Market) -> RiskGate {
        let book = ExposureBook::new(
            market.balance.value,
            market.positions.iter().map(|p| {
                let price = market
                    .prices
                    .get(&p.symbol)
                    .or(p.entry_price.as_ref())
                    .map(|x| x.get())
                    .unwrap_or_default();
                (p.symbol.clone(), p.size.get(), price)
            }),
        );
        let symbol_limits = ctx
            .symbols
            .iter()
            .map(|s| (s.symbol.clone(), ctx.limits.pre_trade(Some(s.config))))
            .collect();
        RiskGate::new(
            ctx.tracker.state,
            ctx.limits.pre_trade(None),
            symbol_limits,
            book,
            self.order_window.clone(),
        )
    }

    /// One job per target that may be planned now; the others go into the report with why.
    fn symbol_jobs(
        &mut self,
        ctx: &CycleContext<'_>,
        market: &Market,
        targets: &[SizedTarget],
        settlement: &Settlement,
        report: &mut CycleReport,
    ) -> Result<Vec<SymbolJob>, CycleError> {
        let mut jobs = Vec::new();
        for target in targets {
            let symbol = &target.symbol;
            // An order that may still fill blocks new plans for its symbol, so it is never
            // doubled; a flatten's reduce-only close cannot overshoot, whatever that order
            // does, so the panic button does not wait for a venue that cannot confirm an old
            // order (what fills later is closed by the next cycle).
            let flattening = ctx.kill == Some(crate::killswitch::KillAction::Flatten);
            if settlement.open_symbols.contains(symbol) && !flattening {
                report
                    .symbol_errors
                    .push(skipped(symbol, SkipReason::Unsettled));
                continue;
            }
            let key = EpisodeKey::of(target, ctx.config, ctx.kill, ctx.tracker.state);
            if let Gate::Hold(why) = self
                .rejections
                .gate(symbol, &key, tokio::time::Instant::now())
            {
                report.symbol_errors.push(skipped(symbol, why));
                continue;
            }
            let Some(instrument) = self.instruments.get(symbol).cloned() else {
                report
                    .symbol_errors
                    .push(skipped(symbol, SkipReason::NoInstrument { detail: None }));
                continue;
            };
            let current = market
                .by_symbol
                .get(symbol)
                .cloned()
                .unwrap_or_else(|| Position::flat(symbol.clone()));
            let plan_id = self
                .plan_ids
                .next()
                .map_err(|e| CycleError::Other(e.to_string()))?;
            let attribution = self.desired.remove(symbol);
            if let Some(a) = attribution.as_ref().filter(|a| a.changed) {
                self.attributed.insert(symbol.clone(), a.key.clone());
            }
            jobs.push(SymbolJob {
                target: target.clone(),
                instrument,
                current,
                plan_id,
                episode: self.refusals.get(symbol).cloned(),
                attribution,
            });
        }
        Ok(jobs)
    }

    /// Folds one symbol's outcome into the report, its refusal episode and its venue back-off.
    async fn take_outcome(
        &mut self,
        ctx: &CycleContext<'_>,
        job: SymbolJob,
        outcome: Result<SymbolOutcome, CycleError>,
        report: &mut CycleReport,
    ) -> Result<(), CycleError> {
        let symbol = job.target.symbol.clone();
        let risk_state: PortfolioState = ctx.tracker.state;
        let outcome = match outcome {
            Ok(outcome) => outcome,
            // A failed symbol keeps its episode: nothing about the refusal was learnt.
            Err(e) => {
                report
                    .symbol_errors
                    .push(skipped(&symbol, SkipReason::Failed(e.to_string())));
                return Ok(());
            }
        };
        match outcome.episode_after(&job, risk_state) {
            Some(episode) => self.refusals.insert(symbol.clone(), episode),
            None => self.refusals.remove(&symbol),
        };
        match outcome {
            SymbolOutcome::Executed(exec) => {
                let key = EpisodeKey::of(&job.target, ctx.config, ctx.kill, risk_state);
                self.note_venue_answer(&symbol, key, &exec).await?;
                report.plans += 1;
                report.sent += exec.sent;
                report.filled += exec.filled;
                report.fill_times.extend(exec.fill_times.iter().cloned());
                report.rejected += exec.rejected;
                report.risk_refused += exec.risk_refused;
                if let Some(rule) = exec.refused_by {
                    crate::telemetry::risk_refusal(self.name.as_str(), rule.as_str(), true);
                }
                if let Some(stopped) = exec.stopped {
                    report.symbol_errors.push(SymbolProblem::symbol(
                        symbol.clone(),
                        SkipReason::Stopped(stopped),
                    ));
                }
                if let Some(e) = exec.entry_error {
                    report.order_entry_error = Some(format!("{symbol}: {e}"));
                }
            }
            SymbolOutcome::Held(refusal) => {
                report.risk_held += 1;
                crate::telemetry::risk_refusal(self.name.as_str(), refusal.rule.as_str(), false);
                report
                    .symbol_errors
                    .push(SymbolProblem::symbol(symbol, SkipReason::RiskHeld(refusal)));
            }
            SymbolOutcome::Nothing => self.rejections.cleared(&symbol),
        }
        Ok(())
    }
}
