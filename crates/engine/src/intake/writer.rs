//! The single writer behind the intake's queue.
//!
//! **Pipelined group commit.** The writer takes whatever has queued (up to [`MAX_BATCH`]) as a
//! batch, decides each signal's sleeve in arrival order and hands the batch's commit to a task
//! of its own. While that commit runs (most of it is the fsync), the writer takes the next
//! batch and decides it on the sleeves the committing batch leaves, so that work no longer
//! waits for the disk; once that commit ends, whatever queued meanwhile is decided on top and
//! joins the batch (else each early-decided batch would hold only the few signals queued at
//! the moment the previous commit started). The next commit starts only once the previous one has ended and its
//! callers were answered, and only as decided if the previous batch was stored as decided; if
//! it was not (a duplicate dropped from it, or a failure), the next batch is decided again on
//! the sleeves actually stored. So at most one batch is committing, batches are stored in
//! arrival order, and a caller is answered only after its batch committed.
//!
//! A batch whose store reports duplicates wrote nothing: its duplicates are answered
//! `Duplicate`, the rest decided again without them and stored again. The sleeve lock of the
//! intake is held from a batch's decision to its end and across the pipeline, and let go
//! whenever the pipeline runs dry and at least every [`MAX_RUN`] batches, so the stop-loss and
//! take-profit checks get their turn under load. In a cluster the sleeves are decided under the
//! cluster's lock, on the sleeves as stored, one batch at a time: nothing is pipelined there.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::{Mutex, OwnedMutexGuard, mpsc, oneshot};
use tokio::task::JoinHandle;
use tradeengine_core::sleeve::{Refusal, SleeveChange, SleeveDecision, apply_signal};
use tradeengine_model::{Clock, Signal, Sleeve, Timestamp};
use tradeengine_store::cluster::ClusterLink;
use tradeengine_store::{
    BatchOutcome, EncodedSignal, SignalBatch, SignalRecordOutcome, Store, StoreError,
};

use super::{IntakeError, IntakeOutcome, MAX_BATCH, opened_fresh, record_submission_refusal};
use crate::sleeve_sync::lock_sleeves;
use crate::state::{SharedState, SleeveKey};

/// Batches committed one after the other under one hold of the sleeve lock, at most.
pub(super) const MAX_RUN: usize = 8;

/// A signal waiting for the writer, and where to send its outcome.
pub(super) struct Pending {
    pub signal: Arc<EncodedSignal>,
    pub reply: oneshot::Sender<Result<IntakeOutcome, IntakeError>>,
}

pub(super) struct Writer {
    pub state: SharedState,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub lock: Arc<Mutex<()>>,
    pub cluster: Option<ClusterLink>,
}

/// One pass over a batch: what to store, what was refused, what failed.
#[derive(Default)]
struct Pass {
    to_store: Vec<(Arc<EncodedSignal>, Option<Sleeve>)>,
    /// Batch index and change of each entry of `to_store`.
    stored_index: Vec<(usize, SleeveChange)>,
    refused: Vec<(usize, Refusal)>,
    failed: Vec<(usize, IntakeError)>,
    sleeves: BTreeMap<SleeveKey, Sleeve>,
    /// Batch index and the default levels chosen, for signals that opened a sleeve of a
    /// source with ATR stops (audited once the batch is stored).
    stop_choices: Vec<(usize, crate::stops::StopChoice)>,
}

impl Pass {
    /// Appends `later`, a pass over later entries of the same batch decided on this one's
    /// sleeves.
    fn absorb(&mut self, later: Pass) {
        self.to_store.extend(later.to_store);
        self.stored_index.extend(later.stored_index);
        self.refused.extend(later.refused);
        self.failed.extend(later.failed);
        self.sleeves.extend(later.sleeves);
        self.stop_choices.extend(later.stop_choices);
    }
}

/// A batch whose commit is running.
struct InFlight {
    batch: Vec<Pending>,
    pass: Pass,
    now: Timestamp,
    commit: JoinHandle<Result<BatchOutcome, StoreError>>,
}

/// Each signal's outcome so far, by its place in the batch (`None`: not decided yet).
type Outcomes = Vec<Option<Result<IntakeOutcome, IntakeError>>>;

/// Moves what has queued (without waiting) into `batch`, up to [`MAX_BATCH`].
fn drain(rx: &mut mpsc::Receiver<Pending>, batch: &mut Vec<Pending>) {
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(p) => batch.push(p),
            Err(_) => break,
        }
    }
}

impl Writer {
    pub(super) async fn run(self, mut rx: mpsc::Receiver<Pending>) {
        let mut inflight: Option<InFlight> = None;
        // The sleeve lock, held while batches are decided and committing.
        let mut serial: Option<OwnedMutexGuard<()>> = None;
        let mut run = 0usize;
        loop {
            let mut batch = Vec::new();
            if inflight.is_none() {
                match rx.recv().await {
                    Some(first) => batch.push(first),
                    None => break,
                }
            }
            drain(&mut rx, &mut batch);
            if batch.is_empty() || run >= MAX_RUN {
                // Nothing new while a batch commits, or a long run: end the pipeline and let
                // the other users of the sleeve lock in.
                if let Some(f) = inflight.take() {
                    self.finish(f).await;
                }
                serial = None;
                run = 0;
                if batch.is_empty() {
                    continue;
                }
            }
            if self.cluster.is_some() {
                self.process_clustered(batch).await;
                continue;
            }
            if serial.is_none() {
                serial = Some(self.lock.clone().lock_owned().await);
            }
            let mut now = self.clock.now();
            let live: Vec<usize> = (0..batch.len()).collect();
            let overlay = inflight.as_ref().map(|f| &f.pass.sleeves);
            let mut pass = self.pass(&batch, &live, now, overlay).await;
            if let Some(f) = inflight.take() {
                let as_decided = self.finish(f).await;
                // What queued while the previous batch committed joins this one. Without it a
                // batch decided early holds only what had queued by then, and every other
                // commit is a small one: slower than a plain group commit.
                let decided = batch.len();
                drain(&mut rx, &mut batch);
                now = self.clock.now();
                if as_decided {
                    let extra: Vec<usize> = (decided..batch.len()).collect();
                    if !extra.is_empty() {
                        let more = self.pass(&batch, &extra, now, Some(&pass.sleeves)).await;
                        pass.absorb(more);
                    }
                } else {
                    let all: Vec<usize> = (0..batch.len()).collect();
                    pass = self.pass(&batch, &all, now, None).await;
                }
            }
            let encoded = SignalBatch::new(pass.to_store.clone());
            inflight = Some(self.start(batch, pass, encoded, now));
            run += 1;
        }
        if let Some(f) = inflight.take() {
            self.finish(f).await;
        }
        drop(serial);
    }

    /// Hands a decided batch's commit to a task of its own.
    fn start(
        &self,
        batch: Vec<Pending>,
        pass: Pass,
        encoded: Result<SignalBatch, StoreError>,
        now: Timestamp,
    ) -> InFlight {
        let store = self.store.clone();
        let commit = tokio::spawn(async move {
            match encoded {
                Ok(b) => store.record_batch(&b).await,
                Err(e) => Err(e),
            }
        });
        InFlight {
            batch,
            pass,
            now,
            commit,
        }
    }

    /// Waits for a batch's commit and answers its callers. True when the batch was stored
    /// exactly as decided (the next batch, decided on its sleeves, may then be stored as is).
    async fn finish(&self, f: InFlight) -> bool {
        let InFlight {
            batch,
            pass,
            now,
            commit,
        } = f;
        let result = commit.await.unwrap_or_else(|e| {
            // The task died: whether the batch is stored is unknown, so no caller hears "stored"
            // (a sender that retries is answered `Duplicate` if it was).
            Err(StoreError::Shared(format!(
                "the batch's commit task failed: {e}"
            )))
        });
        let mut outcomes: Outcomes = (0..batch.len()).map(|_| None).collect();
        let (stored, as_planned) = match result {
            Ok(BatchOutcome::Stored) => (Some(pass), true),
            Ok(BatchOutcome::Duplicates(dups)) => {
                mark_duplicates(&pass, &dups, &mut outcomes);
                let live: Vec<usize> = (0..batch.len())
                    .filter(|i| outcomes[*i].is_none())
                    .collect();
                (
                    self.store_batch(&batch, &mut outcomes, now, live).await,
                    false,
                )
            }
            Err(e) => {
                fail_pass(pass, &e.to_string(), &mut outcomes);
                (None, false)
            }
        };
        if let Some(pass) = stored {
            self.apply_pass(&batch, pass, &mut outcomes, now).await;
        }
        reply(batch, outcomes);
        as_planned
    }

    /// One batch in a cluster: decided and stored under the cluster's lock, not pipelined.
    async fn process_clustered(&self, batch: Vec<Pending>) {
        let _serial = self.lock.lock().await;
        let now = self.clock.now();
        let mut outcomes: Outcomes = (0..batch.len()).map(|_| None).collect();
        match lock_sleeves(self.cluster.as_ref(), &*self.store, &self.state).await {
            Ok(lock) => {
                let mut stored = false;
                let live = (0..batch.len()).collect();
                if let Some(pass) = self.store_batch(&batch, &mut outcomes, now, live).await {
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
        reply(batch, outcomes);
    }

    /// Applies the sleeve rules to the `live` entries in order, each on the sleeve the previous
    /// one left, starting from `overlay` (the sleeves of the batch committing ahead) where it
    /// has the sleeve, else from the sleeves in memory.
    async fn pass(
        &self,
        batch: &[Pending],
        live: &[usize],
        now: Timestamp,
        overlay: Option<&BTreeMap<SleeveKey, Sleeve>>,
    ) -> Pass {
        let config = self.state.config();
        let prices = self.state.prices().await;
        let atr = self.state.atr_board();
        let mut pass = Pass::default();
        for &i in live {
            let encoded = &batch[i].signal;
            let signal = encoded.signal();
            let Some(source) = config.sources.get(signal.source.as_str()) else {
                pass.failed
                    .push((i, IntakeError::UnknownSource(signal.source.to_string())));
                continue;
            };
            let key = (signal.source.clone(), signal.symbol.clone());
            let current = match pass.sleeves.get(&key).or_else(|| overlay?.get(&key)) {
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
                    pass.to_store.push((encoded.clone(), Some(sleeve)));
                    pass.stored_index.push((i, change));
                }
                Ok(SleeveDecision::Refused(r)) => pass.refused.push((i, r)),
                Err(e) => pass.failed.push((i, e.into())),
            }
        }
        pass
    }

    /// Decides the `live` entries and stores them in one transaction, deciding again without
    /// the signals the store recognised as duplicates. `None` when the store failed (every
    /// outcome is then set).
    async fn store_batch(
        &self,
        batch: &[Pending],
        outcomes: &mut Outcomes,
        now: Timestamp,
        mut live: Vec<usize>,
    ) -> Option<Pass> {
        loop {
            let pass = self.pass(batch, &live, now, None).await;
            let result = match SignalBatch::new(pass.to_store.clone()) {
                Ok(b) => self.store.record_batch(&b).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(BatchOutcome::Stored) => return Some(pass),
                Ok(BatchOutcome::Duplicates(dups)) => {
                    mark_duplicates(&pass, &dups, outcomes);
                    live.retain(|i| outcomes[*i].is_none());
                }
                Err(e) => {
                    fail_pass(pass, &e.to_string(), outcomes);
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
        now: Timestamp,
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
            self.audit_default_stops(batch[*i].signal.signal(), choice, now)
                .await;
        }
        for (i, change) in pass.stored_index {
            outcomes[i] = Some(Ok(IntakeOutcome::Applied(change)));
        }
        for (i, e) in pass.failed {
            let signal = batch[i].signal.signal();
            record_submission_refusal(&*self.store, &self.state, signal, &e, now).await;
            outcomes[i] = Some(Err(e));
        }
        for (i, refusal) in pass.refused {
            outcomes[i] = Some(
                self.record_refusal(batch[i].signal.signal(), refusal, now)
                    .await,
            );
        }
    }

    /// Notes in the audit trail which default stops a signal's sleeve got.
    async fn audit_default_stops(
        &self,
        signal: &Signal,
        choice: &crate::stops::StopChoice,
        now: Timestamp,
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
        now: Timestamp,
    ) -> Result<IntakeOutcome, IntakeError> {
        let raw = serde_json::json!({"signal": signal, "refusal": refusal});
        let reason = refusal.to_string();
        let code = crate::telemetry::refusal_reason(&refusal);
        let body = serde_json::to_vec(&signal.raw).unwrap_or_default();
        // Keyed like an accepted signal: a redelivered refusal (or a redelivered signal the
        // sleeve it already moved now refuses) is a duplicate, recorded once.
        let recorded = super::record_with_secrets(
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

/// Answers `Duplicate` for the entries of `pass.to_store` the store named.
fn mark_duplicates(pass: &Pass, dups: &[usize], outcomes: &mut Outcomes) {
    for j in dups {
        if let Some((i, _)) = pass.stored_index.get(*j) {
            outcomes[*i] = Some(Ok(IntakeOutcome::Duplicate));
        }
    }
}

/// The store failed the batch: nothing of it is stored, every entry is answered.
fn fail_pass(pass: Pass, msg: &str, outcomes: &mut Outcomes) {
    tracing::error!(error = %msg, signals = pass.to_store.len(), "cannot store signals");
    for (i, _) in &pass.stored_index {
        outcomes[*i] = Some(Err(IntakeError::BatchFailed(msg.to_string())));
    }
    for (i, _) in &pass.refused {
        outcomes[*i] = Some(Err(IntakeError::BatchFailed(msg.to_string())));
    }
    for (i, e) in pass.failed {
        outcomes[i] = Some(Err(e));
    }
}

/// Counts each signal by outcome and sends every caller its answer.
fn reply(batch: Vec<Pending>, outcomes: Outcomes) {
    count_signals(&batch, &outcomes);
    for (pending, outcome) in batch.into_iter().zip(outcomes) {
        // A caller that gave up waiting is not an error here.
        let _ = pending
            .reply
            .send(outcome.unwrap_or(Err(IntakeError::Closed)));
    }
}

/// Counts each signal by outcome, and the lag from its emission to its receipt.
fn count_signals(batch: &[Pending], outcomes: &Outcomes) {
    for (pending, outcome) in batch.iter().zip(outcomes) {
        let signal = pending.signal.signal();
        let source = signal.source.as_str();
        crate::telemetry::signal(
            source,
            match outcome {
                Some(Ok(IntakeOutcome::Applied(_))) => "applied",
                Some(Ok(IntakeOutcome::Duplicate)) => "duplicate",
                Some(Ok(IntakeOutcome::Refused(_))) => "refused",
                _ => "error",
            },
        );
        if let Some(emitted) = signal.emitted_at
            && let Ok(lag) = (signal.received_at - emitted).to_std()
        {
            crate::telemetry::signal_lag(source, lag);
        }
    }
}
