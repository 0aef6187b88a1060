#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Store loss over HTTP: once the SQLite file is deleted under the engine, `/ready` answers 503
//! with `store: false` and the reason, and a webhook alert is answered 503 (never "accepted"
//! into a file no one will read again).

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tradeengine_server::api::auth::ApiAuth;

const SECRET: &str = "test-secret-not-real-0002";

fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    common::request(addr, method, path, &[], "text/plain", body)
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
    let config = common::config_in(common::TV_CONFIG, dir.path());
    let engine = common::start(config, store.clone(), &[("TV_TEST_SECRET", SECRET)]).await;
    let app = common::app(&engine, store.clone(), ApiAuth::default(), None);
    let (addr, stop, server) = common::serve(app).await;
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
    // The sender is told it was not stored and to send it again, not "internal error".
    assert!(body.to_string().contains("not stored"), "{body}");

    stop.cancel();
    let _ = server.await;
    engine.shutdown().await;
}
