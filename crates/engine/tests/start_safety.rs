#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (team rule)
//! What the engine does at start with what it finds, against the venue simulators:
//! - a position the store has no record of managing (a fresh database) is left alone until a
//!   source sets a target or an operator decides;
//! - a venue that fails transiently at start leaves that account `connecting` while the rest
//!   of the engine runs;
//! - a symbol that cannot be priced is skipped, the others trade.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::state::AccountView;
use tradeengine_engine::worker::unknown::{Decision, decisions, record_decision};
use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::{
    AccountName, ClientOrderId, Intent, OrderKind, OrderRequest, Side, Signal, SignalId, SourceId,
    Symbol, SystemClock, TargetIntent,
};
use tradeengine_store::Store;
use tradeengine_venue_sim::{Fault, SimHandle, SimOptions, VenueId, serve};
use tradeengine_venues::{AdapterConfig, Credentials, Venue};

fn options(sim: Option<&SimHandle>) -> StartOptions {
    let mut env = BTreeMap::new();
    if let Some(sim) = sim {
        let o = sim.options();
        env.insert("TE_SAFE_API_KEY".to_string(), o.api_key.clone());
        env.insert("TE_SAFE_API_SECRET".to_string(), o.api_secret.clone());
    }
    StartOptions {
        clock: Arc::new(SystemClock),
        live_confirmed: false,
        config_path: None,
        env_overrides: env,
    }
}

fn exchange_config(base_url: &str, dir: &std::path::Path, extra_engine: &str) -> String {
    format!(
        r#"
[engine]
mode = "testnet"
drift_check_interval_secs = 1
data_dir = "{dir}"
hot_reload = false
{extra_engine}
[[accounts]]
name = "ex"
venue = "bybit"
base_url = "{base_url}"
ws_url = "off"
credentials = "env:TE_SAFE"
[sources.ops]
type = "rest"
[risk]
max_leverage = 5
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = {{ ops = 1.0 }}
"#,
        dir = dir.display()
    )
}

fn target(symbol: &str, depth: Decimal, id: &str) -> Signal {
    Signal {
        id: SignalId::new(id).unwrap(),
        source: SourceId::new("ops").unwrap(),
        symbol: Symbol::new(symbol).unwrap(),
        intent: Intent::Target(TargetIntent {
            depth,
            leverage: None,
            reference_price: None,
        }),
        emitted_at: None,
        received_at: chrono::Utc::now(),
        idempotency_key: id.into(),
        raw: serde_json::json!({}),
    }
}

async fn wait_for(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !f().await {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn view(engine: &RunningEngine, account: &str) -> AccountView {
    let name = AccountName::new(account).unwrap();
    engine.state.account_view(&name).await.unwrap_or_default()
}

/// A bybit simulator holding a 0.5 BTC long the operator opened by hand.
async fn sim_with_manual_position() -> SimHandle {
    let sim = serve(
        VenueId::Bybit,
        "127.0.0.1:0".parse().unwrap(),
        SimOptions::new(VenueId::Bybit),
    )
    .await
    .unwrap();
    let o = sim.options();
    let mut c = AdapterConfig::new(
        sim.base_url(),
        Some(Credentials::new(&o.api_key, &o.api_secret)),
    );
    c.stream = tradeengine_venues::StreamSetting::Off;
    let venue = tradeengine_venues::connect(tradeengine_venues::VenueId::Bybit, c)
        .await
        .unwrap();
    venue
        .place_order(&OrderRequest {
            client_order_id: ClientOrderId::new("manual-1").unwrap(),
            symbol: Symbol::new("BTCUSDT").unwrap(),
            side: Side::Buy,
            qty: Decimal::new(5, 1),
            kind: OrderKind::Market,
            reduce_only: false,
        })
        .await
        .unwrap();
    assert_eq!(sim.position("BTCUSDT"), Decimal::new(5, 1));
    sim
}

async fn start(text: &str, store: Arc<dyn Store>, sim: &SimHandle) -> RunningEngine {
    let config = load_str(text, None, &[], &Overrides::default()).unwrap();
    RunningEngine::start(config, store, options(Some(sim)))
        .await
        .unwrap()
}

/// Fresh database, a position on the exchange: held (no order for several cycles), visible;
/// an operator's `flatten` decision closes it at the next cycle, reduce-only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_database_leaves_an_unknown_position_alone_until_the_operator_decides() {
    let sim = sim_with_manual_position().await;
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let engine = start(
        &exchange_config(&sim.base_url(), dir.path(), ""),
        store.clone(),
        &sim,
    )
    .await;
    wait_for("three cycles", async || {
        view(&engine, "ex").await.cycles >= 3
    })
    .await;
    assert_eq!(sim.orders().len(), 1, "only the operator's own order");
    assert_eq!(sim.position("BTCUSDT"), Decimal::new(5, 1));
    let v = view(&engine, "ex").await;
    let btc = Symbol::new("BTCUSDT").unwrap();
    let unknown = v.unknown_positions.get(&btc).expect("shown as unknown");
    assert_eq!(unknown.status, "held");
    assert_eq!(unknown.size, Decimal::new(5, 1));
    assert!(
        !v.targets.contains_key(&btc),
        "no target for a held position"
    );
    // `tradeengine status` reads the same from the store.
    let saved = store
        .get_state("positions.unknown.ex")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(saved["BTCUSDT"]["status"], "held");

    let account = AccountName::new("ex").unwrap();
    record_decision(
        &*store,
        &account,
        &btc,
        Decision::Flatten,
        "cli: test",
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    wait_for("flattened", async || sim.position("BTCUSDT").is_zero()).await;
    let orders = sim.orders();
    assert_eq!(orders.len(), 2);
    assert!(orders[1].reduce_only, "the close is reduce-only");
    engine.shutdown().await;
    assert!(store.verify_audit().await.unwrap().is_ok());
}

/// Held until a source sets a target for the symbol after start: then the engine trades.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_after_start_takes_over_a_held_position() {
    let sim = sim_with_manual_position().await;
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let engine = start(
        &exchange_config(&sim.base_url(), dir.path(), ""),
        store.clone(),
        &sim,
    )
    .await;
    wait_for("two cycles", async || view(&engine, "ex").await.cycles >= 2).await;
    assert_eq!(sim.orders().len(), 1);
    engine
        .intake
        .submit(target("BTCUSDT", Decimal::ZERO, "close-it"))
        .await
        .unwrap();
    wait_for("closed on the source's word", async || {
        sim.position("BTCUSDT").is_zero()
    })
    .await;
    // The venue can report the close before the cycle that sent it publishes its view: the
    // view is read once that cycle has published.
    wait_for("no longer shown as unknown", async || {
        view(&engine, "ex").await.unknown_positions.is_empty()
    })
    .await;
    assert_eq!(sim.orders().len(), 2, "the operator's order and the close");
    assert!(sim.orders()[1].reduce_only, "the close is reduce-only");
    engine.shutdown().await;
}

/// `on_unknown_position = "adopt"`: kept at its size, recorded, and still kept after a restart
/// on the same database; `flatten` closes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_adopts_or_flattens_and_an_adoption_survives_a_restart() {
    let sim = sim_with_manual_position().await;
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let text = exchange_config(
        &sim.base_url(),
        dir.path(),
        "on_unknown_position = \"adopt\"",
    );
    let account = AccountName::new("ex").unwrap();
    let btc = Symbol::new("BTCUSDT").unwrap();
    for round in 0..2 {
        let engine = start(&text, store.clone(), &sim).await;
        wait_for("three cycles", async || {
            view(&engine, "ex").await.cycles >= 3
        })
        .await;
        let v = view(&engine, "ex").await;
        assert_eq!(v.unknown_positions[&btc].status, "adopted", "round {round}");
        assert_eq!(
            v.targets.get(&btc),
            Some(&Decimal::new(5, 1)),
            "round {round}"
        );
        engine.shutdown().await;
        assert_eq!(sim.orders().len(), 1, "round {round}: kept as it is");
    }
    let stored = decisions(&*store, &account).await.unwrap();
    assert_eq!(stored[&btc].decision, Decision::Adopt);
    assert_eq!(stored[&btc].by, "on_unknown_position");

    let sim = sim_with_manual_position().await;
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let text = exchange_config(
        &sim.base_url(),
        dir.path(),
        "on_unknown_position = \"flatten\"",
    );
    let engine = start(&text, store.clone(), &sim).await;
    wait_for("flattened by policy", async || {
        sim.position("BTCUSDT").is_zero()
    })
    .await;
    engine.shutdown().await;
}

/// One 503 (here three in a row) on Bybit's first call no longer stops the engine: the account
/// is `connecting` (visible, retried with back-off) while a paper account trades; then it
/// connects and trades too. A bad credentials reference still fails the start as a
/// configuration error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_error_at_start_leaves_the_account_connecting_and_the_rest_running() {
    let sim = serve(
        VenueId::Bybit,
        "127.0.0.1:0".parse().unwrap(),
        SimOptions::new(VenueId::Bybit),
    )
    .await
    .unwrap();
    sim.faults()
        .inject("/v5/market/time", 3, Fault::Status(503));
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let mut text = exchange_config(&sim.base_url(), dir.path(), "");
    text = text.replace("mode = \"testnet\"\n", "");
    text.push_str(
        r#"
[[accounts]]
name = "pp"
venue = "paper"
"#,
    );
    let text = text.replace(
        "name = \"ex\"\nvenue = \"bybit\"",
        "name = \"ex\"\nvenue = \"bybit\"\nmode = \"testnet\"",
    );
    let engine = start(&text, store.clone(), &sim).await;
    let v = view(&engine, "ex").await;
    assert_eq!(v.connection.as_deref(), Some("connecting"));
    engine
        .intake
        .submit(target("BTCUSDT", Decimal::new(2, 1), "t-1"))
        .await
        .unwrap();
    let pp = AccountName::new("pp").unwrap();
    let paper = engine.paper_venue(&pp).unwrap().clone();
    wait_for("the paper account trades meanwhile", async || {
        !paper.positions().await.unwrap().is_empty()
    })
    .await;
    let v = view(&engine, "ex").await;
    assert_eq!(v.connection.as_deref(), Some("connecting"));
    assert!(
        v.last_error
            .as_deref()
            .is_some_and(|e| e.contains("connecting")),
        "{:?}",
        v.last_error
    );
    wait_for("connected and trading", async || {
        sim.position("BTCUSDT") > Decimal::ZERO
    })
    .await;
    assert_eq!(
        view(&engine, "ex").await.connection.as_deref(),
        Some("connected")
    );
    assert_eq!(sim.faults().pending(), 0);
    engine.shutdown().await;

    // A permanent problem is still a start failure, and a configuration one.
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let bad = exchange_config(&sim.base_url(), dir.path(), "")
        .replace("env:TE_SAFE", "env:TE_NOT_SET_ANYWHERE");
    let config = load_str(&bad, None, &[], &Overrides::default()).unwrap();
    let e = RunningEngine::start(config, store, options(Some(&sim)))
        .await
        .expect_err("missing credentials fail the start");
    assert!(e.is_config(), "{e}");
}

/// Demo-like paper account plus a DOGEUSDT the paper venue has neither price nor instrument
/// for: BTCUSDT still trades, and DOGEUSDT is reported in `symbol_errors`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpriced_symbol_is_skipped_and_the_others_trade() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let text = format!(
        r#"
[engine]
drift_check_interval_secs = 1
data_dir = "{dir}"
hot_reload = false
[[accounts]]
name = "pp"
venue = "paper"
[sources.ops]
type = "rest"
[[symbols]]
symbol = "BTCUSDT"
weights = {{ ops = 0.5 }}
[[symbols]]
symbol = "DOGEUSDT"
weights = {{ ops = 0.5 }}
"#,
        dir = dir.path().display()
    );
    let config = load_str(&text, None, &[], &Overrides::default()).unwrap();
    let engine = RunningEngine::start(config, store.clone(), options(None))
        .await
        .unwrap();
    engine
        .intake
        .submit(target("BTCUSDT", Decimal::new(3, 1), "b-1"))
        .await
        .unwrap();
    engine
        .intake
        .submit(target("DOGEUSDT", Decimal::new(3, 1), "d-1"))
        .await
        .unwrap();
    let pp = AccountName::new("pp").unwrap();
    let paper = engine.paper_venue(&pp).unwrap().clone();
    wait_for("BTCUSDT trades", async || {
        !paper.positions().await.unwrap().is_empty()
    })
    .await;
    // The view is written when the cycle that traded ends.
    wait_for("DOGEUSDT reported", async || {
        view(&engine, "pp")
            .await
            .symbol_errors
            .iter()
            .any(|e| e.starts_with("DOGEUSDT"))
    })
    .await;
    assert_eq!(view(&engine, "pp").await.last_error, None);
    engine.shutdown().await;
}

/// A position in a symbol the configuration does not name (removed while open, or opened by
/// hand): never traded, shown as `unconfigured` in the view and the store, and closed
/// (reduce-only) on an operator's `flatten` decision although no `[[symbols]]` entry covers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_outside_the_configured_symbols_is_shown_and_closed_on_the_operators_word() {
    let sim = sim_with_manual_position().await;
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let text = exchange_config(&sim.base_url(), dir.path(), "")
        .replace("symbol = \"BTCUSDT\"", "symbol = \"ETHUSDT\"");
    let engine = start(&text, store.clone(), &sim).await;
    wait_for("three cycles", async || {
        view(&engine, "ex").await.cycles >= 3
    })
    .await;
    assert_eq!(sim.orders().len(), 1, "only the operator's own order");
    let btc = Symbol::new("BTCUSDT").unwrap();
    let v = view(&engine, "ex").await;
    let unknown = v.unknown_positions.get(&btc).expect("shown as unmanaged");
    assert_eq!(unknown.status, "unconfigured");
    assert_eq!(unknown.size, Decimal::new(5, 1));
    let saved = store
        .get_state("positions.unknown.ex")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(saved["BTCUSDT"]["status"], "unconfigured");

    let account = AccountName::new("ex").unwrap();
    record_decision(
        &*store,
        &account,
        &btc,
        Decision::Flatten,
        "cli: test",
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    wait_for("flattened", async || sim.position("BTCUSDT").is_zero()).await;
    let orders = sim.orders();
    assert_eq!(orders.len(), 2, "{orders:?}");
    assert!(orders[1].reduce_only, "the close is reduce-only");
    wait_for("no longer shown", async || {
        view(&engine, "ex").await.unknown_positions.is_empty()
    })
    .await;
    engine.shutdown().await;
    assert!(store.verify_audit().await.unwrap().is_ok());
}
