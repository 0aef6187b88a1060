#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! A dead SN8 validator, end to end: past the source's TTL it is stale in
//! `GET /api/v1/sources` (since when, and why), every symbol it feeds says so in
//! `GET /api/v1/symbols` (`stale_sources`, `"stale": true` on its contribution), the
//! `tradeengine_source_stale` gauge is 1, and the log says it once (a WARN when it goes stale, a
//! reminder at most every 10 minutes, an INFO when it is back), not every poll. The engine runs
//! on a manual clock; the validator is a local stub that can be switched to 503.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::Value;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::{Clock, ManualClock};

const READ: &str = "api-read-token-00000000016";

const CONFIG: &str = r#"
[engine]
drift_check_interval_secs = 3600
data_dir = "DATA"
hot_reload = false
[[accounts]]
name = "paper"
venue = "paper"
[sources.sn8]
type = "sn8"
ttl_secs = 120
on_stale = "hold"
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
fn miner(hotkey: &str, lev: f64, now_ms: i64) -> Value {
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

/// A stub validator serving two miners, or 503 while `failing` is set; its base URL.
async fn validator(now_ms: i64, failing: Arc<AtomicBool>) -> String {
    let payload = serde_json::json!({
        "5MinerA": miner("5MinerA", 0.4, now_ms),
        "5MinerB": miner("5MinerB", 0.3, now_ms),
    })
    .to_string();
    let app = Router::new().route(
        "/miner-positions",
        get(move || {
            let body = payload.clone();
            let fail = failing.clone();
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
    url
}

async fn api(addr: SocketAddr, path: &'static str) -> Value {
    let (status, body) = tokio::task::spawn_blocking(move || {
        common::json_request(addr, "GET", path, Some(READ), "")
    })
    .await
    .unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    body
}

async fn stale_gauge(addr: SocketAddr) -> Option<String> {
    let text = tokio::task::spawn_blocking(move || common::get_raw(addr, "/metrics"))
        .await
        .unwrap();
    text.lines()
        .find(|l| l.starts_with("tradeengine_source_stale{source=\"sn8\"}"))
        .map(|l| l.rsplit(' ').next().unwrap_or_default().to_string())
}

/// Polls `done` until it holds (20 s at most).
async fn wait_for(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(20), "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn count(lines: &[String], text: &str) -> usize {
    lines.iter().filter(|l| l.contains(text)).count()
}

// One scenario: each step starts from the state the one before left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_validator_is_stale_in_the_api_the_gauge_and_once_in_the_log() {
    let logs = common::logs::capture();
    let metrics = tradeengine_server::metrics::install().unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let failing = Arc::new(AtomicBool::new(false));
    let url = validator(clock.now().timestamp_millis(), failing.clone()).await;
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
            clock: clock.clone(),
            live_confirmed: false,
            config_path: None,
            env_overrides: BTreeMap::new(),
        },
    )
    .await
    .unwrap();
    let app = common::app(
        &engine,
        store.clone(),
        common::auth(Some(READ), None, false),
        Some(metrics),
    );
    let (addr, stop, server) = common::serve(app).await;
    let state = engine.state.clone();
    let failures = || {
        state
            .freshness_of("sn8")
            .map(|f| f.consecutive_failures)
            .unwrap_or_default()
    };

    // Fresh: a ranking was accepted and the sleeve feeds BTCUSDT.
    wait_for("no accepted poll", || {
        state
            .freshness_of("sn8")
            .is_some_and(|f| f.last_success.is_some())
    })
    .await;
    let start = Instant::now();
    while !has_sn8_contribution(&api(addr, "/api/v1/symbols").await) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no sn8 contribution"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sources = api(addr, "/api/v1/sources").await;
    assert_eq!(sources["sn8"]["freshness"]["stale"], false, "{sources}");
    // No tier configured: the validator's default, 100, and it is always shown.
    assert_eq!(sources["sn8"]["tier"], 100, "{sources}");
    assert_eq!(sources["sn8"]["stream"], false, "{sources}");
    assert_eq!(stale_gauge(addr).await.as_deref(), Some("0"));
    let symbols = api(addr, "/api/v1/symbols").await;
    assert_eq!(
        symbols[0]["stale_sources"],
        serde_json::json!({}),
        "{symbols}"
    );

    // The validator dies; the clock passes the TTL.
    let mark = logs.lines().len();
    failing.store(true, Ordering::SeqCst);
    wait_for("no failed poll", || failures() > 0).await;
    clock.advance(chrono::Duration::minutes(6));
    wait_for("never stale", || {
        state.freshness_of("sn8").is_some_and(|f| f.stale)
    })
    .await;
    // Several polls more, all failing, all stale.
    let seen = failures();
    wait_for("polls stopped", || failures() >= seen + 3).await;

    let sources = api(addr, "/api/v1/sources").await;
    let f = &sources["sn8"]["freshness"];
    assert_eq!(f["stale"], true, "{sources}");
    assert!(f["stale_since"].is_string(), "{sources}");
    assert!(f["last_success"].is_string(), "{sources}");
    let why = f["last_error"].as_str().unwrap();
    assert!(why.starts_with("fetch:") && why.contains("503"), "{why}");
    assert_eq!(stale_gauge(addr).await.as_deref(), Some("1"));
    let symbols = api(addr, "/api/v1/symbols").await;
    let btc = &symbols[0];
    assert_eq!(btc["symbol"], "BTCUSDT");
    assert!(btc["stale_sources"]["sn8"].is_string(), "{btc}");
    let contribution = btc["blend"]["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["source"] == "sn8")
        .unwrap_or_else(|| panic!("no sn8 contribution: {btc}"));
    assert_eq!(contribution["stale"], true, "{contribution}");
    assert_eq!(
        contribution["stale_since"], f["stale_since"],
        "{contribution}"
    );

    // The log: one WARN for the failures, one when it went stale, none per poll.
    let warned = logs.warnings_since(mark);
    assert_eq!(count(&warned, "sn8 fetch failed"), 1, "{warned:#?}");
    assert_eq!(count(&warned, "source is stale"), 1, "{warned:#?}");
    assert_eq!(count(&warned, "still stale"), 0, "{warned:#?}");

    // Ten minutes on, one reminder, then quiet again.
    let mark = logs.lines().len();
    clock.advance(chrono::Duration::minutes(10));
    let seen = failures();
    wait_for("polls stopped", || failures() >= seen + 3).await;
    let warned = logs.warnings_since(mark);
    assert_eq!(count(&warned, "still stale"), 1, "{warned:#?}");
    assert_eq!(warned.len(), 1, "{warned:#?}");

    // Back: fresh, the gauge at 0, an INFO line.
    let mark = logs.lines().len();
    failing.store(false, Ordering::SeqCst);
    wait_for("never fresh again", || {
        state.freshness_of("sn8").is_some_and(|f| !f.stale)
    })
    .await;
    let sources = api(addr, "/api/v1/sources").await;
    assert_eq!(sources["sn8"]["freshness"]["stale"], false, "{sources}");
    assert!(sources["sn8"]["freshness"]["stale_since"].is_null());
    assert_eq!(stale_gauge(addr).await.as_deref(), Some("0"));
    let said = logs.since(mark);
    assert_eq!(count(&said, "source is fresh again"), 1, "{said:#?}");
    assert!(
        said.iter()
            .filter(|l| l.contains("source is fresh again"))
            .all(|l| l.contains("INFO")),
        "{said:#?}"
    );

    stop.cancel();
    server.await.unwrap();
    engine.shutdown().await;
}

/// Whether the first symbol's blend has a contribution from `sn8`.
fn has_sn8_contribution(symbols: &Value) -> bool {
    symbols[0]["blend"]["contributions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["source"] == "sn8"))
}
