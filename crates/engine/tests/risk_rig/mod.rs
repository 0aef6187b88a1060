//! A rig for risk tests: one paper account whose prices the test sets (a manual feed) and whose
//! clock the test moves, with the engine's own account worker running the cycles the test asks
//! for. The venue is wrapped so a test can make the cycle's price read return a bad tick.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::TimeZone;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::plan_ids::PlanIds;
use tradeengine_engine::worker::AccountWorker;
use tradeengine_engine::worker::cycle::CycleReport;
use tradeengine_engine::{SharedState, SignalIntake};
use tradeengine_model::{
    AccountName, ClientOrderId, Clock, Instrument, Intent, ManualClock, MarginMode, OrderKind,
    OrderRequest, OrderStatus, Position, Price, Side, Signal, SignalId, SourceId, Symbol,
    TargetIntent,
};
use tradeengine_store::{AuditKind, Store};
use tradeengine_venues::paper::MemoryStore;
use tradeengine_venues::{PaperConfig, PaperVenue, PriceFeed, Venue, VenueError};

pub const ACCOUNT: &str = "paper";

/// Prices the test sets; time plays no part.
#[derive(Debug, Default)]
pub struct ManualFeed(Mutex<BTreeMap<Symbol, Price>>);

impl ManualFeed {
    pub fn set(&self, symbol: &str, price: Decimal) {
        self.0
            .lock()
            .unwrap()
            .insert(Symbol::new(symbol).unwrap(), Price::new(price).unwrap());
    }
}

impl PriceFeed for ManualFeed {
    fn price(&self, symbol: &Symbol, _at: tradeengine_model::Timestamp) -> Option<Price> {
        self.0.lock().unwrap().get(symbol).copied()
    }

    fn symbols(&self) -> Vec<Symbol> {
        self.0.lock().unwrap().keys().cloned().collect()
    }
}

/// The paper venue, whose next `prices` answer can be a bad tick (+20 %).
#[derive(Debug)]
pub struct TickVenue {
    pub inner: Arc<PaperVenue>,
    pub bad_tick: AtomicBool,
}

#[async_trait]
impl Venue for TickVenue {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    async fn account_value(&self) -> Result<Decimal, VenueError> {
        self.inner.account_value().await
    }
    async fn positions(&self) -> Result<Vec<Position>, VenueError> {
        self.inner.positions().await
    }
    async fn instruments(&self, symbols: &[Symbol]) -> Result<Vec<Instrument>, VenueError> {
        self.inner.instruments(symbols).await
    }
    async fn prices(&self, symbols: &[Symbol]) -> Result<BTreeMap<Symbol, Price>, VenueError> {
        let mut prices = self.inner.prices(symbols).await?;
        if self.bad_tick.swap(false, Ordering::SeqCst) {
            for p in prices.values_mut() {
                *p = Price::new(p.get() * dec!(1.2)).unwrap();
            }
        }
        Ok(prices)
    }
    async fn set_leverage(&self, symbol: &Symbol, leverage: Decimal) -> Result<(), VenueError> {
        self.inner.set_leverage(symbol, leverage).await
    }
    async fn set_margin_mode(&self, symbol: &Symbol, mode: MarginMode) -> Result<(), VenueError> {
        self.inner.set_margin_mode(symbol, mode).await
    }
    async fn place_order(&self, order: &OrderRequest) -> Result<OrderStatus, VenueError> {
        self.inner.place_order(order).await
    }
    async fn cancel_order(
        &self,
        symbol: &Symbol,
        id: &ClientOrderId,
    ) -> Result<OrderStatus, VenueError> {
        self.inner.cancel_order(symbol, id).await
    }
    async fn order_by_client_id(
        &self,
        symbol: &Symbol,
        id: &ClientOrderId,
    ) -> Result<Option<OrderStatus>, VenueError> {
        self.inner.order_by_client_id(symbol, id).await
    }
    async fn open_orders(&self, symbol: Option<&Symbol>) -> Result<Vec<OrderStatus>, VenueError> {
        self.inner.open_orders(symbol).await
    }
}

pub struct Rig {
    pub feed: Arc<ManualFeed>,
    pub venue: Arc<TickVenue>,
    pub clock: Arc<ManualClock>,
    pub worker: AccountWorker,
    pub intake: SignalIntake,
    pub state: SharedState,
    pub store: Arc<dyn Store>,
    seq: AtomicU64,
    _dir: tempfile::TempDir,
}

/// What a test varies in the configuration.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The `[risk]` table body.
    pub risk: String,
    /// Added to every `[[symbols]]` entry.
    pub symbol_extra: String,
    /// Added after the `[[accounts]]` entry (e.g. an `[accounts.risk]` table).
    pub account_extra: String,
    /// The configured symbols.
    pub symbols: Vec<&'static str>,
}

impl Setup {
    pub fn risk(risk: &str) -> Self {
        Self {
            risk: risk.to_string(),
            symbol_extra: String::new(),
            account_extra: String::new(),
            symbols: vec!["BTCUSDT", "ETHUSDT", "SOLUSDT"],
        }
    }
}

/// The symbols at leverage 1, each weighted 1.0 on source `tests`.
pub fn config_text(data_dir: &str, setup: &Setup) -> String {
    let Setup {
        risk,
        symbol_extra,
        account_extra,
        symbols,
    } = setup;
    let mut t = format!(
        r#"
[engine]
drift_check_interval_secs = 3600
data_dir = "{data_dir}"
hot_reload = false
[[accounts]]
name = "{ACCOUNT}"
venue = "paper"
{account_extra}
[sources.tests]
type = "rest"
[risk]
{risk}
"#
    );
    for s in symbols {
        t.push_str(&format!(
            "[[symbols]]\nsymbol = \"{s}\"\nleverage = 1\nweights = {{ tests = 1.0 }}\n{symbol_extra}\n"
        ));
    }
    t
}

impl Rig {
    /// Equity 10 000 USDT, no fees or slippage; BTC 60 000, ETH 3 000, SOL 150.
    pub async fn start(risk: &str) -> Self {
        Self::start_with(&Setup::risk(risk)).await
    }

    pub async fn start_with(setup: &Setup) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let text = config_text(&dir.path().display().to_string(), setup);
        let config = load_str(&text, None, &[], &Overrides::default()).unwrap();
        let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
        let clock = Arc::new(ManualClock::new(
            chrono::Utc.with_ymd_and_hms(2025, 6, 4, 12, 0, 0).unwrap(),
        ));
        let feed = Arc::new(ManualFeed::default());
        feed.set("BTCUSDT", dec!(60000));
        feed.set("ETHUSDT", dec!(3000));
        feed.set("SOLUSDT", dec!(150));
        let paper = PaperVenue::open(
            PaperConfig {
                starting_balance: dec!(10000),
                taker_fee_rate: Decimal::ZERO,
                slippage_bps: Decimal::ZERO,
                max_leverage: dec!(50),
                ..PaperConfig::default()
            },
            feed.clone(),
            clock.clone(),
            Box::new(MemoryStore::new()),
        )
        .unwrap();
        let venue = Arc::new(TickVenue {
            inner: Arc::new(paper),
            bad_tick: AtomicBool::new(false),
        });
        let state = SharedState::new(config);
        let intake = SignalIntake::new(state.clone(), store.clone(), clock.clone());
        let worker = Self::worker(&venue, &store, &clock, &state).await;
        Self {
            feed,
            venue,
            clock,
            worker,
            intake,
            state,
            store,
            seq: AtomicU64::new(0),
            _dir: dir,
        }
    }

    async fn worker(
        venue: &Arc<TickVenue>,
        store: &Arc<dyn Store>,
        clock: &Arc<ManualClock>,
        state: &SharedState,
    ) -> AccountWorker {
        AccountWorker::new(
            AccountName::new(ACCOUNT).unwrap(),
            venue.clone(),
            store.clone(),
            clock.clone(),
            state.clone(),
            Arc::new(PlanIds::start(&**store).await.unwrap()),
        )
    }

    /// A new worker on the same store and venue, as after a restart of the process.
    pub async fn restart(&mut self) {
        self.worker = Self::worker(&self.venue, &self.store, &self.clock, &self.state).await;
    }

    /// Replaces the configuration, as a hot reload would.
    pub fn reconfigure(&self, setup: &Setup) {
        let dir = self.state.config().engine.data_dir.display().to_string();
        let config = load_str(&config_text(&dir, setup), None, &[], &Overrides::default()).unwrap();
        self.state.set_config(config);
    }

    pub fn data_dir(&self) -> std::path::PathBuf {
        self.state.config().engine.data_dir.clone()
    }

    /// The account's portfolio state as the API shows it.
    pub async fn risk_state(&self) -> Option<tradeengine_core::risk::PortfolioState> {
        self.state
            .account_view(&Self::account())
            .await
            .and_then(|v| v.risk.as_ref().map(|r| r.state))
    }

    pub fn account() -> AccountName {
        AccountName::new(ACCOUNT).unwrap()
    }

    /// The source's target in `symbol`: depth (fraction of equity) and optionally leverage.
    pub async fn target(&self, symbol: &str, depth: Decimal, leverage: Option<Decimal>) {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let now = self.clock.now();
        let key = format!("sig-{n}");
        let signal = Signal {
            id: SignalId::new(&key).unwrap(),
            source: SourceId::new("tests").unwrap(),
            symbol: Symbol::new(symbol).unwrap(),
            intent: Intent::Target(TargetIntent {
                depth,
                leverage,
                reference_price: None,
            }),
            emitted_at: Some(now),
            received_at: now,
            idempotency_key: key,
            raw: serde_json::json!({"n": n}),
        };
        self.intake.submit(signal).await.unwrap();
    }

    pub async fn cycle(&mut self) -> CycleReport {
        self.worker.cycle().await.unwrap()
    }

    pub async fn position(&self, symbol: &str) -> Decimal {
        self.venue
            .positions()
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.symbol.as_str() == symbol)
            .map(|p| p.size.get())
            .unwrap_or_default()
    }

    /// An order placed by hand on the venue (a position the engine does not manage).
    pub async fn manual_order(&self, symbol: &str, side: Side, qty: Decimal) {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        self.venue
            .place_order(&OrderRequest {
                client_order_id: ClientOrderId::new(&format!("manual-{n}")).unwrap(),
                symbol: Symbol::new(symbol).unwrap(),
                side,
                qty,
                kind: OrderKind::Market,
                reduce_only: false,
            })
            .await
            .unwrap();
    }

    /// `(rule, symbol)` of every `risk_refused` audit event so far.
    pub async fn refusals(&self) -> Vec<(String, String)> {
        self.events(AuditKind::RiskRefused)
            .await
            .into_iter()
            .map(|e| {
                (
                    e.payload["rule"].as_str().unwrap_or_default().to_string(),
                    e.symbol.unwrap_or_default(),
                )
            })
            .collect()
    }

    pub async fn events(&self, kind: AuditKind) -> Vec<tradeengine_store::AuditEvent> {
        self.store
            .audit_events(0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == kind)
            .collect()
    }

    /// The error text of every `rejected` order in the store.
    pub async fn rejected_orders(&self) -> Vec<String> {
        let filter = tradeengine_store::OrderFilter {
            account: Some(Self::account()),
            state: Some(tradeengine_model::OrderState::Rejected),
            limit: Some(1000),
            ..Default::default()
        };
        self.store
            .orders(&filter)
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.error.unwrap_or_default())
            .collect()
    }
}
