//! The paper venue: a simulated USDT-margined perpetual account that fills against a
//! [`PriceFeed`](crate::PriceFeed) and survives restarts.
//!
//! - [`config`]: fees, slippage, leverage caps, instruments.
//! - [`ledger`]: the accounting (average entry, realised and unrealised P&L, equity, margin).
//! - [`orders`]: what a real venue would refuse, and at what price a taker fills.
//! - [`state`]: the persisted account; [`store`]: where it is persisted.
//! - [`venue`]: [`PaperVenue`], the [`Venue`](crate::Venue) implementation tying them together;
//!   `execution`: how its orders fill.

pub mod config;
mod execution;
pub mod ledger;
pub mod orders;
pub mod state;
pub mod store;
pub mod venue;

use tradeengine_model::Symbol;

pub use config::{PaperConfig, default_instruments};
pub use ledger::PaperPnl;
pub use state::{PaperOrder, PaperState};
pub use store::{JsonFileStore, MemoryStore, PaperStateStore, PaperStoreError};
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
