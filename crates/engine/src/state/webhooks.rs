//! The memory of one TradingView webhook source, kept in the shared state so the HTTP server
//! finds it by name: its settings, its symbol mapping, the duplicate window, the alerts in flight
//! and the last alert applied per symbol. What happens to an alert is
//! [`crate::sources::tradingview`]'s.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::Duration;
use tokio::sync::watch;
use tradeengine_model::{Symbol, Timestamp};
use tradeengine_signals::SymbolMap;
use tradeengine_signals::tradingview::{Dedup, PriorState, Sequenced, TvConfig};

/// The last alert applied per symbol, for the ordering rules.
#[derive(Debug, Clone)]
pub(crate) struct Applied {
    pub(crate) alert: Sequenced,
    /// When its sender says it sent it (`timenow`), if it says.
    pub(crate) emitted_at: Option<Timestamp>,
    /// The sleeve's state before that alert.
    pub(crate) prior: PriorState,
    /// The latest send time of any timed alert applied for the symbol (each taken no later
    /// than its arrival): an untimed alert applied after a timed one must not let an alert sent
    /// before the timed one through.
    pub(crate) newest_sent: Option<Timestamp>,
}

/// One configured TradingView source.
#[derive(Debug)]
pub struct TvEndpoint {
    pub config: TvConfig,
    pub mapping: SymbolMap,
    pub(crate) dedup: Mutex<Dedup>,
    /// Dedup keys of alerts being stored now; a waiter learns when the holder finished.
    pub(crate) in_flight: Mutex<HashMap<String, watch::Receiver<()>>>,
    pub(crate) last: Mutex<BTreeMap<Symbol, Applied>>,
}

impl TvEndpoint {
    /// A fresh endpoint: empty duplicate windows (the same `event_id` within 24 hours, the same
    /// body within a minute, each bounded to 100 000 keys), nothing in flight or applied yet.
    pub(crate) fn new(config: TvConfig, mapping: SymbolMap) -> Self {
        Self {
            config,
            mapping,
            dedup: Mutex::new(Dedup::new(
                Duration::hours(24),
                Duration::seconds(60),
                100_000,
            )),
            in_flight: Mutex::new(HashMap::new()),
            last: Mutex::new(BTreeMap::new()),
        }
    }
}
