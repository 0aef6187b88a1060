#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The kill switch: flatten closes every position and keeps it closed whatever the signals say;
//! freeze sends nothing; both survive a restart; release lets trading resume; the kill file
//! works without the store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::killswitch::{self, KILL_FILE, KillAction};
use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::{
    AccountName, Intent, Signal, SignalId, SourceId, Symbol, SystemClock, TargetIntent,
};
use tradeengine_store::Store;

const CONFIG: &str = r#"
[engine]
drift_check_interval_secs = 1
data_dir = "DATA"
hot_reload = false
[[accounts]]
name = "paper"
venue = "paper"
[sources.ops]
type = "rest"
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = { ops = 1.0 }
"#;

fn signal(n: u32, depth: Decimal) -> Signal {
    let now = chrono::Utc::now();
    let key = format!("k-{n}");
    Signal {
        id: SignalId::new(&key).unwrap(),
        source: SourceId::new("ops").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        intent: Intent::Target(TargetIntent {
            depth,
            leverage: None,
            reference_price: None,
        }),
        emitted_at: None,
        received_at: now,
        idempotency_key: key,
        raw: serde_json::json!({}),
    }
}

async fn start(dir: &std::path::Path, store: Arc<dyn Store>) -> RunningEngine {
    let config = load_str(
        &CONFIG.replace("DATA", &dir.display().to_string()),
        None,
        &[],
        &Overrides::default(),
    )
    .unwrap();
    RunningEngine::start(
        config,
        store,
        StartOptions {
            clock: Arc::new(SystemClock),
            live_confirmed: false,
            config_path: None,
            env_overrides: Default::default(),
        },
    )
    .await
    .unwrap()
}

async fn size(engine: &RunningEngine) -> Decimal {
    let account = AccountName::new("paper").unwrap();
    let positions = engine.venues[&account].positions().await.unwrap();
    positions.first().map(|p| p.size.get()).unwrap_or_default()
}

async fn wait_size(engine: &RunningEngine, want: impl Fn(Decimal) -> bool, what: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        if want(size(engine).await) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "timed out waiting for {what}; size is {}",
        size(engine).await
    );
}

async fn sent(engine: &RunningEngine) -> u64 {
    let account = AccountName::new("paper").unwrap();
    engine
        .state
        .account_view(&account)
        .await
        .map(|v| v.orders_sent)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flatten_freeze_restart_release() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let engine = start(dir.path(), store.clone()).await;

    engine
        .intake
        .submit(signal(1, Decimal::new(5, 1)))
        .await
        .unwrap();
    wait_size(&engine, |s| s > Decimal::ZERO, "a long position").await;

    // Flatten: the position closes, and a new signal does not reopen it.
    let clock = SystemClock;
    killswitch::engage(
        &*store,
        &killswitch::new_switch(KillAction::Flatten, None, "test", &clock),
    )
    .await
    .unwrap();
    wait_size(&engine, |s| s.is_zero(), "flat after flatten").await;
    engine
        .intake
        .submit(signal(2, Decimal::new(-5, 1)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        size(&engine).await.is_zero(),
        "flatten must hold against new signals"
    );
    engine.shutdown().await;

    // Restart: still engaged, nothing is sent.
    let engine = start(dir.path(), store.clone()).await;
    let before = sent(&engine).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(size(&engine).await.is_zero());
    assert_eq!(
        sent(&engine).await,
        before,
        "no order while the switch holds after restart"
    );

    // Freeze instead: releasing flatten and freezing leaves the (flat) position alone even
    // though the target is short.
    killswitch::engage(
        &*store,
        &killswitch::new_switch(KillAction::Freeze, None, "test", &clock),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(size(&engine).await.is_zero(), "freeze sends nothing");

    // Release: the short target is carried out.
    assert!(
        killswitch::release(&*store, "test", chrono::Utc::now())
            .await
            .unwrap()
    );
    wait_size(&engine, |s| s < Decimal::ZERO, "short after release").await;

    // The kill file freezes without the store: a new long target is not carried out.
    std::fs::write(dir.path().join(KILL_FILE), "freeze").unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let frozen_at = size(&engine).await;
    engine
        .intake
        .submit(signal(3, Decimal::new(5, 1)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(size(&engine).await, frozen_at, "the kill file freezes");
    std::fs::remove_file(dir.path().join(KILL_FILE)).unwrap();
    wait_size(
        &engine,
        |s| s > Decimal::ZERO,
        "long after the file is removed",
    )
    .await;

    engine.shutdown().await;
    assert!(store.verify_audit().await.unwrap().is_ok());
}

async fn cycles(engine: &RunningEngine) -> u64 {
    let account = AccountName::new("paper").unwrap();
    engine
        .state
        .account_view(&account)
        .await
        .map(|v| v.cycles)
        .unwrap_or(0)
}

/// `kill --release --hold`: a target moved while frozen is not traded at release; the held
/// position stays until a source sets a new target after the release.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_into_hold_keeps_positions_until_a_new_signal() {
    use tradeengine_engine::release_hold::{self, ReleaseHold};
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let engine = start(dir.path(), store.clone()).await;
    engine
        .intake
        .submit(signal(1, Decimal::new(5, 1)))
        .await
        .unwrap();
    wait_size(&engine, |s| s > Decimal::ZERO, "a long position").await;
    let long = size(&engine).await;

    // Frozen, then the source flips short: nothing is sent while frozen.
    let clock = SystemClock;
    killswitch::engage(
        &*store,
        &killswitch::new_switch(KillAction::Freeze, None, "test", &clock),
    )
    .await
    .unwrap();
    let start_wait = Instant::now();
    while !engine.state.kill_engaged().await {
        assert!(
            start_wait.elapsed() < Duration::from_secs(15),
            "freeze not picked up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    engine
        .intake
        .submit(signal(2, Decimal::new(-5, 1)))
        .await
        .unwrap();
    let before = sent(&engine).await;
    // Under the switch the engine keeps the targets a release would trade to, for the
    // release preview: here the short the source asked for while frozen.
    let account = AccountName::new("paper").unwrap();
    let start_wait = Instant::now();
    loop {
        let kept = killswitch::release_targets(&*store, &account)
            .await
            .unwrap();
        if kept.is_some_and(|(m, _)| m.get("BTCUSDT").is_some_and(|q| *q < Decimal::ZERO)) {
            break;
        }
        assert!(
            start_wait.elapsed() < Duration::from_secs(15),
            "release targets not kept"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Release into hold: at least two cycles after it, still long and nothing sent.
    let at = chrono::Utc::now();
    release_hold::set(&*store, &ReleaseHold { at, accounts: None })
        .await
        .unwrap();
    killswitch::release(&*store, "test", at).await.unwrap();
    let seen = cycles(&engine).await;
    let start_wait = Instant::now();
    while cycles(&engine).await < seen + 3 {
        assert!(
            start_wait.elapsed() < Duration::from_secs(15),
            "no cycles ran"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        size(&engine).await,
        long,
        "the release traded toward the old target"
    );
    assert_eq!(sent(&engine).await, before, "the release sent orders");

    // A new signal after the release ends the hold for that symbol: it trades.
    engine
        .intake
        .submit(signal(3, Decimal::ZERO))
        .await
        .unwrap();
    wait_size(&engine, |s| s.is_zero(), "flat after the new signal").await;
    engine.shutdown().await;
}

/// After a flatten and a release into hold, a view a source gave before the kill does not come
/// back: the first signal after the release trades to what the sources said since. (A
/// rehearsal: a REST buy after the release sold 32.5 ETH, the TradingView short from before the
/// kill.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_into_hold_does_not_bring_back_views_from_before_the_kill() {
    use tradeengine_engine::release_hold::{self, ReleaseHold};
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let two_sources = CONFIG
        .replace("DATA", &dir.path().display().to_string())
        .replace(
            "[sources.ops]",
            "[sources.tv]\ntype = \"rest\"\n[sources.ops]",
        )
        .replace(
            "weights = { ops = 1.0 }",
            "weights = { tv = 0.5, ops = 0.5 }",
        );
    let config = load_str(&two_sources, None, &[], &Overrides::default()).unwrap();
    let engine = RunningEngine::start(
        config,
        store.clone(),
        StartOptions {
            clock: Arc::new(SystemClock),
            live_confirmed: false,
            config_path: None,
            env_overrides: Default::default(),
        },
    )
    .await
    .unwrap();
    // The "tv" source goes fully short.
    let mut short = signal(1, Decimal::NEGATIVE_ONE);
    short.source = SourceId::new("tv").unwrap();
    engine.intake.submit(short).await.unwrap();
    wait_size(&engine, |s| s < Decimal::ZERO, "a short position").await;

    // Flatten, then release into hold.
    let clock = SystemClock;
    killswitch::engage(
        &*store,
        &killswitch::new_switch(KillAction::Flatten, None, "test", &clock),
    )
    .await
    .unwrap();
    wait_size(&engine, |s| s.is_zero(), "flat after the flatten").await;
    let at = chrono::Utc::now();
    release_hold::set(&*store, &ReleaseHold { at, accounts: None })
        .await
        .unwrap();
    killswitch::release(&*store, "test", at).await.unwrap();
    let seen = cycles(&engine).await;
    while cycles(&engine).await < seen + 2 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(size(&engine).await.is_zero(), "the release traded");

    // "ops" goes long after the release: the account goes long by ops' half alone, never short.
    engine.intake.submit(signal(2, Decimal::ONE)).await.unwrap();
    wait_size(
        &engine,
        |s| s > Decimal::ZERO,
        "a long position from ops' signal",
    )
    .await;
    let long = size(&engine).await;
    // A few more cycles: it stays long (tv's old short does not come back).
    let seen = cycles(&engine).await;
    while cycles(&engine).await < seen + 3 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(size(&engine).await, long);
    // tv speaks again after the release: its view counts again (short 1 + long 1 = flat).
    let mut again = signal(3, Decimal::NEGATIVE_ONE);
    again.source = SourceId::new("tv").unwrap();
    engine.intake.submit(again).await.unwrap();
    wait_size(&engine, |s| s.is_zero(), "flat once tv speaks again").await;
    engine.shutdown().await;
}

/// A flattening kill switch closes every position, also one in a symbol the configuration does
/// not name (a manual trade).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flatten_closes_positions_outside_the_configured_symbols() {
    use tradeengine_model::{ClientOrderId, OrderKind, OrderRequest, Side};
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let engine = start(dir.path(), store.clone()).await;
    let account = AccountName::new("paper").unwrap();
    let eth = Symbol::new("ETHUSDT").unwrap();
    let venue = engine.venues[&account].clone();
    venue
        .place_order(&OrderRequest {
            client_order_id: ClientOrderId::new("manual-eth-1").unwrap(),
            symbol: eth.clone(),
            side: Side::Sell,
            qty: Decimal::new(2, 0),
            kind: OrderKind::Market,
            reduce_only: false,
        })
        .await
        .unwrap();
    let eth_size = || async {
        venue
            .positions()
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.symbol == eth)
            .map(|p| p.size.get())
            .unwrap_or_default()
    };
    assert_eq!(eth_size().await, Decimal::new(-2, 0));
    killswitch::engage(
        &*store,
        &killswitch::new_switch(KillAction::Flatten, None, "test", &SystemClock),
    )
    .await
    .unwrap();
    let start_wait = Instant::now();
    while !eth_size().await.is_zero() {
        assert!(
            start_wait.elapsed() < Duration::from_secs(15),
            "the ETHUSDT position outside the configuration was not closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    engine.shutdown().await;
}

/// A flatten closes a disabled account's positions too: disabled means "trade no signal", and
/// the flatten is the operator's order to close everything (a rehearsal's disabled account kept
/// its positions under a flatten of every account while `status` said every account was
/// flattening).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flatten_closes_a_disabled_account() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let engine = start(dir.path(), store.clone()).await;
    engine
        .intake
        .submit(signal(1, Decimal::new(5, 1)))
        .await
        .unwrap();
    wait_size(&engine, |s| s > Decimal::ZERO, "a long position").await;

    let disabled = load_str(
        &CONFIG
            .replace("DATA", &dir.path().display().to_string())
            .replace(
                "venue = \"paper\"",
                "venue = \"paper\"\nstate = \"disabled\"",
            ),
        None,
        &[],
        &Overrides::default(),
    )
    .unwrap();
    engine.state.set_config(disabled);
    // Disabled alone leaves the position as it is, whatever the signals say.
    engine
        .intake
        .submit(signal(2, Decimal::new(-5, 1)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        size(&engine).await > Decimal::ZERO,
        "disabled trades nothing"
    );

    let engaged = killswitch::engage_merged(
        &*store,
        killswitch::new_switch(KillAction::Flatten, None, "test", &SystemClock),
    )
    .await
    .unwrap();
    assert_eq!(engaged.action, KillAction::Flatten);
    wait_size(
        &engine,
        |s| s.is_zero(),
        "flat after flatten, though disabled",
    )
    .await;
    engine.shutdown().await;
}
