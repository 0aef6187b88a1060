//! Step 6 of a cycle on a venue with batch order entry ([`Venue::batch_limit`] above 1): the
//! orders of many symbols go out together in the venue's batch requests instead of one request
//! each, so a cycle that moves 50 symbols costs a few requests, not 50, against the venue's
//! order limit.
//!
//! Three phases, each symbol's plan kept whole through them:
//! 1. **stage** (symbols in parallel, as the one-by-one path runs them): plan and store each
//!    symbol, run its settings steps (margin mode, leverage), and take its **first order leg**
//!    through the risk gate and into the store as `Sent`. Only first legs go in a batch: a
//!    later leg (a flip's open) depends on the one before it having filled;
//! 2. **send** every staged leg in one [`Venue::place_orders`] call, which splits them into
//!    requests of at most the venue's batch size and answers one result per leg;
//! 3. **finish** (symbols in parallel): each leg's result is taken as its first attempt by the
//!    same code that settles a single order ([`Executor::send_leg`]): a rejection stops only
//!    its own plan; an answer that may hide a placed order (a batch request that timed out or
//!    got a 5xx) is settled by client id before anything is sent again; a retryable failure is
//!    retried one by one under the same client id. Then each plan's remaining steps run.
//!
//! [`Venue::batch_limit`]: tradeengine_venues::Venue::batch_limit
//! [`Venue::place_orders`]: tradeengine_venues::Venue::place_orders

use futures::StreamExt;
use tradeengine_model::{AccountName, OrderRequest, Plan, PlanStep};
use tradeengine_store::{Store, StoreError};

use super::execute::{Executor, PlanRun};
use super::outcome::CycleError;
use super::symbol::{PlanSettings, Prepared, SymbolJob, SymbolOutcome, prepare};

/// One symbol after staging: its stored plan, what the plan has done so far, and the first leg
/// waiting to be sent (its step index and request), if the plan got that far.
struct Staged {
    plan: Plan,
    run: PlanRun,
    leg: Option<(usize, OrderRequest)>,
}

/// A symbol's state between the phases: finished already, or staged.
type Stage = Result<Option<Staged>, CycleError>;

/// Plans and executes every job, first legs in batches (see the module docs); one outcome per
/// job, as [`super::symbol::plan_and_execute`] gives it on the one-by-one path.
pub(super) async fn plan_and_execute_batched(
    executor: &Executor,
    store: &dyn Store,
    account: &AccountName,
    jobs: Vec<SymbolJob>,
    settings: PlanSettings,
    concurrency: usize,
) -> Vec<(SymbolJob, Result<SymbolOutcome, CycleError>)> {
    // 1. Stage.
    let staged: Vec<(SymbolJob, Result<SymbolOutcome, CycleError>, Stage)> =
        futures::stream::iter(jobs)
            .map(|job| async move {
                match prepare(executor, store, account, &job, settings).await {
                    Ok(Prepared::Done(outcome)) => (job, Ok(outcome), Ok(None)),
                    Err(e) => (job, Err(e), Ok(None)),
                    Ok(Prepared::Plan(plan)) => {
                        let mut run = PlanRun::new(job.target.price.get(), job.target.leverage);
                        let stage = match executor.stage(&plan, &mut run).await {
                            Ok(leg) => Ok(Some(Staged { plan, run, leg })),
                            Err(e) => Err(CycleError::from(e)),
                        };
                        (job, Ok(SymbolOutcome::Nothing), stage)
                    }
                }
            })
            .buffered(concurrency)
            .collect()
            .await;

    // 2. Send every staged first leg.
    let requests: Vec<OrderRequest> = staged
        .iter()
        .filter_map(|(_, _, stage)| stage.as_ref().ok()?.as_ref()?.leg.as_ref())
        .map(|(_, request)| request.clone())
        .collect();
    let started = std::time::Instant::now();
    let mut answers = if requests.is_empty() {
        Vec::new()
    } else {
        tracing::debug!(%account, orders = requests.len(), batch = executor.venue.batch_limit(), "sending first legs in batches");
        executor.venue.place_orders(&requests).await
    };
    // One answer per leg, whatever the adapter returned.
    answers.truncate(requests.len());
    for request in requests.iter().skip(answers.len()) {
        answers.push(Err(tradeengine_venues::batch::missing(
            executor.venue.kind(),
            request,
        )));
    }
    let mut answers = answers.into_iter();

    // 3. Finish each plan with its leg's answer.
    let finishing = staged.into_iter().map(|(job, outcome, stage)| {
        let answer = match &stage {
            Ok(Some(Staged { leg: Some(_), .. })) => answers.next(),
            _ => None,
        };
        async move {
            let outcome = match stage {
                Err(e) => Err(e),
                Ok(None) => outcome,
                Ok(Some(staged)) => executor
                    .finish(staged, answer, started)
                    .await
                    .map(SymbolOutcome::Executed)
                    .map_err(CycleError::from),
            };
            (job, outcome)
        }
    });
    futures::stream::iter(finishing)
        .buffer_unordered(concurrency)
        .collect()
        .await
}

impl Executor {
    /// Runs the plan's steps up to its first order leg and admits that leg (risk gate, stored
    /// `Sent`): its step index and request, or `None` when the plan stopped (a setting or the
    /// risk gate refused) or has no leg to send.
    async fn stage(
        &self,
        plan: &Plan,
        run: &mut PlanRun,
    ) -> Result<Option<(usize, OrderRequest)>, StoreError> {
        for (i, step) in plan.steps.iter().enumerate() {
            let outcome = match step {
                PlanStep::Order(leg) => match self.admit_leg(plan, leg, run).await? {
                    Ok(Some(request)) => return Ok(Some((i, request))),
                    Ok(None) => Ok(()),
                    Err(stop) => Err(stop),
                },
                setting => self.run_setting(plan, setting).await,
            };
            if let Err(reason) = outcome {
                self.stop(plan, i + 1, reason, run).await?;
                return Ok(None);
            }
        }
        Ok(None)
    }

    /// Settles the staged leg with its batch answer (`None`: no leg was staged), then runs the
    /// rest of the plan.
    async fn finish(
        &self,
        staged: Staged,
        answer: Option<Result<tradeengine_model::OrderStatus, tradeengine_venues::VenueError>>,
        started: std::time::Instant,
    ) -> Result<super::execute::ExecutionReport, StoreError> {
        let Staged { plan, mut run, leg } = staged;
        if let Some((i, request)) = leg
            && let Some(PlanStep::Order(order_leg)) = plan.steps.get(i)
        {
            match self
                .send_leg(&plan, order_leg, &request, answer, started, &mut run)
                .await?
            {
                Ok(()) => self.run_steps(&plan, i + 1, &mut run).await?,
                Err(reason) => self.stop(&plan, i + 1, reason, &mut run).await?,
            }
        }
        Ok(run.report)
    }
}
