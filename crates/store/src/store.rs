//! The [`Store`] trait: everything the engine persists.

use async_trait::async_trait;
use tradeengine_model::{
    AccountName, ClientOrderId, Fill, Plan, Position, Signal, Sleeve, Timestamp,
};

use std::time::Duration;

use crate::anchor::AuditHead;
use crate::lease::LeaseOutcome;
use crate::ownership::Holder;
use crate::{
    AuditEvent, AuditKind, AuditVerification, BatchOutcome, CycleEnd, EquitySnapshot, NewRefusal,
    OrderFilter, OrderUpdate, RefusedSignal, SignalRecordOutcome, StoreError, StoredOrder,
    TargetRecord,
};

/// Durable state. Each method is one transaction: it either happens whole, with its audit
/// event, or not at all.
///
/// Conventions of both implementations: times are kept to the millisecond (sub-millisecond parts
/// are truncated); list calls refuse a negative limit or offset (`StoreError::Invalid`) and cap
/// the limit at [`crate::MAX_PAGE`]; a unique key already taken is `StoreError::Conflict`.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Stores a signal and, when the signal changes one, the sleeve it moves to, with a
    /// `SignalAccepted` (and `SleeveChanged`) audit event. A signal whose (source,
    /// idempotency key) is already stored is a `Duplicate` and writes nothing: this is what
    /// makes at-least-once delivery exactly-once into sleeves.
    async fn record_signal(
        &self,
        signal: &Signal,
        sleeve: Option<&Sleeve>,
    ) -> Result<SignalRecordOutcome, StoreError>;

    /// Stores many signals with their sleeves in **one** transaction (group commit: one fsync
    /// for the batch instead of one per signal), all or nothing. See [`BatchOutcome`] for
    /// duplicates. Each stored signal gets the same audit events as [`Store::record_signal`].
    async fn record_signals(
        &self,
        batch: &[(Signal, Option<Sleeve>)],
    ) -> Result<BatchOutcome, StoreError>;

    /// [`Store::record_signals`] of a batch encoded beforehand (see [`crate::encoded`]): the
    /// same rows and events, without encoding them while the writer waits. A store that has no
    /// faster path stores the batch as plain signals.
    async fn record_batch(&self, batch: &crate::SignalBatch) -> Result<BatchOutcome, StoreError> {
        self.record_signals(&batch.plain()).await
    }

    /// Records a refused signal (bad auth, validation, a sleeve rule) in `refused_signals`,
    /// with its reason label and redacted body (cut to [`crate::MAX_REFUSED_BODY`]) and, when
    /// `refusal.audit` or keyed, a `SignalRefused` event.
    ///
    /// With an idempotency key, a refusal is deduplicated like an accepted signal: when this
    /// (source, key) was refused before, or accepted before (a redelivered signal that the
    /// sleeve it already moved now refuses), nothing is written and the answer is `Duplicate`.
    /// Without one (a request refused before it could be read far enough to have a key: bad
    /// authentication, malformed JSON) every call is stored. An empty key counts as none. The
    /// table is bounded per source ([`crate::REFUSALS_KEPT_PER_SOURCE`]).
    async fn record_refused_signal(
        &self,
        refusal: &NewRefusal<'_>,
    ) -> Result<SignalRecordOutcome, StoreError>;

    /// The newest refusals, of one source or of all, newest first.
    async fn refused_signals(
        &self,
        source: Option<&str>,
        limit: i64,
    ) -> Result<Vec<RefusedSignal>, StoreError>;

    /// Newest signals first.
    async fn recent_signals(&self, limit: i64, offset: i64) -> Result<Vec<Signal>, StoreError>;

    /// Replaces a sleeve (after an exit or a staleness change), with a `SleeveChanged` event.
    async fn put_sleeve(&self, sleeve: &Sleeve) -> Result<(), StoreError>;

    /// Every sleeve, to rebuild the engine's state at start.
    async fn sleeves(&self) -> Result<Vec<Sleeve>, StoreError>;

    /// Records a new target for an account and symbol, with a `TargetChanged` event.
    async fn record_target(&self, target: &TargetRecord) -> Result<(), StoreError>;

    /// Latest target per symbol of one account.
    async fn targets(&self, account: &AccountName) -> Result<Vec<TargetRecord>, StoreError>;

    /// Stores a plan and every order leg in state `Intended`, with a `PlanCreated` event, before
    /// any of them is sent (invariant 2). A plan id stored before is an error.
    async fn record_plan(&self, plan: &Plan) -> Result<(), StoreError>;

    /// Moves an order to `state`, with what the venue said. Refuses transitions the order state
    /// machine forbids (`StoreError::Order`). Writes an `OrderStateChanged` event.
    ///
    /// `filled_qty` is cumulative: a negative value, one above the order's quantity or one below
    /// the stored value (a stale report) is refused as `StoreError::Order`, as is a non-positive
    /// `avg_fill_price`. `venue_order_id` and `avg_fill_price` left `None` keep the stored value;
    /// `error` replaces it. A report that changes nothing writes nothing (no event) and returns
    /// the stored order. An unknown client order id is `StoreError::NotFound`.
    async fn update_order(
        &self,
        client_order_id: &ClientOrderId,
        update: &OrderUpdate,
    ) -> Result<StoredOrder, StoreError>;

    /// Moves an order to `update.state` and, in the **same transaction**, stores its fill: the
    /// call to use wherever an order becomes final with a fill, so a crash can never leave a
    /// filled order without its fill (or a fill without its order's final state).
    ///
    /// The order's transition is checked and audited as in [`Store::update_order`]. `fill`,
    /// when given, must be the order's whole execution: the order's client order id, symbol and
    /// side, its cumulative filled quantity, with the order final after the update (else
    /// `StoreError::Invalid` and nothing is written). A settled order has one fill: when the
    /// order has a fill already, none is added, so settling twice (a retry, a recovery pass)
    /// writes nothing the second time. The order must belong to `account`.
    async fn settle_order(
        &self,
        account: &AccountName,
        client_order_id: &ClientOrderId,
        update: &OrderUpdate,
        fill: Option<&Fill>,
    ) -> Result<StoredOrder, StoreError>;

    /// One order by client order id.
    async fn order(
        &self,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<StoredOrder>, StoreError>;

    /// Orders matching the filter, newest first.
    async fn orders(&self, filter: &OrderFilter) -> Result<Vec<StoredOrder>, StoreError>;

    /// Orders of an account not yet in a terminal state, oldest first: what a restart must settle
    /// before planning anything new.
    async fn unsettled_orders(&self, account: &AccountName)
    -> Result<Vec<StoredOrder>, StoreError>;

    /// Records an execution, with a `Fill` event. Idempotent: the same fill (client order id,
    /// quantity, price, time) stored twice is kept once. An order's final fill goes with its
    /// final state through [`Store::settle_order`] instead.
    async fn record_fill(&self, account: &AccountName, fill: &Fill) -> Result<(), StoreError>;

    /// Fills of an account, newest first.
    async fn fills(
        &self,
        account: Option<&AccountName>,
        limit: i64,
    ) -> Result<Vec<Fill>, StoreError>;

    /// Positions as read from the venue at `at`, replacing the previous snapshot of that
    /// account, with a `Reconciled` event.
    async fn record_positions(
        &self,
        account: &AccountName,
        positions: &[Position],
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Latest position snapshot of an account (or every account when `None`).
    async fn positions(
        &self,
        account: Option<&AccountName>,
    ) -> Result<Vec<(AccountName, Position)>, StoreError>;

    /// Appends an equity point. No audit event: it is a measurement, not a decision.
    async fn record_equity(&self, snapshot: &EquitySnapshot) -> Result<(), StoreError>;

    /// A cycle's closing writes ([`CycleEnd`]): all or nothing. The default writes them one
    /// by one (for wrappers); the SQL stores use one transaction.
    async fn record_cycle_end(&self, end: &CycleEnd<'_>) -> Result<(), StoreError> {
        for t in end.targets {
            self.record_target(t).await?;
        }
        if let Some(positions) = end.positions {
            self.record_positions(end.account, positions, end.equity.at)
                .await?;
        }
        self.record_equity(end.equity).await?;
        if let Some(marks) = end.marks {
            self.record_marks_seen(marks, end.seen, end.fill_prices)
                .await?;
        }
        Ok(())
    }

    /// Equity points of an account since `since`, oldest first.
    async fn equity(
        &self,
        account: &AccountName,
        since: Timestamp,
    ) -> Result<Vec<EquitySnapshot>, StoreError>;

    /// Appends a free-standing audit event (kill switch, config change, start, stop).
    async fn audit(
        &self,
        kind: AuditKind,
        account: Option<&str>,
        symbol: Option<&str>,
        payload: serde_json::Value,
        at: Timestamp,
    ) -> Result<AuditEvent, StoreError>;

    /// Audit events with `seq > after`, oldest first, at most `limit`.
    async fn audit_events(&self, after: i64, limit: i64) -> Result<Vec<AuditEvent>, StoreError>;

    /// Walks the whole chain and reports the first event that does not verify.
    async fn verify_audit(&self) -> Result<AuditVerification, StoreError>;

    /// Checks that event `anchor.seq` is still there with hash `anchor.hash`, then walks the
    /// chain after it: what grew since an anchor ([`crate::anchor`]) without walking it all.
    /// `events` counts the events after the anchor. The default walks the whole chain.
    async fn verify_audit_from(&self, anchor: &AuditHead) -> Result<AuditVerification, StoreError> {
        let mut report = self.verify_audit().await?;
        if report.is_ok() {
            let found = self.audit_events(anchor.seq.saturating_sub(1), 1).await?;
            report.first_bad =
                crate::anchor::anchor_mismatch(anchor, found.first().map(|e| (e.seq, &e.hash)));
        }
        Ok(report)
    }

    /// The newest event's seq and hash, `None` for an empty chain. The default walks the chain.
    async fn audit_head(&self) -> Result<Option<AuditHead>, StoreError> {
        let v = self.verify_audit().await?;
        Ok(v.head_seq
            .zip(v.head)
            .map(|(seq, hash)| AuditHead { seq, hash }))
    }

    /// Why the store cannot be trusted to keep what is written now, if it cannot: its file was
    /// deleted or replaced, or the last write probe failed. Set by [`Store::check_health`].
    fn fault(&self) -> Option<String> {
        None
    }

    /// Checks that the database is still the one opened and takes a write (module
    /// `sql::health`): call it every few seconds. A deleted or replaced file makes every later
    /// write fail with [`StoreError::Unavailable`].
    async fn check_health(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Takes the account's lease for `holder` ([`crate::lease`]). While this process holds it,
    /// its writes of order intents for the account are fenced by the lease's token.
    async fn take_lease(
        &self,
        _account: &AccountName,
        _holder: &Holder,
        _ttl: Duration,
    ) -> Result<LeaseOutcome, StoreError> {
        Ok(LeaseOutcome::NotNeeded)
    }

    /// Extends a lease this process holds; [`StoreError::LeaseLost`] when it no longer does.
    async fn renew_lease(&self, _account: &AccountName, _ttl: Duration) -> Result<(), StoreError> {
        Ok(())
    }

    /// Gives a lease up (clean stop): later order intents for the account are refused.
    async fn release_lease(&self, _account: &AccountName) -> Result<(), StoreError> {
        Ok(())
    }

    /// [`Store::record_plan`] and the plan's P&L attribution event (its `seq` is ignored) in
    /// one transaction: a stored plan always has its attribution, so its fills are never booked
    /// as unattributed for want of it.
    async fn record_plan_attributed(
        &self,
        plan: &Plan,
        event: &crate::PnlEventRecord,
    ) -> Result<(), StoreError>;

    /// Appends one P&L attribution event (its `seq` is ignored).
    async fn record_pnl_event(&self, event: &crate::PnlEventRecord) -> Result<(), StoreError>;

    /// P&L attribution events after `after_seq`, oldest first, at most `limit` (≤ [`crate::MAX_PAGE`]).
    async fn pnl_events(
        &self,
        account: Option<&AccountName>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<crate::PnlEventRecord>, StoreError>;

    /// Fills stored after `after_seq`, in the order they were stored, at most `limit`.
    async fn fills_in_order(
        &self,
        account: Option<&AccountName>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<crate::StoredFill>, StoreError>;

    /// Appends one cycle's mark reading (its `seq` is ignored): the prices a replay of the
    /// session needs to trade and mark exactly where the live cycle did.
    async fn record_marks(&self, reading: &crate::MarkReading) -> Result<(), StoreError>;

    /// Mark readings after `after_seq`, oldest first, at most `limit` (≤ [`crate::MAX_PAGE`]).
    async fn marks(
        &self,
        account: Option<&AccountName>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<crate::MarkReading>, StoreError>;

    /// [`Self::record_marks`] with the signals the reading's cycle blended (see
    /// [`crate::SeenSignal`]) and the market price at each of its fills. The default drops
    /// them (for wrappers); the SQL stores keep them.
    async fn record_marks_seen(
        &self,
        reading: &crate::MarkReading,
        seen: &[crate::SeenSignal],
        fill_prices: &[crate::FillPrice],
    ) -> Result<(), StoreError> {
        let _ = (seen, fill_prices);
        self.record_marks(reading).await
    }

    /// [`Self::marks`], each with the signals its cycle blended and its fills' market prices
    /// (see [`crate::RecordedReading`]). The default knows none.
    async fn marks_with_signals(
        &self,
        account: Option<&AccountName>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<crate::RecordedReading>, StoreError> {
        Ok(self
            .marks(account, after_seq, limit)
            .await?
            .into_iter()
            .map(|reading| crate::RecordedReading {
                reading,
                seen: None,
                fill_prices: Vec::new(),
            })
            .collect())
    }

    /// Signals stored after `after_seq`, in the order the intake stored (and applied) them, each
    /// with its `seq`, at most `limit` (≤ [`crate::MAX_PAGE`]).
    async fn signals_in_order(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<(i64, Signal)>, StoreError>;

    /// Small named state blobs (paper venue balances, kill switch, source cursors).
    async fn get_state(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError>;

    /// Writes a named state blob atomically (key: 1–200 bytes). No audit event; decisions behind
    /// a blob (kill switch, config) are audited with [`Store::audit`].
    async fn put_state(&self, key: &str, value: &serde_json::Value) -> Result<(), StoreError>;
}
