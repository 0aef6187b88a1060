#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The SN8 source in the running engine: a local stub validator serves PTN-shaped miner
//! positions; the poller ranks the miners and their net long moves the source's BTCUSDT sleeve.
//! Then the validator fails: past the source's TTL the sleeve counts as flat (`on_stale =
//! "flat"`), so the target falls to zero although the last depth is still stored.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use rust_decimal::Decimal;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::{AccountName, Clock, SleeveOrigin, SourceId, Symbol, SystemClock};

const CONFIG: &str = r#"
[engine]
drift_check_interval_secs = 1
data_dir = "DATA"
hot_reload = false
[[accounts]]
name = "paper"
venue = "paper"
[sources.sn8]
type = "sn8"
ttl_secs = 3
on_stale = "flat"
[sources.sn8.settings]
positions_url = "URL/miner-positions"
interval_secs = 1
timeout_secs = 2
scoring = "seed"
[sources.sn8.settings.seed]
min_trades = 2
min_profitable_rate = 0.0
max_trade_age_days = 36500
[sources.sn8.settings.guard]
min_miners = 1
[mapping.sn8]
BTCUSD = "BTCUSDT"
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = { sn8 = 1.0 }
"#;

/// A miner with one closed winning BTC trade and one open long of `lev`.
fn miner(hotkey: &str, lev: f64, now_ms: i64) -> serde_json::Value {
    let pair = serde_json::json!(["BTCUSD", "BTC/USD", 0.003, 0.01, 0.5]);
    serde_json::json!({
        "all_time_returns": 1.05, "thirty_day_returns": 1.02, "n_positions": 2, "percentage_profitable": 1.0,
        "positions": [
            {"miner_hotkey": hotkey, "position_uuid": format!("{hotkey}-a"), "trade_pair": pair,
             "open_ms": now_ms - 86_400_000, "close_ms": now_ms - 3_600_000, "is_closed_position": true,
             "position_type": "FLAT", "net_leverage": 0.0, "average_entry_price": 60000.0,
             "current_return": 1.02, "return_at_close": 1.02,
             "orders": [
                {"order_type": "LONG", "leverage": 0.2, "price": 60000.0, "processed_ms": now_ms - 86_400_000, "order_uuid": format!("{hotkey}-o1"), "src": 0},
                {"order_type": "FLAT", "leverage": -0.2, "price": 61000.0, "processed_ms": now_ms - 3_600_000, "order_uuid": format!("{hotkey}-o2"), "src": 0}
             ]},
            {"miner_hotkey": hotkey, "position_uuid": format!("{hotkey}-b"), "trade_pair": pair,
             "open_ms": now_ms - 600_000, "close_ms": 0, "is_closed_position": false,
             "position_type": "LONG", "net_leverage": lev, "average_entry_price": 62000.0,
             "current_return": 1.01, "return_at_close": 1.01,
             "orders": [
                {"order_type": "LONG", "leverage": lev, "price": 62000.0, "processed_ms": now_ms - 600_000, "order_uuid": format!("{hotkey}-o3"), "src": 0}
             ]}
        ]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sn8_feeds_a_sleeve_and_goes_flat_when_stale() {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let payload = serde_json::json!({
        "5MinerA": miner("5MinerA", 0.4, now_ms),
        "5MinerB": miner("5MinerB", 0.3, now_ms),
        "5MinerC": miner("5MinerC", 0.2, now_ms),
    })
    .to_string();
    let failing = Arc::new(AtomicBool::new(false));
    let fail = failing.clone();
    let app = Router::new().route(
        "/miner-positions",
        get(move || {
            let body = payload.clone();
            let fail = fail.clone();
            async move {
                if fail.load(Ordering::SeqCst) {
                    (StatusCode::SERVICE_UNAVAILABLE, String::new())
                } else {
                    (StatusCode::OK, body)
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let text = CONFIG
        .replace("DATA", &dir.path().display().to_string())
        .replace("URL", &url);
    let config = load_str(&text, None, &[], &Overrides::default()).unwrap();
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
    let key = (
        SourceId::new("sn8").unwrap(),
        Symbol::new("BTCUSDT").unwrap(),
    );
    let account = AccountName::new("paper").unwrap();

    // The poller ranks the three miners; their net long gives the sleeve a positive depth, and
    // the account goes long.
    let start = Instant::now();
    let depth = loop {
        let d = engine.state.sleeve(&key).await.map(|s| s.exposure);
        if let Some(SleeveOrigin::Depth(d)) = d
            && d > Decimal::ZERO
        {
            break d;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no sn8 depth arrived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(depth <= Decimal::ONE, "depth is clamped to ±1: {depth}");
    let long = loop {
        let size = engine.venues[&account]
            .positions()
            .await
            .unwrap()
            .first()
            .map(|p| p.size.get())
            .unwrap_or_default();
        if size > Decimal::ZERO {
            break size;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the account never went long"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(long > Decimal::ZERO);

    // The validator goes down: after the TTL the sleeve is stale and counts as flat.
    failing.store(true, Ordering::SeqCst);
    let down = Instant::now();
    loop {
        let size = engine.venues[&account]
            .positions()
            .await
            .unwrap()
            .first()
            .map(|p| p.size.get())
            .unwrap_or_default();
        if size.is_zero() {
            break;
        }
        assert!(
            down.elapsed() < Duration::from_secs(20),
            "a stale sn8 source must stop moving money"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        down.elapsed() >= Duration::from_secs(2),
        "not before the TTL"
    );
    engine.shutdown().await;
    assert!(store.verify_audit().await.unwrap().is_ok());
}

/// The validator starts failing: with the engine's clock moved six minutes on, the source is
/// stale in the freshness book (since when, and why: the last fetch error), not only in a log
/// line. A miner whose positions come as a JSON-encoded string (the older override format) is
/// read like any other; one whose string does not parse is a recorded refusal
/// (`unreadable_position`), never a silent drop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_validator_makes_the_source_stale_with_its_reason() {
    let clock = Arc::new(tradeengine_model::ManualClock::new(chrono::Utc::now()));
    let now_ms = clock.now().timestamp_millis();
    let encoded = serde_json::to_string(&miner("5MinerS", 0.5, now_ms)["positions"]).unwrap();
    let mut as_string = miner("5MinerS", 0.5, now_ms);
    as_string["positions"] = serde_json::Value::String(encoded);
    let mut garbled = miner("5MinerG", 0.5, now_ms);
    garbled["positions"] = serde_json::Value::String("[{\"trade_pair\": ".into());
    let payload = serde_json::json!({
        "5MinerA": miner("5MinerA", 0.4, now_ms),
        "5MinerS": as_string,
        "5MinerG": garbled,
    })
    .to_string();
    let failing = Arc::new(AtomicBool::new(false));
    let fail = failing.clone();
    let app = Router::new().route(
        "/miner-positions",
        get(move || {
            let body = payload.clone();
            let fail = fail.clone();
            async move {
                if fail.load(Ordering::SeqCst) {
                    (StatusCode::SERVICE_UNAVAILABLE, String::new())
                } else {
                    (StatusCode::OK, body)
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let text = CONFIG
        .replace("DATA", &dir.path().display().to_string())
        .replace("URL", &url)
        .replace("ttl_secs = 3", "ttl_secs = 120")
        .replace("on_stale = \"flat\"", "on_stale = \"hold\"");
    let config = load_str(&text, None, &[], &Overrides::default()).unwrap();
    let engine = RunningEngine::start(
        config,
        store.clone(),
        StartOptions {
            clock: clock.clone(),
            live_confirmed: false,
            config_path: None,
            env_overrides: Default::default(),
        },
    )
    .await
    .unwrap();
    let state = engine.state.clone();
    wait_for("no accepted poll", || {
        state
            .freshness_of("sn8")
            .is_some_and(|f| f.last_success.is_some())
    })
    .await;
    let fresh = state.freshness_of("sn8").unwrap();
    assert!(!fresh.stale && fresh.last_error.is_none(), "{fresh:?}");
    assert_eq!((fresh.kind.as_str(), fresh.ttl_secs), ("sn8", 120));
    let started = fresh.last_success.unwrap();

    // Down, and six minutes pass on the engine's clock.
    failing.store(true, Ordering::SeqCst);
    wait_for("no failed poll", || {
        state
            .freshness_of("sn8")
            .is_some_and(|f| f.consecutive_failures > 0)
    })
    .await;
    assert!(
        !state.freshness_of("sn8").unwrap().stale,
        "not stale within its TTL"
    );
    clock.advance(chrono::Duration::minutes(6));
    wait_for("never stale", || {
        state.freshness_of("sn8").is_some_and(|f| f.stale)
    })
    .await;
    let stale = state.freshness_of("sn8").unwrap();
    assert_eq!(stale.last_success, Some(started), "{stale:?}");
    assert!(
        stale
            .stale_since
            .is_some_and(|t| t >= started + chrono::Duration::minutes(6))
    );
    let why = stale.last_error.clone().unwrap();
    assert!(why.starts_with("fetch:") && why.contains("503"), "{why}");

    // Back: fresh again, the error cleared.
    failing.store(false, Ordering::SeqCst);
    wait_for("never fresh again", || {
        state.freshness_of("sn8").is_some_and(|f| !f.stale)
    })
    .await;
    assert!(state.freshness_of("sn8").unwrap().last_error.is_none());

    // The miner whose positions were a string was read; the garbled one is counted, by reason.
    let refused = store.refused_signals(Some("sn8"), 100).await.unwrap();
    let unreadable = refused
        .iter()
        .find(|r| r.code == "unreadable_position")
        .unwrap_or_else(|| panic!("no unreadable row recorded: {refused:?}"));
    assert!(
        unreadable.body.as_deref().unwrap().contains("\"rows\":1"),
        "{unreadable:?}"
    );
    // Only the garbled miner has no usable positions.
    let no_positions = refused
        .iter()
        .find(|r| r.code == "no_universe_positions")
        .unwrap_or_else(|| panic!("{refused:?}"));
    assert!(
        no_positions
            .body
            .as_deref()
            .unwrap()
            .contains("\"miners\":1"),
        "{no_positions:?}"
    );
    engine.shutdown().await;
}

/// Polls `done` until it holds (20 s at most).
async fn wait_for(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(20), "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
