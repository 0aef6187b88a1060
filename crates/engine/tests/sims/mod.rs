//! A rig for running the engine's account worker against a venue simulator: the simulator, an
//! adapter connected to it, a SQLite store, signal intake and one worker whose cycles the test
//! drives. Built from the same public pieces `RunningEngine::start` wires, so each cycle is the
//! production cycle; the test decides when it runs.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rust_decimal::Decimal;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::plan_ids::PlanIds;
use tradeengine_engine::worker::AccountWorker;
use tradeengine_engine::worker::cycle::CycleReport;
use tradeengine_engine::{SharedState, SignalIntake};
use tradeengine_model::{
    AccountName, Intent, Signal, SignalId, SourceId, Symbol, SystemClock, TargetIntent,
};
use tradeengine_store::Store;
use tradeengine_venue_sim::{SimHandle, SimOptions, VenueId, serve};
use tradeengine_venues::{AdapterConfig, Credentials, Venue};

pub const ACCOUNT: &str = "sim";
pub const SOURCE: &str = "tests";

pub struct Rig {
    pub sim: SimHandle,
    pub venue: Arc<dyn Venue>,
    pub worker: AccountWorker,
    pub intake: SignalIntake,
    pub state: SharedState,
    pub store: Arc<dyn Store>,
    pub symbols: Vec<String>,
    seq: AtomicU64,
    _dir: tempfile::TempDir,
}

/// The engine configuration for one account on `venue` at `base_url`, trading `symbols` at
/// `leverage`, all weighted 1.0 on one `rest` source.
pub fn config_toml(
    venue: VenueId,
    base_url: &str,
    data_dir: &str,
    symbols: &[String],
    leverage: u32,
) -> String {
    let mut toml = format!(
        r#"
[engine]
mode = "testnet"
drift_check_interval_secs = 3600
data_dir = "{data_dir}"
hot_reload = false
[[accounts]]
name = "{ACCOUNT}"
venue = "{venue}"
mode = "testnet"
base_url = "{base_url}"
credentials = "env:TE_TEST_UNUSED"
max_concurrent_requests = 64
[sources.{SOURCE}]
type = "rest"
[risk]
max_leverage = 10
max_depth = 1
"#,
        venue = venue.as_str()
    );
    for s in symbols {
        toml.push_str(&format!(
            "[[symbols]]\nsymbol = \"{s}\"\nleverage = {leverage}\nweights = {{ {SOURCE} = 1.0 }}\n"
        ));
    }
    toml
}

pub fn adapter_config(sim: &SimHandle, timeout: Duration) -> AdapterConfig {
    let o = sim.options();
    AdapterConfig {
        base_url: sim.base_url(),
        stream: tradeengine_venues::StreamSetting::Auto,
        credentials: Some(
            Credentials::new(&o.api_key, &o.api_secret).with_passphrase(&o.passphrase),
        ),
        recv_window_ms: 5000,
        request_timeout: timeout,
        clock: Arc::new(SystemClock),
        hyperliquid: Default::default(),
    }
}

impl Rig {
    pub async fn start(
        venue: VenueId,
        options: SimOptions,
        symbols: &[&str],
        leverage: u32,
    ) -> Self {
        Self::start_with_timeout(
            venue,
            options,
            symbols,
            leverage,
            Duration::from_millis(800),
        )
        .await
    }

    pub async fn start_with_timeout(
        venue: VenueId,
        options: SimOptions,
        symbols: &[&str],
        leverage: u32,
        timeout: Duration,
    ) -> Self {
        let sim = serve(venue, "127.0.0.1:0".parse().unwrap(), options)
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let symbols: Vec<String> = symbols.iter().map(|s| s.to_string()).collect();
        let text = config_toml(
            venue,
            &sim.base_url(),
            &dir.path().display().to_string(),
            &symbols,
            leverage,
        );
        let config = load_str(&text, None, &[], &Overrides::default()).unwrap();
        let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
        let clock: Arc<dyn tradeengine_model::Clock> = Arc::new(SystemClock);
        let state = SharedState::new(config);
        let plan_ids = Arc::new(PlanIds::start(&*store).await.unwrap());
        let intake = SignalIntake::new(state.clone(), store.clone(), clock.clone());
        let venue_impl = tradeengine_venues::connect(venue, adapter_config(&sim, timeout))
            .await
            .unwrap();
        let worker = AccountWorker::new(
            AccountName::new(ACCOUNT).unwrap(),
            venue_impl.clone(),
            store.clone(),
            clock,
            state.clone(),
            plan_ids,
        );
        Self {
            sim,
            venue: venue_impl,
            worker,
            intake,
            state,
            store,
            symbols,
            seq: AtomicU64::new(0),
            _dir: dir,
        }
    }

    /// Sets the source's depth in `symbol` (a signed fraction of account value).
    pub async fn target(&self, symbol: &str, depth: Decimal) {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let now = chrono::Utc::now();
        let key = format!("sig-{n}");
        let signal = Signal {
            id: SignalId::new(&key).unwrap(),
            source: SourceId::new(SOURCE).unwrap(),
            symbol: Symbol::new(symbol).unwrap(),
            intent: Intent::Target(TargetIntent {
                depth,
                leverage: None,
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

    /// A cycle that may fail (the venue could not be read).
    pub async fn try_cycle(&mut self) -> Result<CycleReport, String> {
        self.worker.cycle().await.map_err(|e| e.to_string())
    }

    /// Replaces the configuration (as a hot reload would).
    pub fn reconfigure(&self, leverage: u32) {
        let current = self.state.config();
        let data_dir = current.engine.data_dir.display().to_string();
        let venue = VenueId::parse(current.accounts[0].venue.as_str()).unwrap();
        let text = config_toml(
            venue,
            &self.sim.base_url(),
            &data_dir,
            &self.symbols,
            leverage,
        );
        self.state
            .set_config(load_str(&text, None, &[], &Overrides::default()).unwrap());
    }

    /// Order-entry path of this venue (for faults and counters).
    pub fn order_path(&self) -> &'static str {
        self.sim.profile().order_entry
    }

    /// Drops the private streams once they are up: a drop sent before the first connection
    /// reaches nothing, and no reconnect follows (seen under load).
    #[allow(dead_code)] // not every test binary that includes this module uses it
    pub async fn drop_streams_once_connected(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.sim.counters().stream_connections() < 1 {
            assert!(
                std::time::Instant::now() < deadline,
                "the private stream never connected"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        self.sim.faults().drop_streams();
    }

    /// Where order-entry faults go (on Binance the order path's POST only, so a fault is not
    /// spent on the engine's look-up by client id, a GET on the same path).
    pub fn order_fault_path(&self) -> &'static str {
        self.sim.profile().order_fault
    }

    pub fn positions_path(&self) -> &'static str {
        self.sim.profile().positions
    }

    /// The venue's batch order entry path (the engine sends a cycle's first legs in batches);
    /// `None` where batches share the single-order path (Hyperliquid's `/exchange`).
    pub fn batch_order_path(&self) -> Option<&'static str> {
        match self.sim.venue() {
            VenueId::Bybit => Some("/v5/order/create-batch"),
            VenueId::Binance => Some("/fapi/v1/batchOrders"),
            VenueId::Blofin => Some("/api/v1/trade/batch-orders"),
            VenueId::Kucoin => Some("/api/v1/orders/multi"),
            VenueId::Mexc => Some("/api/v1/private/order/submit_batch"),
            VenueId::Hyperliquid => None,
        }
    }

    /// Order entry requests the venue received so far, single and batch.
    pub fn order_requests(&self) -> u64 {
        let counters = self.sim.counters();
        counters.get("POST", self.order_path())
            + self
                .batch_order_path()
                .map_or(0, |p| counters.get("POST", p))
    }

    /// The engine's latest target per symbol, base units.
    pub async fn targets(&self) -> BTreeMap<Symbol, Decimal> {
        let name = AccountName::new(ACCOUNT).unwrap();
        self.state
            .account_view(&name)
            .await
            .map(|v| v.targets.clone())
            .unwrap_or_default()
    }

    /// The order-path invariants (ARCHITECTURE.md) after a cycle: no client id accepted twice at
    /// the venue, no order left unsettled in the store, and every symbol's position at its target —
    /// equal, or inside the drift band the engine leaves alone (`max(0.1 % of |target|, one
    /// step)`).
    pub async fn assert_converged(&self) {
        let mut seen = std::collections::BTreeSet::new();
        for o in self.sim.orders() {
            assert!(
                seen.insert(o.client_id.clone()),
                "client id {} accepted twice",
                o.client_id
            );
        }
        let name = AccountName::new(ACCOUNT).unwrap();
        let unsettled = self.store.unsettled_orders(&name).await.unwrap();
        assert!(unsettled.is_empty(), "unsettled orders: {unsettled:?}");
        let targets = self.targets().await;
        assert!(!targets.is_empty(), "no targets decided");
        let band = self.state.config().engine.drift_band;
        for (symbol, target) in targets {
            let step = self
                .sim
                .options()
                .instruments
                .iter()
                .find(|i| i.symbol == symbol.as_str())
                .map(|i| i.qty_step)
                .unwrap();
            let position = self.sim.position(symbol.as_str());
            let off = (position - target).abs();
            assert!(
                off <= (band * target.abs()).max(step),
                "{symbol}: position {position} vs target {target}"
            );
        }
    }
}
