//! One implementation of [`Store`] for both backends, generic over the sqlx database type.
//!
//! The two backends run the same SQL text (`$1`-style parameters work on both), bind the same
//! column types (TEXT, BIGINT, BOOLEAN) and decode rows with the same functions in [`rows`], so
//! they cannot drift apart. What does differ is in [`Dialect`]: how a write transaction starts,
//! how the audit chain is locked, and whether a row read can be locked.
//!
//! ## Transactions and locks
//!
//! Every mutating method is one transaction that writes its data first and appends its audit
//! event(s) last. Appending holds the chain lock, reads the head and inserts `head + 1`:
//!
//! - SQLite: the database's single write lock, taken up front by `BEGIN IMMEDIATE` on the one
//!   writer connection, so write transactions simply run one after another;
//! - PostgreSQL: a transaction-scoped advisory lock taken just before the append. It is the last
//!   lock any of our transactions takes, so two writers can never wait on each other in a cycle
//!   (row locks from `FOR UPDATE` or unique-key inserts are always taken before it).
//!
//! The primary key on `audit_events.seq` is the backstop: a second event with the same seq
//! cannot be inserted, so the chain cannot fork even if the locking were wrong.

#[macro_use]
pub(crate) mod rows;
mod audit_chain;
mod checkpoint;
mod dialect;
pub(crate) mod health;
pub(crate) mod lease;
mod multirow;
mod orders;
mod pnl;
mod refused;
mod settle;
mod signals;
mod snapshots;
mod state_batch;
mod writer;

use async_trait::async_trait;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};
use tradeengine_model::{
    AccountName, ClientOrderId, Fill, Plan, Position, Signal, Sleeve, Timestamp,
};

pub(crate) use checkpoint::Checkpointer;
pub(crate) use dialect::Dialect;
use rows::ColReader;
pub(crate) use writer::Writer;

use crate::anchor::AuditHead;
use crate::codec;
use crate::lease::LeaseOutcome;
use crate::ownership::Holder;
use crate::{
    AuditEvent, AuditKind, AuditVerification, EquitySnapshot, OrderFilter, OrderUpdate,
    SignalRecordOutcome, Store, StoreError, StoredOrder, TargetRecord,
};

/// Most rows one list call returns, whatever the caller asks for.
pub const MAX_PAGE: i64 = 10_000;
/// State key the health check's write probe writes (the time of the probe).
pub const HEALTH_PROBE_KEY: &str = "store.health_probe";
/// Rows listed when [`OrderFilter::limit`] is `None`.
pub const DEFAULT_ORDER_PAGE: i64 = 100;

/// The store over one database. On a SQLite file `write` is the single writer connection, kept
/// (see [`writer`]), and `read` a pool of several; on PostgreSQL both are the same pool.
pub(crate) struct SqlStore<DB: Database> {
    write: Writer<DB>,
    read: Pool<DB>,
    /// The SQLite file as opened (none for PostgreSQL, in-memory or read-only stores).
    guard: Option<health::FileGuard>,
    health: health::Health,
    leases: lease::Leases<DB>,
    /// `put_state` values waiting for their group commit (see [`state_batch`]).
    states: state_batch::StateQueue,
    /// A SQLite file's WAL checkpoints (see [`checkpoint`]); stops with the store.
    _checkpoints: Option<Checkpointer>,
}

impl<DB: Dialect> SqlStore<DB> {
    pub(crate) fn new(write: Writer<DB>, read: Pool<DB>) -> Self {
        Self {
            write,
            read,
            guard: None,
            health: health::Health::default(),
            leases: lease::Leases::default(),
            states: state_batch::StateQueue::default(),
            _checkpoints: None,
        }
    }

    /// Checkpoints the SQLite file's WAL off the commit path (see [`checkpoint`]).
    pub(crate) fn checkpointing(mut self, checkpoints: Checkpointer) -> Self {
        self._checkpoints = Some(checkpoints);
        self
    }

    /// Watches the file the store opened (see [`health`]).
    pub(crate) fn guarding(mut self, guard: health::FileGuard) -> Self {
        self.guard = Some(guard);
        self
    }

    /// The write connection, unless the database is known to be lost.
    pub(crate) async fn writer(&self) -> Result<writer::WriteConn<'_, DB>, StoreError> {
        self.health.check_write()?;
        self.write.conn().await
    }
}

impl<DB: Dialect> std::fmt::Debug for SqlStore<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Pools only: connect options may hold a password.
        f.debug_struct("SqlStore")
            .field("backend", &DB::BACKEND)
            .field("write_connections", &self.write.size())
            .field("read_connections", &self.read.size())
            .finish()
    }
}

/// Sequential reader over one row for the decoders in [`rows`].
pub(crate) struct Cols<'r, R> {
    row: &'r R,
    next: usize,
}

impl<'r, R> Cols<'r, R> {
    pub(crate) fn new(row: &'r R) -> Self {
        Self { row, next: 0 }
    }
}

impl<R, DB> Cols<'_, R>
where
    R: Row<Database = DB>,
    DB: Database,
    usize: ColumnIndex<R>,
{
    fn get<T>(&mut self, col: &'static str) -> Result<T, StoreError>
    where
        T: for<'q> Decode<'q, DB> + Type<DB>,
    {
        let i = self.next;
        self.next += 1;
        self.row
            .try_get::<T, usize>(i)
            .map_err(|e| StoreError::corrupt(col, e))
    }
}

impl<R, DB> ColReader for Cols<'_, R>
where
    R: Row<Database = DB>,
    DB: Database,
    usize: ColumnIndex<R>,
    String: for<'q> Decode<'q, DB> + Type<DB>,
    i64: for<'q> Decode<'q, DB> + Type<DB>,
    bool: for<'q> Decode<'q, DB> + Type<DB>,
{
    fn text(&mut self, col: &'static str) -> Result<String, StoreError> {
        self.get(col)
    }
    fn opt_text(&mut self, col: &'static str) -> Result<Option<String>, StoreError> {
        self.get(col)
    }
    fn int(&mut self, col: &'static str) -> Result<i64, StoreError> {
        self.get(col)
    }
    fn opt_int(&mut self, col: &'static str) -> Result<Option<i64>, StoreError> {
        self.get(col)
    }
    fn boolean(&mut self, col: &'static str) -> Result<bool, StoreError> {
        self.get(col)
    }
}

/// Decodes every row with `decode`.
pub(crate) fn decode_all<R, T>(
    rows: &[R],
    decode: impl Fn(&mut Cols<'_, R>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(|r| decode(&mut Cols::new(r))).collect()
}

/// Checks a page request: negative values are refused, large limits are capped at
/// [`MAX_PAGE`] so one call cannot pull a whole table into memory.
pub(crate) fn page(limit: i64, offset: i64) -> Result<(i64, i64), StoreError> {
    if limit < 0 {
        return Err(StoreError::invalid("limit", format!("{limit} is negative")));
    }
    if offset < 0 {
        return Err(StoreError::invalid(
            "offset",
            format!("{offset} is negative"),
        ));
    }
    Ok((limit.min(MAX_PAGE), offset))
}

// The bounds below say "DB can run our SQL with TEXT, BIGINT and BOOLEAN columns". They are
// repeated on each `impl` block of this module because Rust does not carry where-clauses along.
#[async_trait]
impl<DB> Store for SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    usize: ColumnIndex<DB::Row>,
    String: for<'q> Encode<'q, DB> + for<'q> Decode<'q, DB> + Type<DB>,
    Option<String>: for<'q> Encode<'q, DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> Option<&'a str>: Encode<'a, DB>,
    i64: for<'q> Encode<'q, DB> + for<'q> Decode<'q, DB> + Type<DB>,
    Option<i64>: for<'q> Encode<'q, DB>,
    bool: for<'q> Encode<'q, DB> + for<'q> Decode<'q, DB> + Type<DB>,
{
    fn backend(&self) -> &'static str {
        DB::BACKEND
    }

    async fn record_signal(
        &self,
        signal: &Signal,
        sleeve: Option<&Sleeve>,
    ) -> Result<SignalRecordOutcome, StoreError> {
        self.insert_signal(signal, sleeve).await
    }

    async fn record_signals(
        &self,
        batch: &[(Signal, Option<Sleeve>)],
    ) -> Result<crate::BatchOutcome, StoreError> {
        self.insert_signals(batch).await
    }

    async fn record_batch(
        &self,
        batch: &crate::SignalBatch,
    ) -> Result<crate::BatchOutcome, StoreError> {
        self.insert_batch(batch).await
    }

    async fn record_refused_signal(
        &self,
        refusal: &crate::NewRefusal<'_>,
    ) -> Result<SignalRecordOutcome, StoreError> {
        self.insert_refused_signal(refusal).await
    }

    async fn refused_signals(
        &self,
        source: Option<&str>,
        limit: i64,
    ) -> Result<Vec<crate::RefusedSignal>, StoreError> {
        self.select_refused_signals(source, limit).await
    }

    async fn recent_signals(&self, limit: i64, offset: i64) -> Result<Vec<Signal>, StoreError> {
        self.select_signals(limit, offset).await
    }

    async fn put_sleeve(&self, sleeve: &Sleeve) -> Result<(), StoreError> {
        self.upsert_sleeve(sleeve).await
    }

    async fn sleeves(&self) -> Result<Vec<Sleeve>, StoreError> {
        self.select_sleeves().await
    }

    async fn record_target(&self, target: &TargetRecord) -> Result<(), StoreError> {
        self.insert_target(target).await
    }

    async fn targets(&self, account: &AccountName) -> Result<Vec<TargetRecord>, StoreError> {
        self.select_targets(account).await
    }

    async fn record_plan(&self, plan: &Plan) -> Result<(), StoreError> {
        self.insert_plan(plan).await
    }

    async fn update_order(
        &self,
        client_order_id: &ClientOrderId,
        update: &OrderUpdate,
    ) -> Result<StoredOrder, StoreError> {
        self.apply_order_report(client_order_id, orders::OrderReport::of(update))
            .await
    }

    async fn settle_order(
        &self,
        account: &AccountName,
        client_order_id: &ClientOrderId,
        update: &OrderUpdate,
        fill: Option<&Fill>,
    ) -> Result<StoredOrder, StoreError> {
        self.settle(account, client_order_id, update, fill).await
    }

    async fn order(
        &self,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<StoredOrder>, StoreError> {
        self.select_order(client_order_id).await
    }

    async fn orders(&self, filter: &OrderFilter) -> Result<Vec<StoredOrder>, StoreError> {
        self.select_orders(filter).await
    }

    async fn unsettled_orders(
        &self,
        account: &AccountName,
    ) -> Result<Vec<StoredOrder>, StoreError> {
        self.select_unsettled(account).await
    }

    async fn record_fill(&self, account: &AccountName, fill: &Fill) -> Result<(), StoreError> {
        self.insert_fill(account, fill).await
    }

    async fn fills(
        &self,
        account: Option<&AccountName>,
        limit: i64,
    ) -> Result<Vec<Fill>, StoreError> {
        self.select_fills(account, limit).await
    }

    async fn record_positions(
        &self,
        account: &AccountName,
        positions: &[Position],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.replace_positions(account, positions, at).await
    }

    async fn positions(
        &self,
        account: Option<&AccountName>,
    ) -> Result<Vec<(AccountName, Position)>, StoreError> {
        self.select_positions(account).await
    }

    async fn record_equity(&self, snapshot: &EquitySnapshot) -> Result<(), StoreError> {
        self.insert_equity(snapshot).await
    }

    async fn record_cycle_end(&self, end: &crate::CycleEnd<'_>) -> Result<(), StoreError> {
        self.insert_cycle_end(end).await
    }

    async fn equity(
        &self,
        account: &AccountName,
        since: Timestamp,
    ) -> Result<Vec<EquitySnapshot>, StoreError> {
        self.select_equity(account, since).await
    }

    async fn audit(
        &self,
        kind: AuditKind,
        account: Option<&str>,
        symbol: Option<&str>,
        payload: serde_json::Value,
        at: Timestamp,
    ) -> Result<AuditEvent, StoreError> {
        let event = audit_chain::NewEvent {
            kind,
            account: account.map(str::to_string),
            symbol: symbol.map(str::to_string),
            payload: crate::audit::canonical_json(&payload),
            at,
        };
        let mut conn = self.writer().await?;
        let mut tx = conn.begin().await?;
        let appended = Self::append_events(&mut tx, vec![event]).await?;
        tx.commit().await?;
        let last = appended
            .into_iter()
            .next_back()
            .ok_or_else(|| StoreError::corrupt("audit_events", "append returned no event"))?;
        Ok(AuditEvent {
            seq: last.seq,
            at: codec::time("audit_events.at_ms", codec::ms(at))?,
            kind,
            account: account.map(str::to_string),
            symbol: symbol.map(str::to_string),
            payload,
            hash: last.hash,
        })
    }

    async fn audit_events(&self, after: i64, limit: i64) -> Result<Vec<AuditEvent>, StoreError> {
        self.select_audit_events(after, limit).await
    }

    async fn verify_audit(&self) -> Result<AuditVerification, StoreError> {
        self.walk_audit_chain(None).await
    }

    async fn verify_audit_from(&self, anchor: &AuditHead) -> Result<AuditVerification, StoreError> {
        self.walk_audit_chain(Some(anchor)).await
    }

    async fn audit_head(&self) -> Result<Option<AuditHead>, StoreError> {
        self.select_audit_head().await
    }

    fn fault(&self) -> Option<String> {
        self.health.fault()
    }

    async fn check_health(&self) -> Result<(), StoreError> {
        if let Some(reason) = self.guard.as_ref().and_then(health::FileGuard::changed) {
            self.health.set_fatal(&reason);
        }
        self.health.check_write()?;
        let probe = self
            .upsert_state(
                HEALTH_PROBE_KEY,
                &serde_json::json!(chrono::Utc::now().timestamp_millis()),
            )
            .await;
        self.health.set_probe(
            probe
                .as_ref()
                .map(|_| ())
                .map_err(|e| format!("a write probe failed: {e}")),
        );
        probe
    }

    async fn take_lease(
        &self,
        account: &AccountName,
        holder: &Holder,
        ttl: std::time::Duration,
    ) -> Result<LeaseOutcome, StoreError> {
        self.take_account_lease(account, holder, ttl).await
    }

    async fn renew_lease(
        &self,
        account: &AccountName,
        ttl: std::time::Duration,
    ) -> Result<(), StoreError> {
        self.renew_account_lease(account, ttl).await
    }

    async fn release_lease(&self, account: &AccountName) -> Result<(), StoreError> {
        self.release_account_lease(account).await
    }

    async fn record_plan_attributed(
        &self,
        plan: &Plan,
        event: &crate::PnlEventRecord,
    ) -> Result<(), StoreError> {
        self.insert_plan_attributed(plan, Some(event)).await
    }

    async fn record_pnl_event(&self, event: &crate::PnlEventRecord) -> Result<(), StoreError> {
        self.insert_pnl_event(event).await
    }

    async fn pnl_events(
        &self,
        account: Option<&AccountName>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<crate::PnlEventRecord>, StoreError> {
        self.select_pnl_events(account, after_seq, limit).await
    }

    async fn fills_in_order(
        &self,
        account: Option<&AccountName>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<crate::StoredFill>, StoreError> {
        self.select_fills_in_order(account, after_seq, limit).await
    }

    async fn record_marks(&self, reading: &crate::MarkReading) -> Result<(), StoreError> {
        self.insert_marks(reading).await
    }

    async fn marks(
        &self,
        account: Option<&AccountName>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<crate::MarkReading>, StoreError> {
        self.select_marks(account, after_seq, limit).await
    }

    async fn record_marks_seen(
        &self,
        reading: &crate::MarkReading,
        seen: &[crate::SeenSignal],
        fill_prices: &[crate::FillPrice],
    ) -> Result<(), StoreError> {
        self.insert_marks_seen(reading, seen, fill_prices).await
    }

    async fn marks_with_signals(
        &self,
        account: Option<&AccountName>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<crate::RecordedReading>, StoreError> {
        self.select_marks_with_signals(account, after_seq, limit)
            .await
    }

    async fn signals_in_order(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<(i64, Signal)>, StoreError> {
        self.select_signals_in_order(after_seq, limit).await
    }

    async fn get_state(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        self.select_state(key).await
    }

    async fn put_state(&self, key: &str, value: &serde_json::Value) -> Result<(), StoreError> {
        self.upsert_state(key, value).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_refuse_negatives_and_cap_the_limit() {
        assert_eq!(page(10, 5).ok(), Some((10, 5)));
        assert_eq!(page(MAX_PAGE + 1, 0).ok(), Some((MAX_PAGE, 0)));
        assert!(page(-1, 0).is_err());
        assert!(page(1, -1).is_err());
    }
}
