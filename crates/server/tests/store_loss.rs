#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Store loss over HTTP: once the SQLite file is deleted under the engine, `/ready` answers 503
//! with `store: false` and the reason, and a webhook alert is answered 503 (never "accepted"
//! into a file no one will read again).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::SystemClock;
use tradeengine_server::AppState;

const SECRET: &str = "test-secret-not-real-0002";

const CONFIG: &str = r#"
[engine]
drift_check_interval_secs = 3600
data_dir = "DATA"
hot_reload = false
[[accounts]]
name = "paper"
venue = "paper"
[sources.tradingview]
type = "tradingview"
[sources.tradingview.settings]
secret_env = "TV_TEST_SECRET"
[mapping.tradingview]
"BINANCE:BTCUSDT.P" = "BTCUSDT"
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = { tradingview = 1.0 }
"#;

fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status: u16 = text[9..12].parse().unwrap();
    let json = text
        .split("\r\n\r\n")
        .nth(1)
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or_default();
    (status, json)
}

async fn call(
    addr: SocketAddr,
    method: &'static str,
    path: &'static str,
    body: String,
) -> (u16, serde_json::Value) {
    tokio::task::spawn_blocking(move || request(addr, method, path, &body))
        .await
        .unwrap()
}

fn alert(id: &str) -> String {
    format!(
        r#"{{"secret":"{SECRET}","symbol":"BINANCE:BTCUSDT.P","direction":"long","action":"buy","size":"10/100","event_id":"{id}"}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_database_makes_ready_and_intake_answer_503() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let config = load_str(
        &CONFIG.replace("DATA", &dir.path().display().to_string()),
        None,
        &[],
        &Overrides::default(),
    )
    .unwrap();
    let mut env = BTreeMap::new();
    env.insert("TV_TEST_SECRET".to_string(), SECRET.to_string());
    let engine = RunningEngine::start(
        config,
        store.clone(),
        StartOptions {
            clock: Arc::new(SystemClock),
            live_confirmed: false,
            config_path: None,
            env_overrides: env,
        },
    )
    .await
    .unwrap();
    let stop = CancellationToken::new();
    let app = AppState {
        engine: engine.state.clone(),
        intake: engine.intake.clone(),
        store: store.clone(),
        auth: Default::default(),
        started_at: engine.started_at(),
        metrics: None,
    };
    let (addr, server) =
        tradeengine_server::serve("127.0.0.1:0".parse().unwrap(), app, stop.clone())
            .await
            .unwrap();
    let (status, body) = call(addr, "POST", "/webhook/tradingview", alert("a-1")).await;
    assert_eq!(status, 200, "{body}");
    // Ready first (the paper account reconciled), with no store fault.
    let start = Instant::now();
    loop {
        let (status, ready) = call(addr, "GET", "/ready", String::new()).await;
        if status == 200 {
            assert!(ready.get("store_fault").is_none(), "{ready}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "never ready: {ready}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    std::fs::remove_file(dir.path().join(tradeengine_store::SQLITE_FILE_NAME)).unwrap();
    let start = Instant::now();
    let ready = loop {
        let (status, ready) = call(addr, "GET", "/ready", String::new()).await;
        if status == 503 && ready.get("store_fault").is_some() {
            break ready;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "/ready stayed {status}: {ready}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(ready["ready"], false);
    assert_eq!(ready["store"], false);
    // "deleted", or "replaced" when a pooled connection re-created the path first.
    let fault = ready["store_fault"].as_str().unwrap();
    assert!(
        fault.contains("deleted") || fault.contains("replaced"),
        "{ready}"
    );
    let (status, body) = call(addr, "POST", "/webhook/tradingview", alert("a-2")).await;
    assert_eq!(status, 503, "{body}");

    stop.cancel();
    let _ = server.await;
    engine.shutdown().await;
}
