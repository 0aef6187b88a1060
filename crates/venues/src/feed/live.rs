//! [`LivePriceFeed`]: prices from a real venue's public market data, so a paper account follows
//! the real market (`price_source = "bybit"`).
//!
//! [`PriceFeed`] is synchronous, so a background task asks the venue for every symbol's price
//! in one request each interval and the feed answers from that cache. Unlike the other feeds it
//! is not a function of time: it answers "the latest price", whatever `at` is asked. A price
//! not refreshed for [`LivePriceFeed::STALE_AFTER`] (the venue unreachable) is withheld rather
//! than served stale; the paper venue then refuses to fill, which is the safe failure.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};
use tradeengine_model::{Price, Symbol, Timestamp};

use super::PriceFeed;
use crate::{Venue, VenueError};

type Board = Arc<RwLock<BTreeMap<Symbol, (Price, Instant)>>>;

/// A price cache kept fresh by a background task; the task stops when the feed is dropped.
pub struct LivePriceFeed {
    venue: &'static str,
    symbols: Vec<Symbol>,
    board: Board,
    _stop: DropGuard,
}

impl std::fmt::Debug for LivePriceFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LivePriceFeed")
            .field("venue", &self.venue)
            .field("symbols", &self.symbols)
            .finish_non_exhaustive()
    }
}

impl LivePriceFeed {
    /// Prices older than this are not served.
    pub const STALE_AFTER: Duration = Duration::from_secs(30);

    /// Fetches once (failing if the venue cannot be read), then refreshes every `every`.
    pub async fn start(
        source: Arc<dyn Venue>,
        symbols: Vec<Symbol>,
        every: Duration,
    ) -> Result<Self, VenueError> {
        let board: Board = Arc::new(RwLock::new(BTreeMap::new()));
        refresh(&*source, &symbols, &board).await?;
        let stop = CancellationToken::new();
        let task_stop = stop.clone();
        let task_board = board.clone();
        let task_symbols = symbols.clone();
        let venue = source.kind();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = task_stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                if let Err(e) = refresh(&*source, &task_symbols, &task_board).await {
                    tracing::warn!(venue = source.kind(), error = %e, "live price refresh failed");
                }
            }
        });
        Ok(Self {
            venue,
            symbols,
            board,
            _stop: stop.drop_guard(),
        })
    }
}

async fn refresh(source: &dyn Venue, symbols: &[Symbol], board: &Board) -> Result<(), VenueError> {
    let prices = source.prices(symbols).await?;
    let now = Instant::now();
    let mut b = board.write().unwrap_or_else(|p| p.into_inner());
    for (s, p) in prices {
        b.insert(s, (p, now));
    }
    Ok(())
}

impl PriceFeed for LivePriceFeed {
    fn price(&self, symbol: &Symbol, _at: Timestamp) -> Option<Price> {
        let b = self.board.read().unwrap_or_else(|p| p.into_inner());
        let (price, at) = b.get(symbol)?;
        (at.elapsed() <= Self::STALE_AFTER).then_some(*price)
    }

    fn symbols(&self) -> Vec<Symbol> {
        self.symbols.clone()
    }
}
