//! Every payload the engine writes to the audit trail, as one typed enum.
//!
//! Each variant serialises to exactly the JSON object its call site used to build by hand
//! (same keys, same values), so events written before and after read the same and the hash
//! chain over them is unchanged; the tests below hold each kind to its former JSON. The
//! variant also decides the event's [`AuditKind`], so a payload cannot be filed under the wrong
//! kind.

use rust_decimal::Decimal;
use serde::Serialize;
use tradeengine_core::risk::{LossFigures, PortfolioState, RiskRule};
use tradeengine_model::{ClientOrderId, PlanId, Side, SignalId, SourceId, Timestamp};
use tradeengine_store::{AuditEvent, AuditKind, Store, StoreError};

use crate::kill_records::{KillSwitch, ReleaseHold};
use crate::stops::StopChoice;
use crate::summary::SessionSummary;

/// One audit payload. Serialised untagged: the JSON is the variant's fields alone.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum AuditPayload<'a> {
    /// The engine started (after its sleeves were restored from the store).
    EngineStarted {
        boot: u64,
        mode: &'a str,
        accounts: Vec<&'a str>,
        sleeves_restored: usize,
    },
    /// The engine stopped: the session's summary.
    EngineStopped(&'a SessionSummary),
    /// A signal's sleeve got the source's default stops.
    DefaultStops {
        source: &'a SourceId,
        signal: &'a SignalId,
        default_stops: &'a StopChoice,
    },
    /// The kill switch was engaged.
    KillEngaged { engaged: &'a KillSwitch },
    /// The stored kill switch was released (`released`: the switch that was engaged, if any).
    KillReleased {
        released: Option<&'a KillSwitch>,
        by: &'a str,
    },
    /// A release of the kill switch into hold.
    ReleaseIntoHold { release_into_hold: &'a ReleaseHold },
    /// An account's portfolio risk state moved by a loss limit.
    RiskStateChanged {
        from: PortfolioState,
        to: PortfolioState,
        rule: RiskRule,
        detail: &'a str,
        equity: Decimal,
        figures: LossFigures,
    },
    /// An operator reset an account's portfolio risk state (`reset` is always true).
    RiskReset {
        reset: bool,
        by: &'a str,
        from: PortfolioState,
        to: PortfolioState,
        rule: Option<RiskRule>,
        detail: Option<&'a str>,
    },
    /// A pre-trade risk rule refused an order leg.
    RiskRefused {
        rule: RiskRule,
        detail: &'a str,
        plan: &'a PlanId,
        client_order_id: &'a ClientOrderId,
        side: Side,
        qty: Decimal,
        reduce_only: bool,
    },
    /// An operator decided what to do with a position this engine did not open.
    UnknownPositionDecided {
        unknown_position: &'a str,
        by: &'a str,
    },
    /// A position this engine did not open is left alone (`unknown_position` is `"held"`).
    UnknownPositionHeld {
        unknown_position: &'a str,
        size: Decimal,
    },
    /// A position moved where this engine's own fills do not take it (see `worker::outside`).
    PositionMovedOutside {
        /// Read minus expected, base units.
        moved_outside: Decimal,
        expected: Decimal,
        read: Decimal,
        /// This engine traded the symbol in the same window: two traders are moving it.
        contested: bool,
        /// This engine trades the symbol (it had a fill in it within the fight window): the
        /// move counts toward freezing the account.
        traded_back: bool,
    },
    /// The venue began refusing a symbol's orders for a business reason.
    VenueRejected {
        reason: &'a str,
        target: Decimal,
        leverage: Decimal,
        first_retry_secs: u64,
    },
    /// The audit chain was found broken.
    AuditChainBroken { reason: &'a str },
    /// A Telegram command: the chat, the command and what became of it.
    TelegramCommand {
        telegram_command: &'a tradeengine_notify::CommandRecord,
    },
    /// The configuration file changed (`config`, the new configuration, only when applied).
    ConfigChanged {
        file: String,
        needs_restart: &'a [String],
        applied: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        config: Option<&'a crate::config::Config>,
    },
}

impl AuditPayload<'_> {
    /// The kind of event this payload is filed under.
    pub fn kind(&self) -> AuditKind {
        match self {
            Self::EngineStarted { .. } => AuditKind::EngineStarted,
            Self::EngineStopped(_) => AuditKind::EngineStopped,
            Self::DefaultStops { .. } => AuditKind::SleeveChanged,
            Self::KillEngaged { .. } | Self::KillReleased { .. } | Self::ReleaseIntoHold { .. } => {
                AuditKind::KillSwitch
            }
            Self::RiskStateChanged { .. } | Self::RiskReset { .. } => AuditKind::RiskStateChanged,
            Self::RiskRefused { .. } => AuditKind::RiskRefused,
            Self::UnknownPositionDecided { .. }
            | Self::UnknownPositionHeld { .. }
            | Self::PositionMovedOutside { .. } => AuditKind::Reconciled,
            Self::VenueRejected { .. } => AuditKind::VenueRejected,
            Self::AuditChainBroken { .. } => AuditKind::AuditChainBroken,
            Self::ConfigChanged { .. } => AuditKind::ConfigChanged,
            Self::TelegramCommand { .. } => AuditKind::OperatorCommand,
        }
    }

    /// The payload as the JSON the store chains.
    pub fn to_json(&self) -> Result<serde_json::Value, StoreError> {
        serde_json::to_value(self).map_err(|e| StoreError::Invalid {
            what: "audit payload".into(),
            reason: e.to_string(),
        })
    }

    /// Appends the payload to the audit trail under its kind.
    pub async fn record(
        &self,
        store: &dyn Store,
        account: Option<&str>,
        symbol: Option<&str>,
        at: Timestamp,
    ) -> Result<AuditEvent, StoreError> {
        store
            .audit(self.kind(), account, symbol, self.to_json()?, at)
            .await
    }
}

#[cfg(test)]
#[path = "audit_payload_tests.rs"]
mod tests;
