//! Store errors.

/// A failed store operation. Messages name the table or key involved, never a credential.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// Carries only the URL's scheme: the rest may hold a password.
    #[error("unsupported database url {0:?} (use sqlite:PATH or postgres://…)")]
    UnsupportedUrl(String),
    #[error("stored {what} is corrupt: {reason}")]
    Corrupt { what: String, reason: String },
    #[error("order {client_order_id}: {reason}")]
    Order {
        client_order_id: String,
        reason: String,
    },
    #[error("not found: {0}")]
    NotFound(String),
    /// The caller handed the store a value it refuses to write (nothing was written).
    #[error("invalid {what}: {reason}")]
    Invalid { what: String, reason: String },
    /// A unique key is already taken (a plan id, a client order id, a signal id).
    #[error("already stored: {0}")]
    Conflict(String),
    /// The store found its database unusable (file deleted or replaced, writes failing) and
    /// refuses every write from then on: a write to a deleted file would be lost silently.
    /// Only a restart (after the operator has looked) clears it.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// This process no longer holds the account's lease (it expired or another engine took
    /// it over): nothing it writes may send an order. See [`crate::lease`].
    #[error("account {account}: this engine no longer holds the account's lease")]
    LeaseLost { account: String },
    /// A read-only open found no database where the configuration points.
    #[error("no database at {0} (a read-only command never creates one)")]
    Missing(String),
    /// A transaction written for several callers at once (group commit) failed; every caller
    /// in it gets this, with the message of the error that failed it. Nothing of it was written.
    #[error("{0}")]
    Shared(String),
}

impl StoreError {
    pub(crate) fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            what: what.into(),
            reason: reason.to_string(),
        }
    }

    /// Maps a unique-key violation to [`StoreError::Conflict`] naming `what`; other errors pass.
    pub(crate) fn on_conflict(err: sqlx::Error, what: impl FnOnce() -> String) -> Self {
        match err.as_database_error() {
            Some(db) if db.is_unique_violation() => Self::Conflict(what()),
            _ => Self::Database(err),
        }
    }
}
