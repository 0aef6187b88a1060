//! The one door every signal comes through, whatever its source: check it against the live
//! configuration, apply the source's sleeve rules (pure, in `tradeengine-core`), store the signal
//! and the new sleeve, and only then change the in-memory sleeve and wake the account workers. A
//! caller that gets `Ok` back (a webhook's 200, a broker ack) knows the signal is durable; a
//! redelivered signal is recognised by the store and changes nothing.
//!
//! **Group commit.** Submissions queue to one writer task, which takes whatever has queued (up to
//! [`MAX_BATCH`]) and stores it in one transaction, so a burst of webhooks costs one fsync, not
//! one per signal. Within a batch, signals apply in arrival order, each on the sleeve the one
//! before it left. The next batch is decided while the previous one commits ([`writer`]). If the
//! store reports duplicates (redeliveries), nothing of the batch was written: they are answered
//! `Duplicate`, the sleeves of the rest are recomputed without them, and the batch is stored
//! again. A refusal is keyed the same way: a refused signal delivered again is answered
//! `Duplicate` and not recorded twice.

mod size;
mod writer;

use std::sync::Arc;

use crate::sleeve_sync::lock_sleeves;
use rust_decimal::Decimal;
use tokio::sync::{Mutex, mpsc, oneshot};
use tradeengine_core::CoreError;
use tradeengine_core::sleeve::{Refusal, SleeveChange};
use tradeengine_model::{Clock, Signal, Sleeve};
use tradeengine_store::cluster::ClusterLink;
use tradeengine_store::{EncodedSignal, SignalRecordOutcome, Store, StoreError};

use crate::state::SharedState;
use writer::Pending;

/// Most signals stored in one transaction.
pub const MAX_BATCH: usize = 512;
/// Submissions that may wait for the writer before `submit` itself waits (back-pressure).
const QUEUE: usize = 16_384;

/// What happened to a submitted signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// Stored; the sleeve changed (or only its timestamp, for a repeat of the same target).
    Applied(SleeveChange),
    /// Already stored earlier (same source and idempotency key), accepted or refused: nothing
    /// changed and nothing more was recorded.
    Duplicate,
    /// The source's rules refused it; the refusal is in the audit trail.
    Refused(Refusal),
}

/// Why a signal could not be taken at all.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("unknown source {0:?}")]
    UnknownSource(String),
    #[error("source {0:?} is disabled")]
    SourceDisabled(String),
    #[error("symbol {0} is not traded (no [[symbols]] entry)")]
    UnknownSymbol(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The batch this signal was in could not be stored (the store's message).
    #[error("store: {0}")]
    BatchFailed(String),
    #[error("the engine is shutting down")]
    Closed,
    /// The store reports a fault (crate::store_health): nothing can be stored durably now.
    #[error("the store cannot take signals now: {0}")]
    StoreUnavailable(String),
    #[error("core: {0}")]
    Core(#[from] CoreError),
}

impl IntakeError {
    /// The refusal label of an error that refuses the signal itself (`None` for one after
    /// which the same signal may well be taken: store, shutdown).
    pub fn refusal_code(&self) -> Option<&'static str> {
        use crate::refusals::code;
        match self {
            Self::UnknownSource(_) => Some(code::UNKNOWN_SOURCE),
            Self::SourceDisabled(_) => Some(code::SOURCE_DISABLED),
            Self::UnknownSymbol(_) => Some(code::UNKNOWN_SYMBOL),
            Self::Core(_) => Some(code::INVALID),
            Self::Store(_) | Self::BatchFailed(_) | Self::Closed | Self::StoreUnavailable(_) => {
                None
            }
        }
    }
}

/// [`SignalIntake::refuse_submission`], shared with the writer (its sleeve-rule errors).
async fn record_submission_refusal(
    store: &dyn Store,
    state: &SharedState,
    signal: &Signal,
    error: &IntakeError,
    now: tradeengine_model::Timestamp,
) {
    let Some(code) = error.refusal_code() else {
        return;
    };
    let reason = error.to_string();
    let body = serde_json::to_vec(&signal.raw).unwrap_or_default();
    let _ = record_with_secrets(
        store,
        state,
        crate::refusals::Refused {
            source: signal.source.as_str(),
            key: Some(&signal.idempotency_key),
            code,
            reason: &reason,
            detail: serde_json::json!({"signal": signal.id, "symbol": signal.symbol}),
            body: Some(&body),
            secrets: &[],
        },
        now,
    )
    .await;
}

/// Records a refusal with the secrets its source registered (see
/// [`crate::refusals::secrets`]) added to the ones the caller gave, so a secret echoed in the
/// reason or the detail is blanked whatever path refused the signal.
async fn record_with_secrets(
    store: &dyn Store,
    state: &SharedState,
    refused: crate::refusals::Refused<'_>,
    now: tradeengine_model::Timestamp,
) -> Result<SignalRecordOutcome, StoreError> {
    let data_dir = state.config().engine.data_dir.clone();
    let secrets =
        crate::refusals::secrets::with_registered(&data_dir, refused.source, refused.secrets);
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let refused = crate::refusals::Refused {
        secrets: &secrets,
        ..refused
    };
    crate::refusals::record(store, &state.refusal_log, refused, now).await
}

pub use crate::sleeve_rules::rules_for;

/// True when `next` holds exposure that `before` did not hold on that side: the moment default
/// protective levels are set.
fn opened_fresh(before: &Sleeve, next: &Sleeve) -> bool {
    use tradeengine_model::{SleeveOrigin, SleeveState};
    let value = |s: &Sleeve| match s.exposure {
        SleeveOrigin::Depth(d) | SleeveOrigin::Base(d) => d,
    };
    let open = |s: &Sleeve| s.state == SleeveState::Open && !value(s).is_zero();
    open(next)
        && !(open(before) && (value(before) > Decimal::ZERO) == (value(next) > Decimal::ZERO))
}

/// A signal in the intake's queue (see [`SignalIntake::enqueue`]).
#[derive(Debug)]
pub struct Queued(oneshot::Receiver<Result<IntakeOutcome, IntakeError>>);

impl Queued {
    /// The signal's outcome, once its batch was stored (or it was refused, or a duplicate).
    pub async fn outcome(self) -> Result<IntakeOutcome, IntakeError> {
        self.0.await.map_err(|_| IntakeError::Closed)?
    }
}

/// Submits signals into sleeves. Cheap to clone; all clones share one lock so sleeve updates
/// are applied in the order they were stored.
#[derive(Debug, Clone)]
pub struct SignalIntake {
    state: SharedState,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    lock: Arc<Mutex<()>>,
    queue: mpsc::Sender<Pending>,
    /// In a cluster: the cluster-wide lock on the sleeves (see [`crate::cluster`]).
    cluster: Option<ClusterLink>,
}

impl SignalIntake {
    /// Creates the intake and spawns its writer task (so it must be called inside a Tokio
    /// runtime). The writer ends when the last clone of the intake is dropped.
    pub fn new(state: SharedState, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self::clustered(state, store, clock, None)
    }

    /// [`Self::new`] for a process of a cluster: every sleeve write happens under the
    /// cluster's lock, on the sleeves as stored (another process may have moved them).
    pub fn clustered(
        state: SharedState,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        cluster: Option<ClusterLink>,
    ) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        let lock = Arc::new(Mutex::new(()));
        let writer = writer::Writer {
            state: state.clone(),
            store: store.clone(),
            clock: clock.clone(),
            lock: lock.clone(),
            cluster: cluster.clone(),
        };
        tokio::spawn(writer.run(rx));
        Self {
            state,
            store,
            clock,
            lock,
            queue,
            cluster,
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn state(&self) -> &SharedState {
        &self.state
    }

    /// Takes one signal and answers once it is durable (or refused, or a duplicate). See the
    /// module docs for the order of effects.
    pub async fn submit(&self, signal: Signal) -> Result<IntakeOutcome, IntakeError> {
        self.enqueue(signal).await?.outcome().await
    }

    /// Checks one signal and puts it in the writer's queue, returning once it is queued: its
    /// outcome comes later, from [`Queued::outcome`]. Signals one task enqueues reach the
    /// writer, and their sleeves, in that order, so a broker consumer can queue a whole chunk
    /// before it waits for the first answer.
    pub async fn enqueue(&self, signal: Signal) -> Result<Queued, IntakeError> {
        let checked = match self.check(&signal) {
            Ok(()) => size::check(&self.state, &signal).await,
            Err(e) => Err(e),
        };
        if let Err(e) = checked {
            self.refuse_submission(&signal, &e).await;
            return Err(e);
        }
        if let Some(reason) = self.store.fault() {
            return Err(IntakeError::StoreUnavailable(reason));
        }
        // Another engine trades the accounts now: a signal taken here would reach no account.
        if let Some(reason) = self.state.lease_lost().await {
            return Err(IntakeError::StoreUnavailable(reason));
        }
        // Encoded here, on the caller's task, not on the one writer (see
        // `tradeengine_store::encoded`).
        let signal = Arc::new(EncodedSignal::new(signal)?);
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending { signal, reply })
            .await
            .map_err(|_| IntakeError::Closed)?;
        Ok(Queued(answer))
    }

    /// The configuration's checks of a signal before it is queued.
    fn check(&self, signal: &Signal) -> Result<(), IntakeError> {
        let config = self.state.config();
        let source_name = signal.source.as_str();
        let source = config
            .sources
            .get(source_name)
            .ok_or_else(|| IntakeError::UnknownSource(source_name.to_string()))?;
        if !source.enabled {
            return Err(IntakeError::SourceDisabled(source_name.to_string()));
        }
        if config.symbol(signal.symbol.as_str()).is_none() {
            return Err(IntakeError::UnknownSymbol(signal.symbol.to_string()));
        }
        Ok(())
    }

    /// Records a refusal made outside the intake (a parser, the price band, a broker's dead
    /// letter): counted, logged once a minute per source and reason, stored with its redacted
    /// body (see [`crate::refusals`]).
    pub async fn refuse(
        &self,
        refused: crate::refusals::Refused<'_>,
    ) -> Result<SignalRecordOutcome, StoreError> {
        record_with_secrets(&*self.store, &self.state, refused, self.clock.now()).await
    }

    /// Records why a signal that was read could not be taken, when the error refuses the signal
    /// (see [`IntakeError::refusal_code`]); errors after which it may be taken later (store,
    /// shutdown) are not refusals. Every caller of [`Self::submit`] gets this for free.
    async fn refuse_submission(&self, signal: &Signal, error: &IntakeError) {
        record_submission_refusal(&*self.store, &self.state, signal, error, self.clock.now()).await;
    }

    /// Closes sleeves whose stop-loss or take-profit the latest prices crossed. Each close is
    /// stored before it is applied.
    pub async fn check_exits(&self) -> Result<usize, IntakeError> {
        let config = self.state.config();
        let prices = self.state.prices().await;
        let _serial = self.lock.lock().await;
        let now = self.clock.now();
        let sleeves: Vec<Sleeve> = self.state.sleeves().await.into_values().collect();
        let mut exits = tradeengine_core::sleeve::sleeve_exits(&sleeves, &prices, now);
        if exits.is_empty() {
            return Ok(0);
        }
        // In a cluster, decided again on the stored sleeves under the cluster's lock.
        let cluster = lock_sleeves(self.cluster.as_ref(), &*self.store, &self.state).await?;
        if cluster.is_some() {
            let sleeves: Vec<Sleeve> = self.state.sleeves().await.into_values().collect();
            exits = tradeengine_core::sleeve::sleeve_exits(&sleeves, &prices, now);
        }
        let mut closed = 0;
        for exit in exits {
            let key = (exit.source.clone(), exit.symbol.clone());
            let Some(sleeve) = self.state.sleeve(&key).await else {
                continue;
            };
            let rules = config
                .sources
                .get(exit.source.as_str())
                .map(rules_for)
                .unwrap_or_default();
            let next = tradeengine_core::sleeve::close_sleeve(&sleeve, &rules, now);
            self.store.put_sleeve(&next).await?;
            tracing::info!(source = %exit.source, symbol = %exit.symbol, reason = ?exit.reason, "sleeve exit");
            self.state.put_sleeves([(key, next)]).await;
            closed += 1;
        }
        if let Some(lock) = cluster {
            lock.release(closed > 0).await?;
        }
        if closed > 0 {
            self.state.notify_targets_changed();
        }
        Ok(closed)
    }

    /// Re-reads the stored sleeves (in a cluster, another process may have moved them) and
    /// wakes the workers when any changed.
    pub async fn refresh_sleeves(&self) -> Result<usize, IntakeError> {
        let _serial = self.lock.lock().await;
        Ok(crate::sleeve_sync::reload_sleeves(&*self.store, &self.state).await?)
    }

    /// Loads every stored sleeve into memory (at start).
    pub async fn restore(&self) -> Result<usize, IntakeError> {
        let sleeves = self.store.sleeves().await?;
        let n = sleeves.len();
        self.state
            .put_sleeves(
                sleeves
                    .into_iter()
                    .map(|s| ((s.source.clone(), s.symbol.clone()), s)),
            )
            .await;
        Ok(n)
    }
}
