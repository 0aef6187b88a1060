//! The few statements that differ between SQLite and PostgreSQL.

use sqlx::Database;

/// Backend-specific SQL. Everything else is shared.
pub(crate) trait Dialect: Database {
    /// `sqlite` or `postgres`.
    const BACKEND: &'static str;

    /// How a write transaction starts; `None` is the driver's plain `BEGIN`.
    ///
    /// SQLite uses `BEGIN IMMEDIATE`: it takes the write lock before the first read, so a
    /// transaction that reads and then writes can never fail half-way with `SQLITE_BUSY` because
    /// another connection (another process, say `tradeengine audit verify`) wrote in between;
    /// it waits up to `busy_timeout` at the start instead.
    const BEGIN_WRITE: Option<&'static str>;

    /// Serialises audit appends within the current transaction, if the backend needs it.
    const LOCK_AUDIT_CHAIN: Option<&'static str>;

    /// Reads one order by client order id, locking the row until commit where the backend can.
    const SELECT_ORDER_FOR_UPDATE: &'static str;

    /// Whether multi-row statements number their parameters (`$1`, `$2`, …) or use `?`
    /// (see [`super::multirow`]).
    const NUMBERED_PARAMS: bool;

    /// Account leases ([`crate::lease`]); `None` where the backend has none.
    const LEASES: Option<&'static super::lease::LeaseSql>;
}

impl Dialect for sqlx::Sqlite {
    const BACKEND: &'static str = "sqlite";
    const BEGIN_WRITE: Option<&'static str> = Some("BEGIN IMMEDIATE");
    // The single writer connection plus `BEGIN IMMEDIATE` already make writes serial.
    const LOCK_AUDIT_CHAIN: Option<&'static str> = None;
    const NUMBERED_PARAMS: bool = false;
    // One machine: the data dir's lock does this job.
    const LEASES: Option<&'static super::lease::LeaseSql> = None;
    const SELECT_ORDER_FOR_UPDATE: &'static str = concat!(
        "SELECT ",
        order_columns!(),
        " FROM orders WHERE client_order_id = $1"
    );
}

impl Dialect for sqlx::Postgres {
    const BACKEND: &'static str = "postgres";
    const BEGIN_WRITE: Option<&'static str> = None;
    const NUMBERED_PARAMS: bool = true;
    const LEASES: Option<&'static super::lease::LeaseSql> = Some(&super::lease::PG_LEASES);
    // Transaction-scoped, released at commit or rollback. The key is derived from the schema
    // name so that two deployments (or two test runs) in different schemas of one database do
    // not contend, and is namespaced so it cannot collide with the engine's account locks.
    const LOCK_AUDIT_CHAIN: Option<&'static str> = Some(
        "SELECT pg_advisory_xact_lock(hashtextextended('tradeengine-store/audit-chain/' || current_schema(), 0))",
    );
    const SELECT_ORDER_FOR_UPDATE: &'static str = concat!(
        "SELECT ",
        order_columns!(),
        " FROM orders WHERE client_order_id = $1 FOR UPDATE"
    );
}
