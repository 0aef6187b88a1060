#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Intake faults through the real HTTP server: a 2xx only once the signal is durable, also for
//! a retry after a store failure; error answers bounded whatever the input; lenient input
//! refused. The store failure is real: a second SQLite
//! connection holds the write lock (`BEGIN EXCLUSIVE`) past the engine's busy timeout.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use sqlx::{Connection, Executor};
use tokio_util::sync::CancellationToken;
use tradeengine_engine::RunningEngine;
use tradeengine_store::Store;

const SECRET: &str = "test-secret-not-real-0015";
const TOKEN: &str = "rest-source-token-not-real-15";
const CONTROL: &str = "control-token-not-real-00015";

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
[sources.petrosa]
type = "rest"
min_confidence = 0
[sources.petrosa.settings]
token_env = "TE_TEST_REST_TOKEN"
[[symbols]]
symbol = "BTCUSDT"
weights = { tradingview = 0.5, petrosa = 0.5 }
"#;

/// One HTTP/1.1 exchange: status, headers (lower-case names), body bytes.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> (u16, BTreeMap<String, String>, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let mut headers = BTreeMap::new();
    for line in head.lines().skip(1) {
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    if headers.get("transfer-encoding").map(String::as_str) == Some("chunked") {
        body = dechunk(&body);
    }
    (head[9..12].parse().unwrap(), headers, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 2 + n + 2..];
    }
}

async fn call(
    addr: SocketAddr,
    method: &'static str,
    path: &'static str,
    token: Option<&'static str>,
    body: Vec<u8>,
) -> (u16, BTreeMap<String, String>, Vec<u8>) {
    tokio::task::spawn_blocking(move || http(addr, method, path, token, &body))
        .await
        .unwrap()
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

struct Rig {
    addr: SocketAddr,
    store: Arc<dyn Store>,
    _engine: RunningEngine,
    _stop: CancellationToken,
}

async fn rig(dir: &Path) -> Rig {
    let store = tradeengine_store::open_sqlite_in(dir).await.unwrap();
    let config = common::config_in(CONFIG, dir);
    let env = [("TV_TEST_SECRET", SECRET), ("TE_TEST_REST_TOKEN", TOKEN)];
    let engine = common::start(config, store.clone(), &env).await;
    let auth = common::auth(None, Some(CONTROL), true);
    let (addr, stop, _server) =
        common::serve(common::app(&engine, store.clone(), auth, None)).await;
    Rig {
        addr,
        store,
        _engine: engine,
        _stop: stop,
    }
}

/// A second connection holding SQLite's write lock until it is rolled back.
async fn hold_write_lock(dir: &Path) -> sqlx::SqliteConnection {
    let url = format!(
        "sqlite://{}",
        dir.join(tradeengine_store::SQLITE_FILE_NAME).display()
    );
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    conn.execute("BEGIN EXCLUSIVE").await.unwrap();
    conn
}

async fn release(mut conn: sqlx::SqliteConnection) {
    conn.execute("ROLLBACK").await.unwrap();
    conn.close().await.unwrap();
}

async fn stored(store: &dyn Store, source: &str) -> usize {
    let all = store.recent_signals(1000, 0).await.unwrap();
    all.iter().filter(|s| s.source.as_str() == source).count()
}

fn alert(extra: &str) -> Vec<u8> {
    format!(
        r#"{{"secret":"{SECRET}","symbol":"BTCUSDT","direction":"long","size":"10/100"{extra}}}"#
    )
    .into_bytes()
}

fn seed_signal(id: &str) -> Value {
    json!({"strategy_id": "s", "signal_id": id, "symbol": "BTCUSDT", "action": "buy",
           "confidence": 0.9, "price": 60000.0, "quantity": 0.001, "current_price": 60000.0,
           "source": "ta-bot", "strategy": "s", "timestamp": chrono::Utc::now().to_rfc3339()})
}

// One scenario whose steps build on each other's state, so it stays one sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_after_a_store_failure_are_stored_not_called_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let rig = rig(dir.path()).await;
    let addr = rig.addr;

    // While the store is locked: an alert with an event id, one without, and a /trade batch.
    let lock = hold_write_lock(dir.path()).await;
    let (with_id, without_id, trade) = tokio::join!(
        call(
            addr,
            "POST",
            "/webhook/tradingview",
            None,
            alert(r#","event_id":"ev-15-1""#)
        ),
        call(addr, "POST", "/webhook/tradingview", None, alert("")),
        call(
            addr,
            "POST",
            "/trade",
            Some(TOKEN),
            json!({"signals": [seed_signal("t-15-2")]})
                .to_string()
                .into_bytes()
        ),
    );
    release(lock).await;
    assert_eq!(with_id.0, 500, "{}", json_of(&with_id.2));
    assert_eq!(without_id.0, 500, "{}", json_of(&without_id.2));
    // Not a 200 "success" for a signal that was not stored.
    let body = json_of(&trade.2);
    assert_eq!(trade.0, 503, "{body}");
    assert_eq!(trade.1.get("retry-after").map(String::as_str), Some("1"));
    assert_eq!(body["signals_not_stored"], 1, "{body}");
    assert_eq!(stored(&*rig.store, "tradingview").await, 0);
    assert_eq!(stored(&*rig.store, "petrosa").await, 0);

    // The same alerts again are taken, not answered "duplicate": the failed attempt recorded
    // nothing. Until the store health check has seen a good write again (it probes every second)
    // the engine answers 503 "not stored": a sender retries, and is never told "duplicate".
    for extra in [r#","event_id":"ev-15-1""#, ""] {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let (status, b) = loop {
            let (status, _, b) =
                call(addr, "POST", "/webhook/tradingview", None, alert(extra)).await;
            if status != 503 || std::time::Instant::now() > deadline {
                break (status, b);
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        assert_eq!(
            (status, json_of(&b)["status"].as_str()),
            (200, Some("accepted")),
            "{}",
            json_of(&b)
        );
    }
    assert_eq!(
        stored(&*rig.store, "tradingview").await,
        2,
        "both durable now"
    );
    // Once stored, a repeat is a duplicate (and the store agrees).
    let (status, _, b) = call(
        addr,
        "POST",
        "/webhook/tradingview",
        None,
        alert(r#","event_id":"ev-15-1""#),
    )
    .await;
    assert_eq!(
        (status, json_of(&b)["status"].as_str()),
        (200, Some("duplicate"))
    );

    let (status, _, b) = call(
        addr,
        "POST",
        "/trade",
        Some(TOKEN),
        json!({"signals": [seed_signal("t-15-2")]})
            .to_string()
            .into_bytes(),
    )
    .await;
    let b = json_of(&b);
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["signals_processed"], 1, "{b}");
    assert_eq!(stored(&*rig.store, "petrosa").await, 1);
}

// One scenario whose steps build on each other's state, so it stays one sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_answers_are_bounded_and_lenient_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rig = rig(dir.path()).await;
    let addr = rig.addr;

    // Bounded errors: 256 KiB of `{"signals":[0,0,…]}` used to get an 11.5 MB 422.
    let mut zeros = b"{\"signals\":[0".to_vec();
    while zeros.len() < 256 * 1024 - 8 {
        zeros.extend_from_slice(b",0");
    }
    zeros.extend_from_slice(b"]}");
    let (status, _, b) = call(addr, "POST", "/trade", Some(TOKEN), zeros).await;
    assert_eq!(status, 422);
    assert!(b.len() < 8 * 1024, "a {} byte answer", b.len());
    let detail = json_of(&b)["detail"].as_array().cloned().unwrap();
    assert_eq!(detail.len(), 21, "20 listed, the rest counted");
    assert_eq!(detail[20]["type"], "too_many_errors");

    // Echoed input is cut: a huge value in the canonical schema, and a huge key in the
    // configuration API (the extractor's and the handler's messages).
    let huge = "x".repeat(200 * 1024);
    let body = json!({"symbol": huge, "target": {"side": "flat"}}).to_string();
    let (status, _, b) = call(
        addr,
        "POST",
        "/api/v1/signals",
        Some(TOKEN),
        body.into_bytes(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(b.len() < 4 * 1024, "a {} byte answer", b.len());
    let body = json!({"symbol": "BTCUSDT", "weights": {huge.clone(): "abc"}}).to_string();
    let (status, _, b) = call(
        addr,
        "PUT",
        "/api/v1/weights",
        Some(CONTROL),
        body.into_bytes(),
    )
    .await;
    assert!(status == 422 || status == 400, "{status}");
    assert!(b.len() < 4 * 1024, "a {} byte answer", b.len());
    let body = format!(r#"{{"symbol": "BTCUSDT", "weights": {{"a": {{"{huge}": 1}}}}}}"#);
    let (status, _, b) = call(
        addr,
        "PUT",
        "/api/v1/weights",
        Some(CONTROL),
        body.into_bytes(),
    )
    .await;
    assert!(status == 422 || status == 400, "{status}");
    assert!(b.len() < 4 * 1024, "a {} byte answer", b.len());
    let (status, _, b) = call(
        addr,
        "POST",
        "/webhook/tradingview",
        None,
        alert(&format!(r#","leverage":"{}""#, &huge[..6000])),
    )
    .await;
    assert_eq!(status, 422);
    assert!(b.len() < 1024, "a {} byte answer", b.len());

    // Lenient input refused, over HTTP.
    let (status, _, b) = call(
        addr,
        "POST",
        "/webhook/tradingview",
        None,
        alert(r#","event_id":{"a":1}"#),
    )
    .await;
    assert_eq!(status, 400, "{}", json_of(&b));
    assert!(json_of(&b)["error"].as_str().unwrap().contains("event_id"));
    let (status, _, _) = call(
        addr,
        "POST",
        "/webhook/tradingview",
        None,
        alert(r#","max_lag":-5"#),
    )
    .await;
    assert_eq!(status, 422);
    for (field, value) in [
        ("timestamp", json!("9999-12-31T23:59:59Z")),
        ("timestamp", json!("yesterday")),
        ("timestamp", json!(1e20)),
        ("price", json!(-5)),
        ("symbol", json!("BTC\u{0}USDT")),
    ] {
        let mut s = seed_signal("t-15-10");
        s[field] = value.clone();
        let body = json!({"signals": [s]}).to_string().into_bytes();
        let (status, _, b) = call(addr, "POST", "/trade", Some(TOKEN), body).await;
        let b = json_of(&b);
        assert_eq!(status, 422, "{field} = {value}: {b}");
        assert_eq!(b["detail"][0]["loc"][3], field, "{b}");
    }
    assert_eq!(stored(&*rig.store, "petrosa").await, 0);
    assert_eq!(stored(&*rig.store, "tradingview").await, 0);
}
