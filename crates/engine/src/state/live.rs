//! What the engine says as it happens, for the dashboard's event stream (`GET /api/v1/events`)
//! and the notifications: every audit event as the chain records it, a source's freshness
//! changing, an account's cycle failing or working again, and the latest prices. One broadcast per engine; a reader that falls behind is
//! told how far ([`tokio::sync::broadcast::error::RecvError::Lagged`]) and catches up from the
//! audit trail, which is where every [`LiveEvent::Audit`] came from.

use std::collections::BTreeMap;

use serde::Serialize;
use tradeengine_model::{Price, Symbol, Timestamp};

/// How many events a slow reader may fall behind before it is told it lagged.
pub const LIVE_CAPACITY: usize = 4096;

/// One live event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// An event of the audit trail (its `seq` is the stream's event id).
    Audit {
        seq: i64,
        kind: String,
        account: Option<String>,
        symbol: Option<String>,
        at: Timestamp,
        payload: serde_json::Value,
    },
    /// A polled source went stale or came back.
    Freshness {
        source: String,
        stale: bool,
        stale_since: Option<Timestamp>,
        last_error: Option<String>,
        at: Timestamp,
    },
    /// An account's cycle began failing (`error`) or works again (`None`).
    AccountError {
        account: String,
        error: Option<String>,
        at: Timestamp,
    },
    /// The prices that changed since the last such event.
    Prices {
        at: Timestamp,
        prices: BTreeMap<Symbol, Price>,
    },
}

impl LiveEvent {
    /// The stream's event name (`audit`, `freshness`, `prices`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Audit { .. } => "audit",
            Self::Freshness { .. } => "freshness",
            Self::AccountError { .. } => "account_error",
            Self::Prices { .. } => "prices",
        }
    }

    pub fn from_audit(e: &tradeengine_store::AuditEvent) -> Self {
        Self::Audit {
            seq: e.seq,
            kind: e.kind.as_str().to_string(),
            account: e.account.clone(),
            symbol: e.symbol.clone(),
            at: e.at,
            payload: e.payload.clone(),
        }
    }
}
