//! The world of one scenario: two simulators (account `a` gets the faults, account `b` none),
//! one SQLite file, and the engine built on them the way `RunningEngine::start` builds it —
//! plan ids from a new boot number, sleeves restored from the store, an `EngineStarted` audit
//! event, one adapter and one worker per account. The test drives the workers' cycles itself.
//! `boot` is called again after a simulated crash: same file, same simulators, new everything
//! else.

use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::plan_ids::PlanIds;
use tradeengine_engine::worker::AccountWorker;
use tradeengine_engine::{SharedState, SignalIntake};
use tradeengine_model::{
    AccountName, Clock, Intent, Signal, SignalId, SourceId, Symbol, SystemClock, TargetIntent,
};
use tradeengine_store::{AuditKind, Store};
use tradeengine_venue_sim::{SimHandle, SimOptions, VenueId, serve};
use tradeengine_venues::{AdapterConfig, Credentials, Venue};

use super::crash::{CrashStore, CrashSwitch, CrashVenue};
use super::scenario::{Path, REQUEST_TIMEOUT, Scenario};
use super::storefault::StoreFaults;

pub const SOURCE: &str = "sim";

/// One engine process.
pub struct Engine {
    pub switch: Arc<CrashSwitch>,
    /// The store as the intake, account `b` and the checks see it (never faulted).
    pub store: Arc<dyn Store>,
    /// Failures armed on account `a`'s handle of the same store (its worker's calls only, so
    /// account `b` must still see nothing of the trouble).
    pub store_faults_a: Arc<StoreFaults>,
    pub state: SharedState,
    pub intake: SignalIntake,
    pub a: AccountWorker,
    pub b: AccountWorker,
}

pub struct World {
    pub sim_a: SimHandle,
    pub sim_b: SimHandle,
    pub symbols: Vec<&'static str>,
    dir: tempfile::TempDir,
    config_text: String,
    seq: u64,
    pub boots: u32,
}

/// Order-entry path of a venue (where order faults go).
pub fn order_path(venue: VenueId) -> &'static str {
    match venue {
        VenueId::Bybit => "/v5/order/create",
        VenueId::Binance => "/fapi/v1/order",
        VenueId::Blofin => "/api/v1/trade/order",
        VenueId::Kucoin => "/api/v1/orders",
        VenueId::Mexc => "/api/v1/private/order/submit",
        VenueId::Hyperliquid => "/exchange",
    }
}

/// Position-read path of a venue (where read timeouts go).
pub fn positions_path(venue: VenueId) -> &'static str {
    match venue {
        VenueId::Bybit => "/v5/position/list",
        VenueId::Binance => "/fapi/v3/positionRisk",
        VenueId::Blofin => "/api/v1/account/positions",
        VenueId::Kucoin => "/api/v1/positions",
        VenueId::Mexc => "/api/v1/private/position/open_positions",
        VenueId::Hyperliquid => "/info",
    }
}

pub fn fault_path(venue: VenueId, path: Path) -> &'static str {
    match path {
        // Binance looks orders up on the order-entry path: a fault meant for order entry
        // must not be spent on the engine's look-up by client id.
        Path::Order if venue == VenueId::Binance => "POST /fapi/v1/order",
        Path::Order => order_path(venue),
        Path::Positions => positions_path(venue),
        Path::Any => "*",
    }
}

fn account_toml(name: &str, sim: &SimHandle, concurrency: u32) -> String {
    format!(
        r#"
[[accounts]]
name = "{name}"
venue = "{venue}"
mode = "testnet"
base_url = "{url}"
credentials = "env:TE_TEST_UNUSED"
max_concurrent_requests = {concurrency}
"#,
        venue = sim.venue().as_str(),
        url = sim.base_url(),
    )
}

/// Test keys only: the simulator's own.
fn adapter_config(sim: &SimHandle) -> AdapterConfig {
    let o = sim.options();
    AdapterConfig {
        base_url: sim.base_url(),
        stream: tradeengine_venues::StreamSetting::Auto,
        credentials: Some(
            Credentials::new(&o.api_key, &o.api_secret).with_passphrase(&o.passphrase),
        ),
        recv_window_ms: 5000,
        request_timeout: REQUEST_TIMEOUT,
        clock: Arc::new(SystemClock),
        hyperliquid: Default::default(),
    }
}

/// A RAM-backed directory where there is one: SQLite's fsyncs cost nothing there, and a crash
/// of the test process (not the simulated one) loses nothing that matters.
fn scratch_dir() -> Result<tempfile::TempDir, String> {
    let shm = std::path::Path::new("/dev/shm");
    let made = if shm.is_dir() {
        tempfile::tempdir_in(shm).or_else(|_| tempfile::tempdir())
    } else {
        tempfile::tempdir()
    };
    made.map_err(|e| format!("temp dir: {e}"))
}

impl World {
    pub async fn new(sc: &Scenario) -> Result<Self, String> {
        let addr: std::net::SocketAddr = "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?;
        let mut options_a =
            SimOptions::new(sc.venue_a).with_latency(Duration::from_millis(sc.latency_ms));
        // The suite is about faults, not about Bybit's default 10 orders/s tier.
        options_a.order_rate_limit = 100;
        let mut options_b = SimOptions::new(sc.venue_b);
        options_b.order_rate_limit = 100;
        let sim_a = serve(sc.venue_a, addr, options_a)
            .await
            .map_err(|e| e.to_string())?;
        let sim_b = serve(sc.venue_b, addr, options_b)
            .await
            .map_err(|e| e.to_string())?;
        let dir = scratch_dir()?;
        let mut config_text = format!(
            r#"
[engine]
mode = "testnet"
drift_check_interval_secs = 3600
data_dir = "{data_dir}"
hot_reload = false
[sources.{SOURCE}]
type = "rest"
[risk]
max_leverage = 10
max_depth = 1
"#,
            data_dir = dir.path().display()
        );
        config_text.push_str(&account_toml("a", &sim_a, sc.concurrency));
        config_text.push_str(&account_toml("b", &sim_b, sc.concurrency));
        for (s, lev) in sc.symbols.iter().zip(&sc.leverage) {
            config_text.push_str(&format!(
                "[[symbols]]\nsymbol = \"{s}\"\nleverage = {lev}\nweights = {{ {SOURCE} = 1.0 }}\n"
            ));
        }
        Ok(Self {
            sim_a,
            sim_b,
            symbols: sc.symbols.clone(),
            dir,
            config_text,
            seq: 0,
            boots: 0,
        })
    }

    /// Starts (or restarts) the engine on this world's store file and simulators.
    pub async fn boot(&mut self) -> Result<Engine, String> {
        self.boots += 1;
        let switch = Arc::new(CrashSwitch::default());
        let raw = tradeengine_store::open_sqlite_in(self.dir.path())
            .await
            .map_err(|e| format!("boot {}: open store: {e}", self.boots))?;
        let store: Arc<dyn Store> = Arc::new(CrashStore {
            inner: raw.clone(),
            switch: switch.clone(),
            faults: Arc::new(StoreFaults::default()),
        });
        let store_faults_a = Arc::new(StoreFaults::default());
        let store_a: Arc<dyn Store> = Arc::new(CrashStore {
            inner: raw,
            switch: switch.clone(),
            faults: store_faults_a.clone(),
        });
        let config = load_str(&self.config_text, None, &[], &Overrides::default())
            .map_err(|e| format!("config: {e}"))?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let plan_ids = Arc::new(
            PlanIds::start(&*store)
                .await
                .map_err(|e| format!("plan ids: {e}"))?,
        );
        let state = SharedState::new(config);
        let intake = SignalIntake::new(state.clone(), store.clone(), clock.clone());
        let restored = intake
            .restore()
            .await
            .map_err(|e| format!("restore sleeves: {e}"))?;
        store
            .audit(
                AuditKind::EngineStarted,
                None,
                None,
                serde_json::json!({ "boot": plan_ids.boot(), "sleeves_restored": restored }),
                clock.now(),
            )
            .await
            .map_err(|e| format!("audit: {e}"))?;
        let mut workers = Vec::new();
        for (name, sim, store) in [("a", &self.sim_a, &store_a), ("b", &self.sim_b, &store)] {
            let venue: Arc<dyn Venue> = Arc::new(CrashVenue {
                inner: connect(sim).await?,
                switch: switch.clone(),
            });
            workers.push(AccountWorker::new(
                AccountName::new(name).map_err(|e| e.to_string())?,
                venue,
                store.clone(),
                clock.clone(),
                state.clone(),
                plan_ids.clone(),
            ));
        }
        let b = workers.pop().ok_or("no worker b")?;
        let a = workers.pop().ok_or("no worker a")?;
        Ok(Engine {
            switch,
            store,
            store_faults_a,
            state,
            intake,
            a,
            b,
        })
    }

    /// Sets the source's depth in symbol `i` (one signal, as a REST source would send it).
    pub async fn signal(
        &mut self,
        engine: &Engine,
        i: usize,
        depth: Decimal,
    ) -> Result<(), String> {
        self.seq += 1;
        let now = chrono::Utc::now();
        let key = format!("sig-{}", self.seq);
        let signal = Signal {
            id: SignalId::new(&key).map_err(|e| e.to_string())?,
            source: SourceId::new(SOURCE).map_err(|e| e.to_string())?,
            symbol: Symbol::new(self.symbols[i]).map_err(|e| e.to_string())?,
            intent: Intent::Target(TargetIntent {
                depth,
                leverage: None,
                reference_price: None,
            }),
            emitted_at: Some(now),
            received_at: now,
            idempotency_key: key,
            raw: serde_json::json!({ "seq": self.seq }),
        };
        engine
            .intake
            .submit(signal)
            .await
            .map(|_| ())
            .map_err(|e| format!("signal: {e}"))
    }

    /// Moves symbol `i`'s price on both simulators by `factor`.
    pub fn move_price(&self, i: usize, factor: Decimal) {
        for sim in [&self.sim_a, &self.sim_b] {
            let symbol = self.symbols[i];
            if let Some(p) = sim.price(symbol) {
                sim.set_price(symbol, (p * factor).round_dp(2));
            }
        }
    }

    /// Waits until neither simulator has a request in progress and no new one arrived for a
    /// moment: what a dead engine had on the wire has landed (or not) before anyone looks.
    pub async fn quiesce(&self) {
        let total = || self.sim_a.counters().total() + self.sim_b.counters().total();
        let busy = || self.sim_a.counters().in_flight() + self.sim_b.counters().in_flight();
        for _ in 0..500 {
            let before = total();
            tokio::time::sleep(Duration::from_millis(10)).await;
            if busy() == 0 && total() == before {
                return;
            }
        }
    }
}

/// Connects an adapter; a start that meets a fault is retried, as a supervisor restarts an
/// engine that failed to start.
async fn connect(sim: &SimHandle) -> Result<Arc<dyn Venue>, String> {
    let mut last = String::new();
    for _ in 0..8 {
        match tradeengine_venues::connect(sim.venue(), adapter_config(sim)).await {
            Ok(v) => return Ok(v),
            Err(e) => {
                last = e.to_string();
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    Err(format!(
        "cannot connect to the {} simulator: {last}",
        sim.venue().as_str()
    ))
}
