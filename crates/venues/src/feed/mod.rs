//! Price feeds: where the paper venue (and replays) get "the current price" of a symbol.
//!
//! A feed is a pure function of `(symbol, time)`: asking twice for the same instant gives the
//! same answer, whatever was asked in between. That keeps paper runs reproducible from a seed or
//! a recorded file plus an injected clock.
//!
//! - [`RandomWalkFeed`]: a seeded, driftless log-price random walk.
//! - [`RecordedFeed`]: replays kline CSV files ([`KlineSeries`]).
//!
//! - [`live::LivePriceFeed`]: a real venue's public prices, refreshed in the background (the
//!   only feed that does I/O at run time).

mod klines;
pub mod live;
mod random_walk;
mod recorded;

use std::fmt::Debug;
use std::path::PathBuf;

use tradeengine_model::{Price, Symbol, Timestamp};

pub use klines::KlineSeries;
pub use random_walk::{RandomWalkConfig, RandomWalkFeed, WalkSymbol};
pub use recorded::{RecordedFeed, ReplayOptions};

/// A source of prices by symbol and time.
///
/// Synchronous on purpose: every implementation so far answers from memory. `None` means the
/// feed has no price for that symbol at that time (unknown symbol, before the series starts,
/// after a non-looping replay ends).
pub trait PriceFeed: Send + Sync + Debug {
    /// The price of `symbol` at `at`.
    fn price(&self, symbol: &Symbol, at: Timestamp) -> Option<Price>;

    /// The symbols this feed can price, in order.
    fn symbols(&self) -> Vec<Symbol>;
}

/// Why a feed could not be built. Each variant names the file, line or setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{source_name} line {line}: {reason}")]
    BadLine {
        source_name: String,
        line: usize,
        reason: String,
    },
    #[error("{source_name}: {reason}")]
    BadSeries { source_name: String, reason: String },
    #[error("feed setting {field} = {value} is invalid: {rule}")]
    BadSetting {
        field: String,
        value: String,
        rule: &'static str,
    },
}
