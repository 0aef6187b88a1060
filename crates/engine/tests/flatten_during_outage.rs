#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (team rule)
//! A flatten engaged while the account backs off from failing order entry is acted on at once,
//! not after the back-off (a rehearsal's flatten waited out retries at 8, 16 and 32 s after the
//! venue came back), and attempts stay a couple of seconds apart while the flatten holds.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::killswitch::{self, KillAction};
use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::{Intent, Signal, SignalId, SourceId, Symbol, SystemClock, TargetIntent};
use tradeengine_venue_sim::{Fault, SimOptions, VenueId, serve};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flatten_during_an_order_entry_back_off_is_not_kept_waiting() {
    let sim = serve(
        VenueId::Bybit,
        "127.0.0.1:0".parse().unwrap(),
        SimOptions::new(VenueId::Bybit),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let text = format!(
        r#"
[engine]
mode = "testnet"
drift_check_interval_secs = 1
data_dir = "{dir}"
hot_reload = false
[[accounts]]
name = "ex"
venue = "bybit"
base_url = "{url}"
ws_url = "off"
credentials = "env:TE_FLAT"
[sources.ops]
type = "rest"
[risk]
max_leverage = 5
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = {{ ops = 1.0 }}
"#,
        dir = dir.path().display(),
        url = sim.base_url()
    );
    let config = load_str(&text, None, &[], &Overrides::default()).unwrap();
    let o = sim.options();
    let options = StartOptions {
        clock: Arc::new(SystemClock),
        live_confirmed: false,
        config_path: None,
        env_overrides: BTreeMap::from([
            ("TE_FLAT_API_KEY".to_string(), o.api_key.clone()),
            ("TE_FLAT_API_SECRET".to_string(), o.api_secret.clone()),
        ]),
    };
    let engine = RunningEngine::start(config, store.clone(), options)
        .await
        .unwrap();
    engine
        .intake
        .submit(target(Decimal::new(3, 1), "long"))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while sim.position("BTCUSDT") <= Decimal::ZERO {
        assert!(Instant::now() < deadline, "no long position");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Order entry goes down; the source flips, every attempt fails and the account backs off
    // (1, 2, 4, 8, 16 s …): 20 s in, the next attempt is about 10 s away.
    for path in ["/v5/order/create", "/v5/order/create-batch"] {
        sim.faults().inject(path, 10_000, Fault::Status(503));
    }
    engine
        .intake
        .submit(target(Decimal::new(-3, 1), "short"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let long = sim.position("BTCUSDT");
    assert!(long > Decimal::ZERO, "nothing got through the outage");
    // The account backs off: a handful of cycles (each reads the balance once) in 20 s, not
    // one a second.
    let cycles = sim.counters().get("GET", "/v5/account/wallet-balance");
    assert!(
        (2..=9).contains(&cycles),
        "cycles during the outage: {cycles} ({:?})",
        sim.counters().snapshot()
    );

    // The operator flattens; the venue comes back a moment later.
    let clock = SystemClock;
    killswitch::engage(
        &*store,
        &killswitch::new_switch(KillAction::Flatten, None, "outage", &clock),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    sim.faults().clear();
    let engaged = Instant::now();
    while !sim.position("BTCUSDT").is_zero() {
        assert!(
            engaged.elapsed() < Duration::from_secs(6),
            "the flatten waited for the back-off: still {} after {:?}",
            sim.position("BTCUSDT"),
            engaged.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    engine.shutdown().await;
}
