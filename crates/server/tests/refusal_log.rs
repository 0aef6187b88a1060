#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Wrong-secret alerts are what anyone on the internet can send: they reach the log only through
//! the refusal line (one WARN per source and reason per minute, with the count), never one line
//! each. The engine runs on a manual clock, so "a minute" is the test's to decide.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::ManualClock;

const SECRET: &str = "test-secret-not-real-0016";

async fn post(addr: SocketAddr, body: String) -> u16 {
    tokio::task::spawn_blocking(move || {
        common::json_request(addr, "POST", "/webhook/tradingview", None, &body).0
    })
    .await
    .unwrap()
}

fn wrong_secret_alert(k: usize) -> String {
    format!(
        r#"{{"passphrase":"a-wrong-guess-{k:04}","symbol":"BINANCE:BTCUSDT.P","action":"buy","size":"10/100"}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_alerts_log_one_warn_line_a_minute_with_the_count() {
    let logs = common::logs::capture();
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let config = common::config_in(common::TV_CONFIG, dir.path());
    let clock = Arc::new(ManualClock::new(
        chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap(),
    ));
    let engine = RunningEngine::start(
        config,
        store.clone(),
        StartOptions {
            clock: clock.clone(),
            live_confirmed: false,
            config_path: None,
            env_overrides: BTreeMap::from([("TV_TEST_SECRET".into(), SECRET.into())]),
        },
    )
    .await
    .unwrap();
    let app = common::app(
        &engine,
        store.clone(),
        common::auth(None, None, false),
        None,
    );
    let (addr, stop, server) = common::serve(app).await;

    let mark = logs.lines().len();
    for k in 0..5 {
        assert_eq!(post(addr, wrong_secret_alert(k)).await, 401);
        clock.advance(chrono::Duration::seconds(5));
    }
    let warned = logs.warnings_since(mark);
    assert_eq!(warned.len(), 1, "one WARN line for five: {warned:#?}");
    assert!(
        warned[0].contains("signals refused")
            && warned[0].contains("reason=auth")
            && warned[0].contains("count=1"),
        "{}",
        warned[0]
    );
    // Nothing of the guesses is in the log.
    let all = logs.since(mark).join("\n");
    assert!(!all.contains("a-wrong-guess"), "{all}");

    // Past the minute, the next refusal's line counts the four held back and itself.
    clock.advance(chrono::Duration::seconds(60));
    let mark = logs.lines().len();
    assert_eq!(post(addr, wrong_secret_alert(5)).await, 401);
    let warned = logs.warnings_since(mark);
    assert_eq!(warned.len(), 1, "{warned:#?}");
    assert!(warned[0].contains("count=5"), "{}", warned[0]);

    // Every refusal is still stored and listed.
    let refused = store
        .refused_signals(Some("tradingview"), 100)
        .await
        .unwrap();
    assert_eq!(refused.iter().filter(|r| r.code == "auth").count(), 6);

    stop.cancel();
    server.await.unwrap();
    engine.shutdown().await;
}
