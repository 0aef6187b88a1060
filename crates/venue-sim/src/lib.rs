//! Local simulators of Bybit v5 (linear) and Binance USDⓈ-M futures, speaking each venue's real
//! REST paths, parameters, envelopes, signatures and error codes, and its private stream — so the
//! adapters in `tradeengine-venues` can be proven without a network.
//!
//! A simulator verifies signatures, timestamps and receive windows and refuses bad ones with the
//! venue's own codes; keeps instruments, the USDT balance, one-way positions, leverage and margin
//! mode ([`book`]); fills market orders at the price the test sets, rests limit orders, enforces
//! reduce-only, minimum quantity and notional and client-id uniqueness; and pushes order and
//! position events on its private stream. Faults are scripted per test ([`Fault`]): latency, 5xx,
//! rate limits with the venue's headers, a timeout or a 5xx after the order was accepted, dropped
//! connections, partial fills, clock skew.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tradeengine_venue_sim::SimError> {
//! use tradeengine_venue_sim::{serve, SimOptions, VenueId};
//! let sim = serve(VenueId::Bybit, "127.0.0.1:0".parse().unwrap_or_else(|_| unreachable!()), SimOptions::new(VenueId::Bybit)).await?;
//! println!("Bybit simulator on {}", sim.base_url());
//! # Ok(()) }
//! ```

// Handlers return a ready `Response` as their early-exit error: it is what the client gets, and
// the simulator is a test tool, not a hot path.
#![allow(clippy::result_large_err)]
// The documented reply rows are long `json!` literals.
#![recursion_limit = "256"]

pub mod auth;
pub mod binance;
pub mod blofin;
pub mod book;
pub mod bybit;
pub mod control;
mod form;
pub mod hyperliquid;
pub mod instruments;
pub mod klines;
pub mod kucoin;
pub mod mexc;
pub mod options;
pub mod profile;
pub mod recording;
pub mod rehearse;
mod server;
pub mod shape;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use rust_decimal::Decimal;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

pub use book::{Exchange, SimEvent, SimOrder, SimStatus};
pub use control::{Counters, Fault, Faults};
pub use instruments::{
    SimInstrument, binance_instruments, blofin_instruments, bybit_instruments, kucoin_instruments,
    mexc_instruments,
};
pub use options::{SimOptions, SimVenue};
pub use profile::{VenueProfile, profile};
pub use rehearse::FaultSpec;
pub use tradeengine_model::VenueId;

/// Why a simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// State shared by the server tasks and the test's handle.
#[derive(Debug)]
pub struct Shared {
    pub venue: VenueId,
    pub options: SimOptions,
    exchange: Mutex<Exchange>,
    pub faults: Faults,
    pub counters: Counters,
    /// Every request received (see [`recording`]).
    pub requests: recording::RequestLog,
    pub events: broadcast::Sender<SimEvent>,
    /// Binance listen keys handed out.
    pub(crate) listen_keys: Mutex<BTreeSet<String>>,
    /// Bybit order requests in the last second, for the per-UID limit.
    pub(crate) order_times: Mutex<VecDeque<i64>>,
    /// Orders placed through a batch endpoint in the last window, for venues whose batch
    /// endpoint has its own per-order budget (Bybit).
    pub(crate) batch_order_times: Mutex<VecDeque<i64>>,
    /// Binance request weight used in the current minute: (minute, weight).
    pub(crate) weight: Mutex<(i64, u64)>,
    /// Hyperliquid signers' nonces and the scheduled cancel.
    pub(crate) hyperliquid: Mutex<hyperliquid::HlState>,
}

impl Shared {
    /// The venue's clock: ours plus the injected skew, epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis() + self.faults.clock_skew_ms()
    }

    pub fn exchange(&self) -> MutexGuard<'_, Exchange> {
        self.exchange.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running simulator. Dropping it stops the server.
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl SimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`: the REST base URL (the private stream is on the same host).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn venue(&self) -> VenueId {
        self.shared.venue
    }

    /// Where this simulator takes orders, positions and time reads ([`profile()`]).
    pub fn profile(&self) -> VenueProfile {
        profile::profile(self.shared.venue)
    }

    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// The next limit order fills at once, in full, at its limit price however far from the
    /// mark (see `Exchange::fill_limit_next`).
    pub fn fill_next_limit_order(&self) {
        self.shared.exchange().fill_limit_next = true;
    }

    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    /// Every request received so far (method, path, authenticated).
    pub fn requests(&self) -> &recording::RequestLog {
        &self.shared.requests
    }

    pub fn options(&self) -> &SimOptions {
        &self.shared.options
    }

    /// Moves a price (fills resting limit orders it crosses).
    pub fn set_price(&self, symbol: &str, price: Decimal) {
        let now = self.shared.now_ms();
        self.shared.exchange().set_price(symbol, price, now);
    }

    pub fn price(&self, symbol: &str) -> Option<Decimal> {
        self.shared.exchange().price(symbol)
    }

    /// Records a point of `symbol`'s price path at `t_ms` (past or present) with `qty` traded,
    /// for the kline endpoints, without moving the current price or filling orders: history
    /// for a strategy's warm-up without waiting for it.
    pub fn record_price_at(&self, symbol: &str, t_ms: i64, price: Decimal, qty: Decimal) {
        self.shared
            .exchange()
            .history_mut()
            .record(symbol, t_ms, price, qty);
    }

    /// Signed position size in base units (0 when flat).
    pub fn position(&self, symbol: &str) -> Decimal {
        self.shared.exchange().position(symbol).size
    }

    /// Every non-flat position.
    pub fn positions(&self) -> BTreeMap<String, Decimal> {
        self.shared
            .exchange()
            .positions()
            .iter()
            .filter(|(_, p)| !p.size.is_zero())
            .map(|(s, p)| (s.clone(), p.size))
            .collect()
    }

    pub fn leverage(&self, symbol: &str) -> Decimal {
        self.shared.exchange().leverage(symbol)
    }

    pub fn equity(&self) -> Decimal {
        self.shared.exchange().equity()
    }

    pub fn wallet(&self) -> Decimal {
        self.shared.exchange().wallet()
    }

    /// Every client order id ever submitted, with how many create requests carried it.
    pub fn client_id_submissions(&self) -> BTreeMap<String, u32> {
        self.shared.exchange().submissions().clone()
    }

    /// Every order the venue accepted, in order.
    pub fn orders(&self) -> Vec<SimOrder> {
        self.shared.exchange().orders().to_vec()
    }

    pub fn set_hedge_mode(&self, on: bool) {
        self.shared.exchange().hedge_mode = on;
    }

    /// What a person needs to point an account at this simulator: URLs, the test keys it
    /// accepts and its symbols (for `tradeengine venue-sim`).
    pub fn banner(&self) -> String {
        let o = &self.shared.options;
        let stream = match self.shared.venue {
            VenueId::Bybit => format!("ws://{}/v5/private", self.addr),
            VenueId::Binance => format!("ws://{}/ws/<listenKey>", self.addr),
            VenueId::Blofin => format!("ws://{}/ws/private", self.addr),
            VenueId::Kucoin => format!("ws://{}/kucoin-ws?token=<bullet-private>", self.addr),
            VenueId::Mexc => format!("ws://{}/edge", self.addr),
            VenueId::Hyperliquid => format!("ws://{}/ws", self.addr),
        };
        let symbols = symbol_list(&o.instruments);
        format!(
            "{} simulator\n  REST:    {}\n  stream:  {stream}\n  api key: {}\n  secret:  {} (test keys only)\n  passphrase: {}\n  balance: {} USDT\n  latency: {} ms per request\n  symbols: {}",
            self.shared.venue.as_str(),
            self.base_url(),
            o.api_key,
            o.api_secret,
            o.passphrase,
            o.balance,
            o.latency.as_millis(),
            symbols
        )
    }

    /// Stops the server and closes its connections.
    pub fn shutdown(self) {
        self.shutdown.cancel();
    }
}

/// The banner's symbol list: all of them when few, else the first ones and the count (a
/// simulator started with `--instruments 500` must not print 500 names).
fn symbol_list(instruments: &[SimInstrument]) -> String {
    const SHOWN: usize = 8;
    let names: Vec<&str> = instruments
        .iter()
        .take(SHOWN)
        .map(|i| i.symbol.as_str())
        .collect();
    match instruments.len() {
        n if n <= SHOWN => names.join(", "),
        n => format!(
            "{}, … {} ({n} in all)",
            names.join(", "),
            instruments
                .last()
                .map(|i| i.symbol.as_str())
                .unwrap_or_default()
        ),
    }
}

/// Starts a simulator of `venue` on `addr` (port 0 picks a free port).
pub async fn serve(
    venue: VenueId,
    addr: SocketAddr,
    options: SimOptions,
) -> Result<SimHandle, SimError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| SimError::Bind { addr, source })?;
    let (events, _) = broadcast::channel(4096);
    let shared = Arc::new(Shared {
        venue,
        exchange: Mutex::new(Exchange::new(&options, events.clone())),
        options,
        faults: Faults::default(),
        counters: Counters::default(),
        requests: recording::RequestLog::default(),
        events,
        listen_keys: Mutex::new(BTreeSet::new()),
        order_times: Mutex::new(VecDeque::new()),
        batch_order_times: Mutex::new(VecDeque::new()),
        weight: Mutex::new((0, 0)),
        hyperliquid: Mutex::new(hyperliquid::HlState::default()),
    });
    let router = match venue {
        VenueId::Bybit => bybit::router(shared.clone()),
        VenueId::Binance => binance::router(shared.clone()),
        VenueId::Blofin => blofin::router(shared.clone()),
        VenueId::Kucoin => kucoin::router(shared.clone()),
        VenueId::Mexc => mexc::router(shared.clone()),
        VenueId::Hyperliquid => hyperliquid::router(shared.clone()),
    }
    .merge(rehearse::router(shared.clone()));
    let shutdown = CancellationToken::new();
    tokio::spawn(server::accept_loop(
        listener,
        router,
        shared.clone(),
        shutdown.clone(),
    ));
    Ok(SimHandle {
        addr: bound,
        shared,
        shutdown,
    })
}
