//! Durable state behind one trait, [`Store`], with a SQLite implementation (the embedded
//! default, WAL mode, in the data dir) and a PostgreSQL one, kept in step by one shared test
//! suite and one migration set per backend.
//!
//! Every write that changes what the engine will do (a signal, a sleeve, a target, a plan, an
//! order state, a fill) appends an [`AuditEvent`] in the **same transaction**, so the audit trail
//! cannot miss a decision the engine acted on. Events are chained by BLAKE3: each event's hash
//! covers the previous hash, so editing or deleting any row breaks [`Store::verify_audit`].
//!
//! Both backends store decimals as TEXT (the exact `Decimal` string, scale included: PostgreSQL
//! `NUMERIC` would also be exact, but TEXT keeps one code path and one test suite for both) and
//! times as BIGINT epoch milliseconds UTC, **truncated to the millisecond**.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tradeengine_store::StoreError> {
//! let store = tradeengine_store::open_sqlite_in(std::path::Path::new("data")).await?;
//! assert!(store.verify_audit().await?.is_ok());
//! # Ok(()) }
//! ```

pub mod anchor;
pub mod audit;
pub mod cluster;
mod codec;
mod connect;
pub mod encoded;
pub mod error;
pub mod files;
pub mod lease;
mod migrations;
pub mod ownership;
pub mod pnl;
pub mod records;
mod sql;
pub mod store;

pub use audit::{AuditEvent, AuditKind, AuditVerification};
pub use connect::{
    DEFAULT_PG_CONNECTIONS, SQLITE_FILE_NAME, SQLITE_READERS, open, open_existing, open_postgres,
    open_read_only, open_sqlite_file, open_sqlite_in, sqlite_file,
};
pub use encoded::{EncodedSignal, SignalBatch};
pub use error::StoreError;
pub use pnl::{FillPrice, MarkReading, PnlEventRecord, RecordedReading, SeenSignal, StoredFill};
pub use records::{
    BatchOutcome, CycleEnd, EquitySnapshot, MAX_REFUSED_BODY, NewRefusal, OrderFilter, OrderUpdate,
    REFUSALS_KEPT_PER_SOURCE, RefusedSignal, SignalRecordOutcome, StoredOrder, TRUNCATED_MARKER,
    TargetRecord, bound_body,
};
pub use sql::{DEFAULT_ORDER_PAGE, HEALTH_PROBE_KEY, MAX_PAGE};
pub use store::Store;
