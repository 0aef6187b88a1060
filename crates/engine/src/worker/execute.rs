//! Carrying out one stored plan against a venue, step by step, recording every order state.
//!
//! Rules that keep money safe here:
//! - an order is marked `Sent` in the store before the request leaves, so a crash at any point
//!   leaves a record that the next start settles by asking the venue (see `recovery`);
//! - an outcome the answer does not prove (any failed attempt that may have reached the venue:
//!   timeout, reset, 5xx, unreadable reply — see [`VenueError::may_have_acted`]) is settled by
//!   querying the client order id, never by re-sending and never by assuming a rejection;
//! - a step that fails stops the plan: a flip never opens before its close is confirmed filled;
//! - a retryable failure is retried with the same client order id, which the venue refuses to
//!   double;
//! - every leg passes the account's [`RiskGate`] before anything about it leaves the process
//!   (dry-run included, so a dry run shows what risk would refuse); a refused leg is stored as
//!   `Rejected` with the rule in its error and audited as `risk_refused`, and stops the plan.

use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use tradeengine_core::risk::{LegIntent, RiskRule, is_reducing};
use tradeengine_model::{
    AccountName, Clock, Fill, OrderKind, OrderLeg, OrderRequest, OrderState, OrderStatus, Plan,
    PlanStep,
};
use tradeengine_store::{OrderUpdate, Store, StoreError};

use crate::audit_payload::AuditPayload;
use tradeengine_venues::{Venue, VenueError, VenueErrorKind};

use super::outcome::LegStop;
use crate::risk::RiskGate;

/// How many times a retryable placement is tried in one cycle.
const PLACE_ATTEMPTS: u32 = 3;

/// What executing a plan did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutionReport {
    pub sent: u64,
    pub filled: u64,
    pub rejected: u64,
    /// Legs refused by a risk rule (counted in `rejected` too).
    pub risk_refused: u64,
    /// The rule that refused a leg, when one did (a refusal stops the plan, so there is one).
    pub refused_by: Option<RiskRule>,
    /// Why the plan stopped early, if it did.
    pub stopped: Option<LegStop>,
    /// The venue refused a leg for a business reason (margin, minimum size, reduce-only,
    /// position limit): the symbol backs off (see `super::rejections`).
    pub venue_rejection: Option<String>,
    /// Order entry itself failed (5xx, timeout, dropped connection, rate limit, credentials):
    /// an account error that backs the whole account off and shows in the API and `/ready`.
    pub entry_error: Option<String>,
    /// Each filled order's symbol and the venue's time of the fill, in the order filled (the
    /// market price then is what a replay fills at: see `cycle::fill_prices`).
    pub fill_times: Vec<(tradeengine_model::Symbol, tradeengine_model::Timestamp)>,
}

/// Everything execution needs, borrowed from the worker.
#[derive(Debug, Clone)]
pub struct Executor {
    pub account: AccountName,
    pub venue: Arc<dyn Venue>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Plan and record, send nothing.
    pub dry_run: bool,
    /// Pre-trade risk for this cycle.
    pub risk: Arc<RiskGate>,
}

/// Per plan: the venue's mark price, read at most once and only when a check needs it.
type MarkCache = Option<Option<Decimal>>;

/// One plan's execution in progress: what it was sized at and what it has done so far.
#[derive(Debug)]
pub(super) struct PlanRun {
    /// The price the plan was sized at.
    price: Decimal,
    /// The leverage the symbol runs at after the plan.
    leverage: Decimal,
    mark: MarkCache,
    pub report: ExecutionReport,
}

impl PlanRun {
    pub(super) fn new(price: Decimal, leverage: Decimal) -> Self {
        Self {
            price,
            leverage,
            mark: None,
            report: ExecutionReport::default(),
        }
    }
}

impl Executor {
    /// Executes `plan`, which must already be stored (its orders `Intended`). `price` is the
    /// price the plan was sized at; `leverage` the leverage the symbol runs at after it.
    pub async fn execute(
        &self,
        plan: &Plan,
        price: Decimal,
        leverage: Decimal,
    ) -> Result<ExecutionReport, StoreError> {
        let mut run = PlanRun::new(price, leverage);
        self.run_steps(plan, 0, &mut run).await?;
        Ok(run.report)
    }

    /// Runs the plan's steps from index `from` on; a step that fails stops the plan (the rest
    /// is abandoned, see [`Executor::stop`]).
    pub(super) async fn run_steps(
        &self,
        plan: &Plan,
        from: usize,
        run: &mut PlanRun,
    ) -> Result<(), StoreError> {
        for (i, step) in plan.steps.iter().enumerate().skip(from) {
            let outcome = match step {
                PlanStep::Order(leg) => match self.admit_leg(plan, leg, run).await? {
                    Ok(Some(request)) => {
                        self.send_leg(plan, leg, &request, None, std::time::Instant::now(), run)
                            .await?
                    }
                    Ok(None) => Ok(()),
                    Err(stop) => Err(stop),
                },
                setting => self.run_setting(plan, setting).await,
            };
            if let Err(reason) = outcome {
                self.stop(plan, i + 1, reason, run).await?;
                break;
            }
        }
        Ok(())
    }

    /// Stops the plan for `reason`: the steps from index `rest` on are abandoned.
    pub(super) async fn stop(
        &self,
        plan: &Plan,
        rest: usize,
        reason: LegStop,
        run: &mut PlanRun,
    ) -> Result<(), StoreError> {
        tracing::warn!(account = %self.account, symbol = %plan.symbol, plan = %plan.id, %reason, "plan stopped");
        self.abandon_rest(plan.steps.iter().skip(rest), &reason)
            .await?;
        run.report.stopped = Some(reason);
        Ok(())
    }

    /// A margin-mode or leverage step; `Err` stops the plan.
    pub(super) async fn run_setting(&self, plan: &Plan, step: &PlanStep) -> Result<(), LegStop> {
        match step {
            PlanStep::SetMarginMode { mode } => self
                .venue
                .set_margin_mode(&plan.symbol, *mode)
                .await
                .map_err(|e| LegStop::MarginMode {
                    mode: *mode,
                    error: e.to_string(),
                }),
            PlanStep::SetLeverage { leverage } => {
                let limit = self.risk.limits(&plan.symbol).max_leverage;
                if self.dry_run {
                    Ok(())
                } else if limit.is_some_and(|l| *leverage > l) {
                    // Never raise the venue's leverage past the limit: the opening legs that
                    // need it are refused by `max_leverage` below, and the reducing ones run at
                    // the leverage already set.
                    tracing::warn!(account = %self.account, symbol = %plan.symbol, %leverage, "leverage above the limit not set");
                    Ok(())
                } else {
                    self.venue
                        .set_leverage(&plan.symbol, *leverage)
                        .await
                        .map_err(|e| LegStop::Leverage {
                            leverage: *leverage,
                            error: e.to_string(),
                        })
                }
            }
            PlanStep::Order(_) => Ok(()),
        }
    }

    /// Marks the orders of steps that will not run as cancelled, so nothing stays `Intended`.
    async fn abandon_rest<'a>(
        &self,
        rest: impl Iterator<Item = &'a PlanStep>,
        reason: &LegStop,
    ) -> Result<(), StoreError> {
        for step in rest {
            if let PlanStep::Order(leg) = step {
                self.store
                    .update_order(
                        &leg.client_order_id,
                        &OrderUpdate {
                            error: Some(format!("not sent: an earlier step failed ({reason})")),
                            ..OrderUpdate::new(OrderState::Cancelled, self.clock.now())
                        },
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// Takes a leg up to the moment it may be sent: through the risk gate (a refusal stops the
    /// plan), then stored `Sent`. `Ok(Ok(None))`: a dry run, recorded, nothing to send.
    pub(super) async fn admit_leg(
        &self,
        plan: &Plan,
        leg: &OrderLeg,
        run: &mut PlanRun,
    ) -> Result<Result<Option<OrderRequest>, LegStop>, StoreError> {
        if let Err(reason) = self
            .check_risk(plan, leg, run.price, run.leverage, &mut run.mark)
            .await
        {
            return Ok(self
                .refuse_by_risk(plan, leg, reason, &mut run.report)
                .await?
                .map(|()| None));
        }
        if self.dry_run {
            self.mark(leg, OrderState::Cancelled, None, Some("dry-run: not sent"))
                .await?;
            return Ok(Ok(None));
        }
        self.store
            .update_order(
                &leg.client_order_id,
                &OrderUpdate::new(OrderState::Sent, self.clock.now()),
            )
            .await?;
        run.report.sent += 1;
        Ok(Ok(Some(OrderRequest {
            client_order_id: leg.client_order_id.clone(),
            symbol: plan.symbol.clone(),
            side: leg.side,
            qty: leg.qty,
            kind: leg.kind,
            reduce_only: leg.reduce_only,
        })))
    }

    /// Sends an admitted leg (or takes `first`, the answer a batch request already got for it,
    /// as its first attempt) and settles what became of it. `Ok(Err(stop))` stops the plan
    /// (why, typed); `Err` is a store failure.
    pub(super) async fn send_leg(
        &self,
        plan: &Plan,
        leg: &OrderLeg,
        request: &OrderRequest,
        first: Option<Result<OrderStatus, VenueError>>,
        started: std::time::Instant,
        run: &mut PlanRun,
    ) -> Result<Result<(), LegStop>, StoreError> {
        let report = &mut run.report;
        let (result, may_have_acted) = self.place_with_retries(plan, leg, request, first).await;
        let outcome = match &result {
            Ok(s) if s.state == OrderState::Filled => "filled",
            Ok(s) if s.state == OrderState::Rejected => "rejected",
            Ok(_) => "accepted",
            Err(_) if may_have_acted => "ambiguous",
            Err(e) if e.kind == VenueErrorKind::Rejected => "rejected",
            Err(_) => "error",
        };
        crate::telemetry::order(self.venue.kind(), outcome, started.elapsed());
        match result {
            Ok(status) => self.settle_status(leg, &status, report).await,
            Err(e) if may_have_acted => self.settle_by_client_id(plan, leg, &e, report).await,
            Err(e) => {
                let reason = e.to_string();
                self.mark(leg, OrderState::Rejected, None, Some(&reason))
                    .await?;
                report.rejected += 1;
                if e.kind == VenueErrorKind::Rejected {
                    report.venue_rejection = Some(reason.clone());
                } else {
                    report.entry_error = Some(reason.clone());
                }
                Ok(Err(LegStop::Refused { error: reason }))
            }
        }
    }

    /// Records a leg a pre-trade risk rule refused (rejected, audited) and stops the plan.
    async fn refuse_by_risk(
        &self,
        plan: &Plan,
        leg: &OrderLeg,
        reason: tradeengine_core::RiskRefusal,
        report: &mut ExecutionReport,
    ) -> Result<Result<(), LegStop>, StoreError> {
        self.mark(leg, OrderState::Rejected, None, Some(&reason.to_string()))
            .await?;
        AuditPayload::RiskRefused {
            rule: reason.rule,
            detail: &reason.detail,
            plan: &plan.id,
            client_order_id: &leg.client_order_id,
            side: leg.side,
            qty: leg.qty,
            reduce_only: leg.reduce_only,
        }
        .record(
            &*self.store,
            Some(self.account.as_str()),
            Some(plan.symbol.as_str()),
            self.clock.now(),
        )
        .await?;
        tracing::warn!(account = %self.account, symbol = %plan.symbol, order = %leg.client_order_id, rule = %reason.rule, detail = %reason.detail, "order refused by risk");
        report.rejected += 1;
        report.risk_refused += 1;
        report.refused_by = Some(reason.rule);
        Ok(Err(LegStop::Risk(reason)))
    }

    /// Places the order, retrying what may be retried; returns the last result and whether any
    /// attempt may have reached the venue and acted: then only the venue can say what became of
    /// this client id, whatever the last attempt's error was (a 503 after the venue acted, then
    /// "insufficient margin" because the first attempt used it).
    /// `first`, when given, is the first attempt's answer, already had (from a batch request).
    async fn place_with_retries(
        &self,
        plan: &Plan,
        leg: &OrderLeg,
        request: &OrderRequest,
        mut first: Option<Result<OrderStatus, VenueError>>,
    ) -> (Result<OrderStatus, VenueError>, bool) {
        let mut attempt = 0;
        let mut may_have_acted = false;
        let result = loop {
            attempt += 1;
            let result = match first.take() {
                Some(answered) => answered,
                None => self.venue.place_order(request).await,
            };
            if let Err(e) = &result {
                may_have_acted |= e.may_have_acted();
            }
            match result {
                Err(e) if e.is_retryable() && attempt < PLACE_ATTEMPTS => {
                    // The attempt may have reached the venue: ask by client id before sending
                    // the same order again. A venue that keeps client ids unique only among
                    // open orders (Binance) would take a re-sent id after the first attempt
                    // filled, and double the position.
                    if e.may_have_acted() {
                        match self
                            .venue
                            .order_by_client_id(&plan.symbol, &leg.client_order_id)
                            .await
                        {
                            Ok(Some(status)) => break Ok(status),
                            // The venue has no order with this id: it did not act, the same id
                            // may go again.
                            Ok(None) => {}
                            // Cannot tell: settle it (Unknown) and let the next cycle ask.
                            Err(_) => break Err(e),
                        }
                    }
                    let wait = e
                        .retry_after
                        .unwrap_or(Duration::from_millis(200 * u64::from(attempt)));
                    tracing::info!(account = %self.account, order = %leg.client_order_id, error = %e, "retrying order");
                    tokio::time::sleep(wait.min(Duration::from_secs(5))).await;
                }
                other => break other,
            }
        };
        (result, may_have_acted)
    }

    /// Records what the venue said about a sent order; anything short of fully filled stops
    /// the plan, because later legs assume this one landed.
    async fn settle_status(
        &self,
        leg: &OrderLeg,
        status: &OrderStatus,
        report: &mut ExecutionReport,
    ) -> Result<Result<(), LegStop>, StoreError> {
        record_status(&*self.store, &self.account, status, self.clock.now()).await?;
        match status.state {
            OrderState::Filled => {
                report.filled += 1;
                report
                    .fill_times
                    .push((status.symbol.clone(), status.updated_at));
                Ok(Ok(()))
            }
            OrderState::Rejected => {
                report.rejected += 1;
                let stop = LegStop::RejectedByVenue {
                    order: leg.client_order_id.clone(),
                };
                report.venue_rejection = Some(stop.to_string());
                Ok(Err(stop))
            }
            other => Ok(Err(LegStop::NotFilled {
                order: leg.client_order_id.clone(),
                state: other,
            })),
        }
    }

    /// An attempt may have reached the venue and acted, and no attempt was answered with the
    /// order: ask the venue by client id before marking, retrying or repairing anything. Only
    /// the venue's own report settles the order; when it has no such order (yet — a venue's
    /// order look-up can lag its order entry) or cannot be asked, the order stays `Unknown`
    /// and the next cycle asks again before planning this symbol. Never `Rejected` from here:
    /// a 503 after the venue filled the order must not become "nothing filled".
    async fn settle_by_client_id(
        &self,
        plan: &Plan,
        leg: &OrderLeg,
        error: &VenueError,
        report: &mut ExecutionReport,
    ) -> Result<Result<(), LegStop>, StoreError> {
        tracing::warn!(account = %self.account, order = %leg.client_order_id, %error, "order outcome not known from the answer; querying the venue by client id");
        // Order entry failed, whatever the look-up finds: the account shows it and backs off.
        if error.kind != VenueErrorKind::Rejected {
            report.entry_error = Some(error.to_string());
        }
        let detail = match self
            .venue
            .order_by_client_id(&plan.symbol, &leg.client_order_id)
            .await
        {
            Ok(Some(status)) => return self.settle_status(leg, &status, report).await,
            Ok(None) => error.to_string(),
            Err(query_error) => format!("{error}; query failed: {query_error}"),
        };
        self.mark(leg, OrderState::Unknown, None, Some(&detail))
            .await?;
        Ok(Err(LegStop::OutcomeUnknown {
            order: leg.client_order_id.clone(),
            error: error.to_string(),
        }))
    }

    /// Runs the leg through the risk gate. The mark price is read from the venue (once per
    /// plan) only when a price band applies to this leg.
    async fn check_risk(
        &self,
        plan: &Plan,
        leg: &OrderLeg,
        price: Decimal,
        leverage: Decimal,
        mark: &mut MarkCache,
    ) -> Result<(), tradeengine_core::RiskRefusal> {
        let position = self.risk.position(&plan.symbol);
        let (delta, leg_price, is_limit) = self.leg_terms(plan, leg, price, position, mark).await;
        let intent = LegIntent {
            symbol: &plan.symbol,
            delta,
            leverage,
            price: leg_price,
            mark: mark.flatten(),
            is_limit,
        };
        self.risk.admit(&intent, self.clock.now())
    }

    /// What the gate would say about `plan` if it ran now, booking nothing: the first leg it
    /// would refuse (its index among the plan's order legs, and why), or `None` when every leg
    /// passes. Used to tell an ongoing refusal from a new one before anything is stored (see
    /// [`crate::risk::RefusalEpisode`]).
    pub async fn probe(
        &self,
        plan: &Plan,
        price: Decimal,
        leverage: Decimal,
    ) -> Option<(usize, tradeengine_core::RiskRefusal)> {
        let mut trial = self.risk.trial();
        let mut mark: MarkCache = None;
        let legs = plan.steps.iter().filter_map(|s| match s {
            PlanStep::Order(leg) => Some(leg),
            _ => None,
        });
        for (i, leg) in legs.enumerate() {
            let position = trial.position(&plan.symbol);
            let (delta, leg_price, is_limit) =
                self.leg_terms(plan, leg, price, position, &mut mark).await;
            let intent = LegIntent {
                symbol: &plan.symbol,
                delta,
                leverage,
                price: leg_price,
                mark: mark.flatten(),
                is_limit,
            };
            if let Err(refusal) = trial.admit(&intent, self.clock.now()) {
                return Some((i, refusal));
            }
        }
        None
    }

    /// A leg's signed size, its price and whether it is a limit order; reads the mark price
    /// into `mark` when a price band applies (`position` is the symbol's position before it).
    async fn leg_terms(
        &self,
        plan: &Plan,
        leg: &OrderLeg,
        price: Decimal,
        position: Decimal,
        mark: &mut MarkCache,
    ) -> (Decimal, Decimal, bool) {
        let delta = leg.qty * leg.side.sign();
        let (leg_price, is_limit) = match leg.kind {
            OrderKind::Limit { price } => (price.get(), true),
            OrderKind::Market => (price, false),
        };
        let banded = self.risk.limits(&plan.symbol).price_band.is_some()
            && (is_limit || !is_reducing(position, delta));
        if banded && mark.is_none() {
            let read = self.venue.prices(std::slice::from_ref(&plan.symbol)).await;
            *mark = Some(match read {
                Ok(prices) => prices.get(&plan.symbol).map(|p| p.get()),
                Err(e) => {
                    tracing::warn!(account = %self.account, symbol = %plan.symbol, error = %e, "cannot read the mark price for the price band");
                    None
                }
            });
        }
        (delta, leg_price, is_limit)
    }

    async fn mark(
        &self,
        leg: &OrderLeg,
        state: OrderState,
        venue_order_id: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.store
            .update_order(
                &leg.client_order_id,
                &OrderUpdate {
                    venue_order_id: venue_order_id.map(str::to_string),
                    error: error.map(str::to_string),
                    ..OrderUpdate::new(state, self.clock.now())
                },
            )
            .await
            .map(|_| ())
    }
}

/// Stores a venue's report on an order. When the report shows the order final with something
/// filled, the order's fill goes with it in the same transaction ([`Store::settle_order`]), so
/// no crash can leave a filled order without its fill; settling the same report again adds
/// nothing.
pub async fn record_status(
    store: &dyn Store,
    account: &AccountName,
    status: &OrderStatus,
    now: tradeengine_model::Timestamp,
) -> Result<(), StoreError> {
    let fill = order_fill(account, status);
    store
        .settle_order(
            account,
            &status.client_order_id,
            &OrderUpdate::from_status(status, now),
            fill.as_ref(),
        )
        .await
        .map(drop)
}

/// The fill a final report describes: the whole filled quantity at the average price.
fn order_fill(account: &AccountName, status: &OrderStatus) -> Option<Fill> {
    if !status.state.is_terminal() || status.filled_qty <= Decimal::ZERO {
        return None;
    }
    let Some(price) = status.avg_fill_price else {
        tracing::error!(%account, order = %status.client_order_id, filled = %status.filled_qty, "the venue reports a filled quantity without an average price; no fill recorded");
        return None;
    };
    Some(Fill {
        client_order_id: status.client_order_id.clone(),
        venue_order_id: status.venue_order_id.clone(),
        symbol: status.symbol.clone(),
        side: status.side,
        qty: status.filled_qty,
        price,
        fee: status.fee,
        filled_at: status.updated_at,
    })
}
