//! The paper venue: a simulated USDT-margined perpetual account that fills against a
//! [`PriceFeed`](crate::PriceFeed) and survives restarts.
//!
//! - [`config`]: fees, slippage, leverage caps, instruments.
//! - [`ledger`]: the accounting (average entry, realised and unrealised P&L, equity, margin).
//! - [`orders`]: what a real venue would refuse, and at what price a taker fills.
//! - [`state`]: the persisted account; [`change`]: one call's effect on it, as journalled;
//!   `txn`: a call's undoable writes; [`store`]: where it is persisted ([`file_store`]: on
//!   disk, as a snapshot and a journal).
//! - [`venue`]: [`PaperVenue`], the [`Venue`](crate::Venue) implementation tying them together;
//!   `execution`: how its orders fill.

pub mod change;
pub mod config;
mod execution;
pub mod file_store;
pub mod ledger;
#[cfg(test)]
mod ledger_tests;
pub mod orders;
pub mod state;
pub mod store;
mod txn;
pub mod venue;

use tradeengine_model::Symbol;

pub use change::PaperChange;
pub use config::{PaperConfig, default_instruments};
pub use file_store::JsonFileStore;
pub use ledger::PaperPnl;
pub use state::{PaperOrder, PaperState};
pub use store::{MemoryStore, PaperStateStore, PaperStoreError};
pub use venue::PaperVenue;

/// Why a paper venue could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum PaperError {
    #[error("paper setting {field} = {value} is invalid: {rule}")]
    BadConfig {
        field: String,
        value: String,
        rule: &'static str,
    },
    #[error("paper instrument {symbol} is invalid: {reason}")]
    BadInstrument { symbol: Symbol, reason: String },
    #[error(transparent)]
    Store(#[from] PaperStoreError),
    #[error("saved paper state cannot be used: {0}")]
    BadState(String),
}
