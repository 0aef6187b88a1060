//! Helpers shared by the integration tests: a feed the test sets by hand, order builders and
//! venue constructors.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::TimeZone;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tradeengine_model::{
    ClientOrderId, ManualClock, OrderKind, OrderRequest, Price, Side, Symbol, Timestamp,
};
use tradeengine_venues::feed::{RecordedFeed, ReplayOptions};
use tradeengine_venues::paper::{JsonFileStore, MemoryStore, PaperConfig, PaperError, PaperVenue};
use tradeengine_venues::{PriceFeed, VenueError};

/// A feed whose prices the test sets, so fills land on worked numbers.
#[derive(Debug, Default)]
pub struct SetFeed(Mutex<BTreeMap<Symbol, Price>>);

impl SetFeed {
    pub fn set(&self, symbol: &str, price: Decimal) {
        self.0
            .lock()
            .unwrap()
            .insert(sym(symbol), Price::new(price).unwrap());
    }
}

impl PriceFeed for SetFeed {
    fn price(&self, symbol: &Symbol, _at: Timestamp) -> Option<Price> {
        self.0.lock().unwrap().get(symbol).copied()
    }

    fn symbols(&self) -> Vec<Symbol> {
        self.0.lock().unwrap().keys().cloned().collect()
    }
}

pub fn sym(s: &str) -> Symbol {
    Symbol::new(s).unwrap()
}

pub fn t0() -> Timestamp {
    chrono::Utc
        .with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
        .single()
        .unwrap()
}

pub fn cid(s: &str) -> ClientOrderId {
    ClientOrderId::new(s).unwrap()
}

pub fn market(id: &str, symbol: &str, side: Side, qty: Decimal) -> OrderRequest {
    OrderRequest {
        client_order_id: cid(id),
        symbol: sym(symbol),
        side,
        qty,
        kind: OrderKind::Market,
        reduce_only: false,
    }
}

pub fn reduce_only(mut o: OrderRequest) -> OrderRequest {
    o.reduce_only = true;
    o
}

pub fn limit(id: &str, symbol: &str, side: Side, qty: Decimal, price: Decimal) -> OrderRequest {
    OrderRequest {
        kind: OrderKind::Limit {
            price: Price::new(price).unwrap(),
        },
        ..market(id, symbol, side, qty)
    }
}

/// A venue on a settable feed, a manual clock and an in-memory store.
pub struct Rig {
    pub venue: PaperVenue,
    pub feed: Arc<SetFeed>,
    pub clock: Arc<ManualClock>,
    pub store: MemoryStore,
}

pub fn rig(config: PaperConfig) -> Rig {
    let feed = Arc::new(SetFeed::default());
    let clock = Arc::new(ManualClock::new(t0()));
    let store = MemoryStore::new();
    let venue =
        PaperVenue::open(config, feed.clone(), clock.clone(), Box::new(store.clone())).unwrap();
    Rig {
        venue,
        feed,
        clock,
        store,
    }
}

/// No slippage and a round 0.05 % fee, so worked examples stay readable.
pub fn plain_config() -> PaperConfig {
    PaperConfig {
        taker_fee_rate: Decimal::new(5, 4),
        maker_fee_rate: Decimal::new(2, 4),
        slippage_bps: Decimal::ZERO,
        ..PaperConfig::default()
    }
}

pub fn code(r: Result<impl std::fmt::Debug, VenueError>) -> String {
    r.unwrap_err().code.unwrap_or_default()
}

/// The real candles in testdata/, replayed from `t0()` as a BTC-like price (×3e7).
pub fn recorded_feed() -> Arc<RecordedFeed> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/candles-1m-real-head2000.csv"
    );
    let options = ReplayOptions {
        start_at: Some(t0()),
        looping: true,
        rescale: dec!(30000000),
        tick: Some(dec!(0.1)),
    };
    Arc::new(
        RecordedFeed::new()
            .with_csv(sym("BTCUSDT"), path, options)
            .unwrap(),
    )
}

/// A paper venue on the state file at `path`, on the recorded feed.
pub fn open_on_file(path: &Path, clock: Arc<ManualClock>) -> Result<PaperVenue, PaperError> {
    let store = JsonFileStore::open(path)?;
    PaperVenue::open(
        PaperConfig::default(),
        recorded_feed(),
        clock,
        Box::new(store),
    )
}
