//! What a trader hears about: the engine's events as notifications see them.
//!
//! The engine turns its audit trail and its sources' freshness into these; this crate decides
//! whether, where and how often to say them. Money stays `Decimal` all the way to the text.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tradeengine_model::Timestamp;

/// The kinds a channel can switch on or off, one per `[notifications.*.notify]` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Fill,
    SignalRefused,
    /// A source going stale and coming back.
    SourceStale,
    RiskState,
    KillSwitch,
    ReconcileFailed,
    /// The engine starting and stopping.
    Engine,
}

impl NoticeKind {
    pub const ALL: [Self; 7] = [
        Self::Fill,
        Self::SignalRefused,
        Self::SourceStale,
        Self::RiskState,
        Self::KillSwitch,
        Self::ReconcileFailed,
        Self::Engine,
    ];

    /// The configuration key and the name in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fill => "fill",
            Self::SignalRefused => "signal_refused",
            Self::SourceStale => "source_stale",
            Self::RiskState => "risk_state",
            Self::KillSwitch => "kill_switch",
            Self::ReconcileFailed => "reconcile_failed",
            Self::Engine => "engine",
        }
    }

    /// Kinds a rate limit never holds back: a trader must hear that the kill switch moved or
    /// that an account stopped trading by a loss limit even in the middle of a flood of fills.
    pub fn is_urgent(self) -> bool {
        matches!(self, Self::KillSwitch | Self::RiskState)
    }
}

/// One thing that happened, with what a message needs to say it. Deserialize: the events the
/// audit trail does not hold wait in the store until said ([`crate::courier`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Fill {
        account: String,
        symbol: String,
        /// `buy` or `sell`.
        side: String,
        qty: Decimal,
        price: Decimal,
        fee: Option<Decimal>,
        at: Timestamp,
    },
    SignalRefused {
        source: String,
        reason: String,
        at: Timestamp,
    },
    SourceStale {
        source: String,
        since: Timestamp,
        error: Option<String>,
    },
    SourceFresh {
        source: String,
        at: Timestamp,
    },
    RiskState {
        account: String,
        from: String,
        to: String,
        detail: String,
        at: Timestamp,
    },
    KillSwitch {
        /// `freeze`, `flatten` or `released`.
        action: String,
        /// `all` or an account name.
        scope: String,
        by: String,
        at: Timestamp,
    },
    ReconcileFailed {
        account: String,
        detail: String,
        at: Timestamp,
    },
    EngineStarted {
        mode: String,
        accounts: Vec<String>,
        at: Timestamp,
    },
    EngineStopped {
        detail: String,
        at: Timestamp,
    },
}

impl Event {
    pub fn kind(&self) -> NoticeKind {
        match self {
            Self::Fill { .. } => NoticeKind::Fill,
            Self::SignalRefused { .. } => NoticeKind::SignalRefused,
            Self::SourceStale { .. } | Self::SourceFresh { .. } => NoticeKind::SourceStale,
            Self::RiskState { .. } => NoticeKind::RiskState,
            Self::KillSwitch { .. } => NoticeKind::KillSwitch,
            Self::ReconcileFailed { .. } => NoticeKind::ReconcileFailed,
            Self::EngineStarted { .. } | Self::EngineStopped { .. } => NoticeKind::Engine,
        }
    }
}
