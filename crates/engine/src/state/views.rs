//! What the engine shows of each account (the API, `tradeengine status`, the dashboard): plain
//! data the account workers write into the shared state and readers copy out.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;
use tradeengine_core::risk::PortfolioTracker;
use tradeengine_model::{Position, Symbol, Timestamp};

use crate::config::AccountState;
use crate::killswitch::KillAction;

/// What the engine last saw and decided for one account; served by the API and the dashboard.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AccountView {
    pub value: Option<Decimal>,
    pub positions: Vec<Position>,
    /// Target per symbol, base units.
    pub targets: BTreeMap<Symbol, Decimal>,
    pub last_cycle_at: Option<Timestamp>,
    /// The last cycle's error, if it failed.
    pub last_error: Option<String>,
    pub state: Option<AccountState>,
    /// True once a cycle has read the venue and settled every order since start.
    pub reconciled: bool,
    pub cycles: u64,
    pub orders_sent: u64,
    pub orders_filled: u64,
    pub orders_rejected: u64,
    /// The kill switch's action on this account at the last cycle.
    pub kill: Option<KillAction>,
    /// Portfolio risk state (ACTIVE / REDUCING / HALTED, the rule and loss figures) at the last
    /// cycle.
    pub risk: Option<PortfolioTracker>,
    /// Order legs refused by a pre-trade risk rule since start.
    pub orders_risk_refused: u64,
    /// The latest refusal: symbol, rule and detail.
    pub last_risk_refusal: Option<String>,
    /// The account's effective mode (`paper`, `dry-run`, `testnet`, `live`).
    pub mode: Option<String>,
    /// What the account really trades on, e.g. `paper on bybit public data (api.bybit.com; …)`.
    pub trading: Option<String>,
    /// `connecting` while the venue could not be reached (retrying with back-off; the reason is
    /// in `last_error`), then `connected`.
    pub connection: Option<String>,
    /// Connection attempts made while `connecting`.
    pub connect_attempts: u64,
    /// Positions on the venue the engine has no record of managing, and what it does with them
    /// (see [`crate::worker::unknown`]).
    pub unknown_positions: BTreeMap<Symbol, UnknownPositionView>,
    /// Symbols the last cycle could not price, size or plan, with the reason; the account's
    /// other symbols trade.
    pub symbol_errors: Vec<String>,
    /// Symbols whose orders the venue keeps refusing for a business reason (margin, minimum
    /// size, reduce-only, position limit), backed off: the reason, since when, how many
    /// refusals, and when the symbol is tried again.
    pub venue_rejections: BTreeMap<Symbol, RejectionView>,
    /// Set when this engine's lease on the account was taken over by another engine (shared
    /// PostgreSQL): the engine no longer trades it, is not ready, and refuses signals until it is
    /// restarted (see `ownership`).
    pub lease_lost: Option<String>,
    /// In a cluster (`engine.cluster`): why this process does not trade the account now
    /// (`traded by NODE`, `standing by (…)`); `None` while it trades it.
    pub standby: Option<String>,
    /// In a cluster: this process's node id while it holds the account's lease.
    pub lease_holder: Option<String>,
}

/// What the API, `status` and the dashboard show for one unknown position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownPositionView {
    /// Signed size in base units as last read from the venue.
    pub size: Decimal,
    /// `held` (left alone), `unconfigured` (in a symbol the configuration does not name: left
    /// alone), `adopted` (kept at its size) or `flattening`.
    pub status: &'static str,
    /// When the engine first saw it (held) or the decision was made.
    pub since: Timestamp,
}

/// One symbol's ongoing refusal by the venue, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RejectionView {
    /// The venue's refusal, as it was last given.
    pub reason: String,
    /// When the episode began.
    pub since: Timestamp,
    /// Orders the venue refused in this episode.
    pub attempts: u32,
    /// When the symbol is tried again (unless the target or an operator ends the episode).
    pub retry_at: Timestamp,
}
