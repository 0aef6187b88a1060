#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (team rule)
//! Someone else trading the engine's venue account, against the Bybit simulator:
//! - two engines, each with a database of its own, on one account with opposite targets trade
//!   against each other: the first to see its positions moved against its own orders in three
//!   cycles freezes the account through the stored kill switch, and the fight stops;
//! - engines that trade at different moments (each sees the other's trade only later) are
//!   stopped the same way;
//! - one manual trade on a managed symbol is traded back, logged and audited, and freezes
//!   nothing; a person who keeps closing the position freezes the account at the third close;
//! - a freeze decided while the stored switch flattens another account is kept beside it and
//!   survives a restart.

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

fn config(base_url: &str, dir: &std::path::Path, drift_secs: u64) -> String {
    format!(
        r#"
[engine]
mode = "testnet"
drift_check_interval_secs = {drift_secs}
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

/// An engine on its own database in `dir`, checking drift every second.
async fn start(sim: &SimHandle, dir: &std::path::Path) -> RunningEngine {
    start_every(sim, dir, 1).await
}

/// An engine on its own database in `dir`, checking drift every `drift_secs`.
async fn start_every(sim: &SimHandle, dir: &std::path::Path, drift_secs: u64) -> RunningEngine {
    let store = tradeengine_store::open_sqlite_in(dir).await.unwrap();
    let text = config(&sim.base_url(), dir, drift_secs);
    let config = load_str(&text, None, &[], &Overrides::default()).unwrap();
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

/// The kill switch stored in `engine`'s database, if engaged.
async fn stored_switch(engine: &RunningEngine) -> Option<killswitch::KillSwitch> {
    killswitch::read_stored(&*engine.store).await.unwrap()
}

/// Waits until one of two fighting engines froze the account; the frozen one first.
async fn wait_for_a_freeze<'e>(
    a: &'e RunningEngine,
    b: &'e RunningEngine,
) -> (&'e RunningEngine, &'e RunningEngine) {
    wait_for("one of the engines freezes the account", 60, async || {
        stored_switch(a).await.is_some() || stored_switch(b).await.is_some()
    })
    .await;
    if stored_switch(a).await.is_some() {
        (a, b)
    } else {
        (b, a)
    }
}

/// Once the cycles running at the freeze are done (`settle`), no order reaches the venue for
/// `watch`, and the fight was stopped within a few dozen orders.
async fn assert_the_fight_is_over(sim: &SimHandle, settle: Duration, watch: Duration) {
    tokio::time::sleep(settle).await;
    let orders = sim.orders().len();
    tokio::time::sleep(watch).await;
    assert_eq!(sim.orders().len(), orders, "the fight is over");
    assert!(orders < 40, "the fight was stopped early: {orders} orders");
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
    // The first to see three cycles with moves in the symbol it trades back freezes its side;
    // the other then meets no more resistance (its moves are audited all the same).
    let (loser, winner) = wait_for_a_freeze(&a, &b).await;
    let switch = stored_switch(loser).await.unwrap();
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
        moves.iter().filter(|m| m["traded_back"] == true).count() >= 3,
        "the moves that froze it are audited: {moves:?}"
    );
    assert!(
        !outside_moves(&*winner.store).await.is_empty(),
        "the other engine saw the fight too"
    );
    assert_the_fight_is_over(&sim, Duration::from_secs(2), Duration::from_secs(4)).await;
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
    let hand = by_hand(&sim).await;
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
    assert_eq!(stored_switch(&engine).await, None);
    let moves = outside_moves(&*engine.store).await;
    assert_eq!(moves.len(), 1, "one move, audited once: {moves:?}");
    assert_eq!(moves[0]["contested"], false);
    let read: Decimal = serde_json::from_value(moves[0]["read"].clone()).unwrap();
    assert!(read.is_zero(), "{moves:?}");
    engine.shutdown().await;
}

/// The engines do not trade at the same moment: each re-reads right after its own fill and
/// sees the other's trade only later, in a window in which it did not trade itself. They
/// still keep moving a symbol the other keeps trading back, and that is what freezes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_fighting_at_different_moments_are_stopped_too() {
    let sim = bybit_sim().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Same interval, half an interval apart: each trades about 2 s after the other, long after
    // its own re-read (0.75 s after its fill).
    let a = start_every(&sim, dir_a.path(), 4).await;
    let b = start_every(&sim, dir_b.path(), 4).await;
    a.intake
        .submit(target(Decimal::new(3, 1), "a-long"))
        .await
        .unwrap();
    wait_for("a's long", 20, async || {
        sim.position("BTCUSDT") > Decimal::ZERO
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    b.intake
        .submit(target(Decimal::new(-3, 1), "b-short"))
        .await
        .unwrap();
    wait_for_a_freeze(&a, &b).await;
    assert_the_fight_is_over(&sim, Duration::from_secs(5), Duration::from_secs(9)).await;
    a.shutdown().await;
    b.shutdown().await;
}

/// A person who keeps closing what the engine opens: the third close freezes the account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_who_keeps_closing_the_position_freezes_the_account() {
    let sim = bybit_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = start(&sim, dir.path()).await;
    engine
        .intake
        .submit(target(Decimal::new(3, 1), "long"))
        .await
        .unwrap();
    let hand = by_hand(&sim).await;
    for n in 1..=3 {
        close_by_hand(&sim, &*hand, n).await;
        if n < 3 {
            assert_eq!(stored_switch(&engine).await, None);
        }
    }
    wait_for("the account is frozen", 20, async || {
        stored_switch(&engine).await.is_some()
    })
    .await;
    let switch = stored_switch(&engine).await.unwrap();
    assert_eq!(switch.action, KillAction::Freeze);
    // Frozen: the third close stays closed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(sim.position("BTCUSDT").is_zero());
    engine.shutdown().await;
}

/// The freeze the engine decides while the stored switch flattens another account cannot go in
/// that switch: it is kept beside it, shown by `status`, survives a restart, and becomes a
/// stored freeze once the flatten is released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freeze_held_beside_a_flatten_of_others_survives_a_restart() {
    let sim = bybit_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = start(&sim, dir.path()).await;
    let flatten_other = killswitch::KillSwitch {
        action: KillAction::Flatten,
        accounts: Some(vec![tradeengine_model::AccountName::new("other").unwrap()]),
        reason: "operator: other account".into(),
        engaged_at: chrono::Utc::now(),
    };
    killswitch::engage(&*engine.store, &flatten_other)
        .await
        .unwrap();
    engine
        .intake
        .submit(target(Decimal::new(3, 1), "long"))
        .await
        .unwrap();
    let hand = by_hand(&sim).await;
    let pending = async |engine: &RunningEngine| {
        killswitch::read_pending_freezes(&*engine.store)
            .await
            .unwrap()
    };
    for n in 1..=3 {
        close_by_hand(&sim, &*hand, n).await;
    }
    wait_for("the engine holds the account frozen", 20, async || {
        !pending(&engine).await.is_empty()
    })
    .await;
    let held = pending(&engine).await;
    assert_eq!(held[0].account.as_str(), "ex");
    assert_eq!(stored_switch(&engine).await, Some(flatten_other.clone()));
    engine.shutdown().await;

    // A restart keeps the account frozen: the third close stays closed.
    let engine = start(&sim, dir.path()).await;
    let orders = sim.orders().len();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        sim.orders().len(),
        orders,
        "nothing traded after the restart"
    );
    assert!(sim.position("BTCUSDT").is_zero());
    assert_eq!(pending(&engine).await, held);

    // Releasing the flatten stores the engine's freeze in its place.
    killswitch::release(&*engine.store, "test", chrono::Utc::now())
        .await
        .unwrap();
    wait_for("the freeze is stored", 20, async || {
        stored_switch(&engine).await.is_some()
    })
    .await;
    let switch = stored_switch(&engine).await.unwrap();
    assert_eq!(switch.action, KillAction::Freeze);
    assert_eq!(
        switch.accounts,
        Some(vec![tradeengine_model::AccountName::new("ex").unwrap()])
    );
    // The freeze is stored first, then its pending record goes (a crash in between keeps both).
    wait_for("the pending freeze is cleared", 20, async || {
        pending(&engine).await.is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(sim.position("BTCUSDT").is_zero());
    engine.shutdown().await;
}

/// A person closing the engine's long by hand (the `n`th time), once a quiet cycle has read it.
async fn close_by_hand(sim: &SimHandle, hand: &dyn tradeengine_venues::Venue, n: u32) {
    wait_for("the engine's long", 20, async || {
        sim.position("BTCUSDT") > Decimal::ZERO
    })
    .await;
    // Let a quiet cycle read the position first.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let held = sim.position("BTCUSDT");
    hand.place_order(&OrderRequest {
        client_order_id: ClientOrderId::new(&format!("by-hand-{n}")).unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        side: Side::Sell,
        qty: held,
        kind: OrderKind::Market,
        reduce_only: true,
    })
    .await
    .unwrap();
}

/// An adapter on the simulator's account, as a person at the venue's website trades.
async fn by_hand(sim: &SimHandle) -> std::sync::Arc<dyn tradeengine_venues::Venue> {
    let o = sim.options();
    let mut c = AdapterConfig::new(
        sim.base_url(),
        Some(Credentials::new(&o.api_key, &o.api_secret)),
    );
    c.stream = tradeengine_venues::StreamSetting::Off;
    tradeengine_venues::connect(tradeengine_venues::VenueId::Bybit, c)
        .await
        .unwrap()
}
