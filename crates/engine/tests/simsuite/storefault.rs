//! Store faults: the store the engine's worker for the faulted account talks to refuses a
//! stretch of calls with the error SQLite gives when the database is locked by another process
//! (`SQLITE_BUSY` after the busy timeout), when the disk is full (`SQLITE_FULL`), or when the
//! file or its directory became read-only (`SQLITE_READONLY`), then recovers. A refused call
//! does nothing: SQLite rolls the transaction back, so "error" always means "not written".
//!
//! A locked database refuses reads too; a full disk or a read-only file refuses only writes.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Mutex;

use tradeengine_store::StoreError;

/// Which SQLite failure the store gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StoreFailure {
    Locked,
    DiskFull,
    ReadOnly,
}

impl StoreFailure {
    pub const ALL: [StoreFailure; 3] = [Self::Locked, Self::DiskFull, Self::ReadOnly];

    /// SQLite's primary result code and message.
    fn sqlite(self) -> (&'static str, &'static str) {
        match self {
            Self::Locked => ("5", "database is locked"),
            Self::DiskFull => ("13", "database or disk is full"),
            Self::ReadOnly => ("8", "attempt to write a readonly database"),
        }
    }

    /// Whether a call named `what` (`"store update_order"`) meets this failure.
    fn hits(self, what: &str) -> bool {
        match self {
            Self::Locked => true,
            Self::DiskFull | Self::ReadOnly => is_write(what),
        }
    }

    pub fn error(self) -> StoreError {
        let (code, message) = self.sqlite();
        StoreError::Database(sqlx::Error::Database(Box::new(SqliteLike {
            code,
            message,
        })))
    }
}

/// Store calls that write (everything else only reads).
fn is_write(what: &str) -> bool {
    let name = what.trim_start_matches("store ");
    name.starts_with("record_")
        || name.starts_with("put_")
        || name.starts_with("update_")
        || name.starts_with("settle_")
        || name == "audit"
}

/// The error as SQLite reports it through sqlx (code and message), so the engine sees what it
/// would see in production.
#[derive(Debug)]
struct SqliteLike {
    code: &'static str,
    message: &'static str,
}

impl std::fmt::Display for SqliteLike {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for SqliteLike {}

impl sqlx::error::DatabaseError for SqliteLike {
    fn message(&self) -> &str {
        self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(self.code))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        sqlx::error::ErrorKind::Other
    }
}

/// The failure armed on one store handle: after `skip` calls it would hit have passed, the
/// next `calls` calls it hits fail (so the failure can start mid-cycle, e.g. on the write that
/// records an order the venue just filled).
#[derive(Debug, Clone, Copy)]
struct Armed {
    failure: StoreFailure,
    skip: u32,
    remaining: u32,
}

#[derive(Debug, Default)]
pub struct StoreFaults {
    armed: Mutex<Option<Armed>>,
    /// Calls refused so far, by call name, for the report.
    refused: Mutex<BTreeMap<String, u64>>,
}

impl StoreFaults {
    pub fn inject(&self, failure: StoreFailure, skip: u32, calls: u32) {
        *self.armed.lock().unwrap() = (calls > 0).then_some(Armed {
            failure,
            skip,
            remaining: calls,
        });
    }

    pub fn clear(&self) {
        *self.armed.lock().unwrap() = None;
    }

    pub fn refused(&self) -> u64 {
        self.refused.lock().unwrap().values().sum()
    }

    /// Refused calls by name (`store settle_order` → 2).
    pub fn refused_by_call(&self) -> BTreeMap<String, u64> {
        self.refused.lock().unwrap().clone()
    }

    /// The error call `what` gets instead of running, if a failure is armed and hits it.
    pub fn check(&self, what: &str) -> Result<(), StoreError> {
        let mut armed = self.armed.lock().unwrap();
        let Some(a) = armed.as_mut() else {
            return Ok(());
        };
        if !a.failure.hits(what) {
            return Ok(());
        }
        if a.skip > 0 {
            a.skip -= 1;
            return Ok(());
        }
        let failure = a.failure;
        a.remaining -= 1;
        if a.remaining == 0 {
            *armed = None;
        }
        *self
            .refused
            .lock()
            .unwrap()
            .entry(what.to_string())
            .or_insert(0) += 1;
        Err(failure.error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_refuses_writes_for_its_stretch_then_recovers() {
        let f = StoreFaults::default();
        f.inject(StoreFailure::DiskFull, 1, 2);
        assert!(f.check("store orders").is_ok());
        assert!(f.check("store record_plan").is_ok(), "skipped");
        let e = f.check("store update_order").unwrap_err();
        assert!(e.to_string().contains("database or disk is full"), "{e}");
        assert!(f.check("store audit").is_err());
        assert!(f.check("store record_plan").is_ok());
        assert_eq!(f.refused(), 2);
        f.inject(StoreFailure::Locked, 0, 1);
        let e = f.check("store orders").unwrap_err();
        assert!(e.to_string().contains("database is locked"), "{e}");
    }
}
