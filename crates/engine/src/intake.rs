//! The one door every signal comes through, whatever its source: check it against the live
//! configuration, apply the source's sleeve rules (pure, in `tradeengine-core`), store the signal
//! and the new sleeve, and only then change the in-memory sleeve and wake the account workers. A
//! caller that gets `Ok` back (a webhook's 200, a broker ack) knows the signal is durable; a
//! redelivered signal is recognised by the store and changes nothing.
//!
//! **Group commit.** Submissions queue to one writer task, which takes whatever has queued (up to
//! [`MAX_BATCH`]) and stores it in one transaction, so a burst of webhooks costs one fsync, not
//! one per signal. Within a batch, signals apply in arrival order, each on the sleeve the one
//! before it left. If the store reports duplicates (redeliveries), nothing of the batch was
//! written: they are answered `Duplicate`, the sleeves of the rest are recomputed without them,
//! and the batch is stored again. A refusal is keyed the same way: a refused signal delivered
//! again is answered `Duplicate` and not recorded twice.

mod size;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::sleeve_sync::lock_sleeves;
use rust_decimal::Decimal;
use tokio::sync::{Mutex, mpsc, oneshot};
use tradeengine_core::CoreError;
use tradeengine_core::sleeve::{Refusal, SleeveChange, SleeveDecision, apply_signal};
use tradeengine_model::{Clock, Signal, Sleeve};
use tradeengine_store::cluster::ClusterLink;
use tradeengine_store::{BatchOutcome, SignalRecordOutcome, Store, StoreError};

use crate::state::{SharedState, SleeveKey};

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

/// A signal waiting for the writer, and where to send its outcome.
struct Pending {
    signal: Signal,
    reply: oneshot::Sender<Result<IntakeOutcome, IntakeError>>,
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
        let writer = Writer {
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
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending { signal, reply })
            .await
            .map_err(|_| IntakeError::Closed)?;
        answer.await.map_err(|_| IntakeError::Closed)?
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

/// The single writer behind the queue.
struct Writer {
    state: SharedState,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    lock: Arc<Mutex<()>>,
    cluster: Option<ClusterLink>,
}

/// One pass over a batch: what to store, what was refused, what failed.
#[derive(Default)]
struct Pass {
    to_store: Vec<(Signal, Option<Sleeve>)>,
    /// Batch index and change of each entry of `to_store`.
    stored_index: Vec<(usize, SleeveChange)>,
    refused: Vec<(usize, Refusal)>,
    failed: Vec<(usize, IntakeError)>,
    sleeves: BTreeMap<SleeveKey, Sleeve>,
    /// Batch index and the default levels chosen, for signals that opened a sleeve of a
    /// source with ATR stops (audited once the batch is stored).
    stop_choices: Vec<(usize, crate::stops::StopChoice)>,
}

impl Writer {
    async fn run(self, mut rx: mpsc::Receiver<Pending>) {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            self.process(batch).await;
        }
    }

    /// Applies the sleeve rules to the `live` entries in order, each on the sleeve the previous
    /// one left.
    async fn pass(
        &self,
        batch: &[Pending],
        live: &[usize],
        now: tradeengine_model::Timestamp,
    ) -> Pass {
        let config = self.state.config();
        let prices = self.state.prices().await;
        let atr = self.state.atr_board();
        let mut pass = Pass::default();
        for &i in live {
            let signal = &batch[i].signal;
            let Some(source) = config.sources.get(signal.source.as_str()) else {
                pass.failed
                    .push((i, IntakeError::UnknownSource(signal.source.to_string())));
                continue;
            };
            let key = (signal.source.clone(), signal.symbol.clone());
            let current = match pass.sleeves.get(&key) {
                Some(s) => Some(s.clone()),
                None => self.state.sleeve(&key).await,
            }
            .unwrap_or_else(|| Sleeve::flat(signal.source.clone(), signal.symbol.clone(), now));
            let mark = prices.get(&signal.symbol).copied();
            let (rules, choice) = crate::stops::rules_for_signal(
                source,
                &signal.symbol,
                &atr,
                now.timestamp_millis(),
            );
            match apply_signal(&current, signal, mark, &rules, now) {
                Ok(SleeveDecision::Applied { sleeve, change }) => {
                    if source.stops != crate::config::StopsConfig::Fixed
                        && opened_fresh(&current, &sleeve)
                    {
                        pass.stop_choices.push((i, choice));
                    }
                    pass.sleeves.insert(key, sleeve.clone());
                    pass.to_store.push((signal.clone(), Some(sleeve)));
                    pass.stored_index.push((i, change));
                }
                Ok(SleeveDecision::Refused(r)) => pass.refused.push((i, r)),
                Err(e) => pass.failed.push((i, e.into())),
            }
        }
        pass
    }

    async fn process(&self, batch: Vec<Pending>) {
        let _serial = self.lock.lock().await;
        let now = self.clock.now();
        let mut outcomes: Outcomes = (0..batch.len()).map(|_| None).collect();
        match lock_sleeves(self.cluster.as_ref(), &*self.store, &self.state).await {
            Ok(lock) => {
                let mut stored = false;
                if let Some(pass) = self.store_batch(&batch, &mut outcomes, now).await {
                    stored = !pass.to_store.is_empty();
                    self.apply_pass(&batch, pass, &mut outcomes, now).await;
                }
                if let Some(lock) = lock
                    && let Err(e) = lock.release(stored).await
                {
                    tracing::warn!(error = %e, "cannot release the cluster's sleeve lock cleanly (its connection is closed instead)");
                }
            }
            Err(e) => {
                for o in &mut outcomes {
                    *o = Some(Err(IntakeError::StoreUnavailable(e.to_string())));
                }
            }
        }
        count_signals(&batch, &outcomes);
        for (pending, outcome) in batch.into_iter().zip(outcomes) {
            // A caller that gave up waiting is not an error here.
            let _ = pending
                .reply
                .send(outcome.unwrap_or(Err(IntakeError::Closed)));
        }
    }

    /// Plans the batch and stores it in one transaction, planning again without the signals
    /// the store recognised as duplicates. `None` when the store failed (every outcome is then
    /// set).
    async fn store_batch(
        &self,
        batch: &[Pending],
        outcomes: &mut Outcomes,
        now: tradeengine_model::Timestamp,
    ) -> Option<Pass> {
        let mut live: Vec<usize> = (0..batch.len()).collect();
        loop {
            let pass = self.pass(batch, &live, now).await;
            match self.store.record_signals(&pass.to_store).await {
                Ok(BatchOutcome::Stored) => return Some(pass),
                Ok(BatchOutcome::Duplicates(dups)) => {
                    for j in dups {
                        if let Some((i, _)) = pass.stored_index.get(j) {
                            outcomes[*i] = Some(Ok(IntakeOutcome::Duplicate));
                        }
                    }
                    live.retain(|i| outcomes[*i].is_none());
                }
                Err(e) => {
                    let msg = e.to_string();
                    tracing::error!(error = %msg, signals = pass.to_store.len(), "cannot store signals");
                    for (i, _) in &pass.stored_index {
                        outcomes[*i] = Some(Err(IntakeError::BatchFailed(msg.clone())));
                    }
                    for (i, _) in &pass.refused {
                        outcomes[*i] = Some(Err(IntakeError::BatchFailed(msg.clone())));
                    }
                    for (i, e) in pass.failed {
                        outcomes[i] = Some(Err(e));
                    }
                    return None;
                }
            }
        }
    }

    /// After the store took the batch: the sleeves move, the workers wake, default stops are
    /// audited, and each signal's outcome (applied, failed, refused) is set.
    async fn apply_pass(
        &self,
        batch: &[Pending],
        pass: Pass,
        outcomes: &mut Outcomes,
        now: tradeengine_model::Timestamp,
    ) {
        let changed = pass
            .stored_index
            .iter()
            .any(|(_, c)| *c != SleeveChange::Unchanged);
        self.state.put_sleeves(pass.sleeves).await;
        if changed {
            self.state.notify_targets_changed();
        }
        for (i, choice) in &pass.stop_choices {
            self.audit_default_stops(&batch[*i].signal, choice, now)
                .await;
        }
        for (i, change) in pass.stored_index {
            outcomes[i] = Some(Ok(IntakeOutcome::Applied(change)));
        }
        for (i, e) in pass.failed {
            let signal = &batch[i].signal;
            record_submission_refusal(&*self.store, &self.state, signal, &e, now).await;
            outcomes[i] = Some(Err(e));
        }
        for (i, refusal) in pass.refused {
            outcomes[i] = Some(self.record_refusal(&batch[i].signal, refusal, now).await);
        }
    }

    /// Notes in the audit trail which default stops a signal's sleeve got.
    async fn audit_default_stops(
        &self,
        signal: &Signal,
        choice: &crate::stops::StopChoice,
        now: tradeengine_model::Timestamp,
    ) {
        tracing::info!(source = %signal.source, symbol = %signal.symbol, ?choice, "default stops");
        let payload = crate::audit_payload::AuditPayload::DefaultStops {
            source: &signal.source,
            signal: &signal.id,
            default_stops: choice,
        };
        // The signal and its sleeve are stored; a failure here loses only this note.
        if let Err(e) = payload
            .record(&*self.store, None, Some(signal.symbol.as_str()), now)
            .await
        {
            tracing::error!(error = %e, "cannot audit the default stops");
        }
    }

    /// Records a signal its sleeve's rules refused.
    async fn record_refusal(
        &self,
        signal: &Signal,
        refusal: Refusal,
        now: tradeengine_model::Timestamp,
    ) -> Result<IntakeOutcome, IntakeError> {
        let raw = serde_json::json!({"signal": signal, "refusal": refusal});
        let reason = refusal.to_string();
        let code = crate::telemetry::refusal_reason(&refusal);
        let body = serde_json::to_vec(&signal.raw).unwrap_or_default();
        // Keyed like an accepted signal: a redelivered refusal (or a redelivered signal the
        // sleeve it already moved now refuses) is a duplicate, recorded once.
        let recorded = record_with_secrets(
            &*self.store,
            &self.state,
            crate::refusals::Refused {
                source: signal.source.as_str(),
                key: Some(&signal.idempotency_key),
                code: &code,
                reason: &reason,
                detail: raw,
                body: Some(&body),
                secrets: &[],
            },
            now,
        )
        .await;
        match recorded {
            Ok(SignalRecordOutcome::Stored) => Ok(IntakeOutcome::Refused(refusal)),
            Ok(SignalRecordOutcome::Duplicate) => Ok(IntakeOutcome::Duplicate),
            Err(e) => Err(e.into()),
        }
    }
}

/// Each signal's outcome so far, by its place in the batch (`None`: not decided yet).
type Outcomes = Vec<Option<Result<IntakeOutcome, IntakeError>>>;

/// Counts each signal by outcome, and the lag from its emission to its receipt.
fn count_signals(batch: &[Pending], outcomes: &Outcomes) {
    for (pending, outcome) in batch.iter().zip(outcomes) {
        let source = pending.signal.source.as_str();
        crate::telemetry::signal(
            source,
            match outcome {
                Some(Ok(IntakeOutcome::Applied(_))) => "applied",
                Some(Ok(IntakeOutcome::Duplicate)) => "duplicate",
                Some(Ok(IntakeOutcome::Refused(_))) => "refused",
                _ => "error",
            },
        );
        if let Some(emitted) = pending.signal.emitted_at
            && let Ok(lag) = (pending.signal.received_at - emitted).to_std()
        {
            crate::telemetry::signal_lag(source, lag);
        }
    }
}
