#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (team rule)
//! Someone else trading the engine's venue account, against the Bybit simulator:
//! - two engines, each with a database of its own, on one account with opposite targets trade
//!   against each other: the first to see its positions moved against its own orders in three
//!   cycles freezes the account through the stored kill switch, and the fight stops;
//! - one manual trade on a managed symbol is traded back, logged and audited, and freezes
//!   nothing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::killswitch::{self, KillAction};
use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::{
    ClientOrderId, Intent, OrderKind, OrderRequest, Side, Signal, SignalId, SourceId, Symbol,
    SystemClock, TargetIntent,
};
use tradeengine_store::{AuditKind, Store};
use tradeengine_venue_sim::{SimHandle, SimOptions, VenueId, serve};
use tradeengine_venues::{AdapterConfig, Credentials};

fn options(sim: &SimHandle) -> StartOptions {
    let o = sim.options();
    let env = BTreeMap::from([
        ("TE_OUT_API_KEY".to_string(), o.api_key.clone()),
        ("TE_OUT_API_SECRET".to_string(), o.api_secret.clone()),
    ]);
    StartOptions {
        clock: Arc::new(SystemClock),
        live_confirmed: false,
        config_path: None,
        env_overrides: env,
    }
}

fn config(base_url: &str, dir: &std::path::Path) -> String {
    format!(
        r#"
[engine]
mode = "testnet"
drift_check_interval_secs = 1
data_dir = "{dir}"
hot_reload = false
[[accounts]]
name = "ex"
venue = "bybit"
base_url = "{base_url}"
ws_url = "off"
credentials = "env:TE_OUT"
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

fn target(depth: Decimal, id: &str) -> Signal {
    Signal {
        id: SignalId::new(id).unwrap(),
        source: SourceId::new("ops").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
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

async fn wait_for(what: &str, secs: u64, mut f: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !f().await {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn bybit_sim() -> SimHandle {
    serve(
        VenueId::Bybit,
        "127.0.0.1:0".parse().unwrap(),
        SimOptions::new(VenueId::Bybit),
    )
    .await
    .unwrap()
}

/// An engine on its own database in `dir`.
async fn start(sim: &SimHandle, dir: &std::path::Path) -> RunningEngine {
    let store = tradeengine_store::open_sqlite_in(dir).await.unwrap();
    let config = load_str(
        &config(&sim.base_url(), dir),
        None,
        &[],
        &Overrides::default(),
    )
    .unwrap();
    RunningEngine::start(config, store, options(sim))
        .await
        .unwrap()
}

async fn outside_moves(store: &dyn Store) -> Vec<serde_json::Value> {
    store
        .audit_events(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == AuditKind::Reconciled && e.payload.get("moved_outside").is_some())
        .map(|e| e.payload)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_fighting_over_one_account_stop_within_a_few_cycles() {
    let sim = bybit_sim().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start(&sim, dir_a.path()).await;
    let b = start(&sim, dir_b.path()).await;
    a.intake
        .submit(target(Decimal::new(3, 1), "a-long"))
        .await
        .unwrap();
    b.intake
        .submit(target(Decimal::new(-3, 1), "b-short"))
        .await
        .unwrap();
    let frozen =
        async |engine: &RunningEngine| killswitch::read_stored(&*engine.store).await.unwrap();
    wait_for("one of the engines freezes the account", 60, async || {
        frozen(&a).await.is_some() || frozen(&b).await.is_some()
    })
    .await;
    // The first to see three contested cycles freezes its side; the other then meets no more
    // resistance (its moves are audited all the same).
    let (loser, winner) = if frozen(&a).await.is_some() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    let switch = frozen(loser).await.unwrap();
    assert_eq!(switch.action, KillAction::Freeze, "positions are kept");
    assert_eq!(
        switch.accounts.as_deref().map(<[_]>::len),
        Some(1),
        "only the contested account"
    );
    assert!(
        switch.reason.contains("another trader"),
        "{}",
        switch.reason
    );
    assert!(
        switch.reason.contains("BTCUSDT expected"),
        "{}",
        switch.reason
    );
    let moves = outside_moves(&*loser.store).await;
    assert!(
        moves.iter().filter(|m| m["contested"] == true).count() >= 3,
        "the contested moves are audited: {moves:?}"
    );
    assert!(
        !outside_moves(&*winner.store).await.is_empty(),
        "the other engine saw the fight too"
    );
    // Once the cycles running at the freeze are done, nobody trades against anybody.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let orders = sim.orders().len();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(sim.orders().len(), orders, "the fight is over");
    assert!(orders < 40, "the fight was stopped early: {orders} orders");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_manual_trade_is_traded_back_and_audited_but_freezes_nothing() {
    let sim = bybit_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = start(&sim, dir.path()).await;
    engine
        .intake
        .submit(target(Decimal::new(3, 1), "long"))
        .await
        .unwrap();
    wait_for("the engine's long", 20, async || {
        sim.position("BTCUSDT") > Decimal::ZERO
    })
    .await;
    let held = sim.position("BTCUSDT");
    // Let a quiet cycle pass so the last read holds the engine's position.
    let cycles = engine
        .state
        .account_view(&tradeengine_model::AccountName::new("ex").unwrap())
        .await
        .unwrap_or_default()
        .cycles;
    wait_for("a quiet cycle", 20, async || {
        engine
            .state
            .account_view(&tradeengine_model::AccountName::new("ex").unwrap())
            .await
            .unwrap_or_default()
            .cycles
            >= cycles + 2
    })
    .await;
    // A person closes the position at the venue's website.
    let o = sim.options();
    let mut c = AdapterConfig::new(
        sim.base_url(),
        Some(Credentials::new(&o.api_key, &o.api_secret)),
    );
    c.stream = tradeengine_venues::StreamSetting::Off;
    let hand = tradeengine_venues::connect(tradeengine_venues::VenueId::Bybit, c)
        .await
        .unwrap();
    hand.place_order(&OrderRequest {
        client_order_id: ClientOrderId::new("by-hand-1").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        side: Side::Sell,
        qty: held,
        kind: OrderKind::Market,
        reduce_only: true,
    })
    .await
    .unwrap();
    assert!(sim.position("BTCUSDT").is_zero());
    wait_for("the move is audited", 20, async || {
        !outside_moves(&*engine.store).await.is_empty()
    })
    .await;
    // Back to the target (sized from an equity that paid two fees since).
    wait_for("traded back to target", 20, async || {
        (sim.position("BTCUSDT") - held).abs() <= held / Decimal::from(50)
    })
    .await;
    // A few more cycles: no freeze.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(killswitch::read_stored(&*engine.store).await.unwrap(), None);
    let moves = outside_moves(&*engine.store).await;
    assert_eq!(moves.len(), 1, "one move, audited once: {moves:?}");
    assert_eq!(moves[0]["contested"], false);
    let read: Decimal = serde_json::from_value(moves[0]["read"].clone()).unwrap();
    assert!(read.is_zero(), "{moves:?}");
    engine.shutdown().await;
}
