#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! A refusal never shows a source's secret, even when the sender put it in a field the reason
//! echoes: a TradingView alert whose `symbol` is the webhook secret is refused as an unknown
//! symbol, and neither `GET /api/v1/signals/refused`, the stored row, the audit trail nor the
//! answer to the sender holds the secret; the same for a REST source's token sent as a symbol.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use secrecy::SecretString;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::SystemClock;
use tradeengine_server::AppState;
use tradeengine_server::api::auth::ApiAuth;

const SECRET: &str = "fake-tv-secret-in-symbol-0003";
const TOKEN: &str = "fake-rest-token-in-symbol-0003";
const READ: &str = "api-read-token-00000000003";

const CONFIG: &str = r#"
[engine]
drift_check_interval_secs = 3600
data_dir = "DATA"
hot_reload = false
[[accounts]]
name = "paper"
venue = "paper"
[sources.tv]
type = "tradingview"
[sources.tv.settings]
secret_env = "TV_SECRET_IN_SYMBOL"
[sources.api]
type = "rest"
[sources.api.settings]
token_env = "REST_TOKEN_IN_SYMBOL"
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = { tv = 0.5, api = 0.5 }
"#;

/// One HTTP/1.1 request (blocking); the status and the whole answer's text.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    (text[9..12].parse().unwrap(), text)
}

async fn call(
    addr: SocketAddr,
    method: &'static str,
    path: &'static str,
    token: Option<&'static str>,
    body: String,
) -> (u16, String) {
    tokio::task::spawn_blocking(move || request(addr, method, path, token, &body))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_sent_as_the_symbol_is_not_in_the_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let config = load_str(
        &CONFIG.replace("DATA", &dir.path().display().to_string()),
        None,
        &[],
        &Overrides::default(),
    )
    .unwrap();
    let env = BTreeMap::from([
        ("TV_SECRET_IN_SYMBOL".to_string(), SECRET.to_string()),
        ("REST_TOKEN_IN_SYMBOL".to_string(), TOKEN.to_string()),
    ]);
    let options = StartOptions {
        clock: Arc::new(SystemClock),
        live_confirmed: false,
        config_path: None,
        env_overrides: env,
    };
    let engine = RunningEngine::start(config, store.clone(), options)
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let app = AppState {
        engine: engine.state.clone(),
        intake: engine.intake.clone(),
        store: store.clone(),
        auth: ApiAuth {
            read: Some(SecretString::from(READ.to_string())),
            control: None,
            loopback: false,
        },
        started_at: engine.started_at(),
        metrics: None,
    };
    let (addr, server) =
        tradeengine_server::serve("127.0.0.1:0".parse().unwrap(), app, stop.clone())
            .await
            .unwrap();

    let alert = json!({"secret": SECRET, "symbol": SECRET, "direction": "long"});
    let (status, answer) = call(addr, "POST", "/webhook/tv", None, alert.to_string()).await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        !answer.contains(SECRET),
        "the answer echoes the secret: {answer}"
    );
    let signal = json!({"strategy_id": "s", "symbol": TOKEN, "action": "buy", "confidence": 0.8});
    let (status, answer) = call(addr, "POST", "/trade", Some(TOKEN), signal.to_string()).await;
    assert_eq!(status, 422, "{answer}");

    let (status, listed) = call(
        addr,
        "GET",
        "/api/v1/signals/refused?limit=100",
        Some(READ),
        String::new(),
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    let body = listed.split("\r\n\r\n").nth(1).unwrap_or_default();
    let json_line = body.lines().find(|l| l.starts_with('[')).unwrap_or(body);
    let rows: Value = serde_json::from_str(json_line).unwrap();
    let rows = rows.as_array().unwrap();
    let row = |source: &str| rows.iter().find(|r| r["source"] == source).cloned();
    let tv = row("tv").unwrap_or_else(|| panic!("no tv refusal in {listed}"));
    assert_eq!(tv["code"], "unknown_symbol", "{tv}");
    assert!(
        tv["reason"].as_str().unwrap().contains("[redacted]"),
        "{tv}"
    );
    let api = row("api").unwrap_or_else(|| panic!("no api refusal in {listed}"));
    assert_eq!(api["code"], "unknown_symbol", "{api}");
    for secret in [SECRET, TOKEN] {
        assert!(!listed.contains(secret), "{secret} listed: {listed}");
    }
    let audit = store.audit_events(0, 1000).await.unwrap();
    let audit = serde_json::to_string(&audit).unwrap();
    for secret in [SECRET, TOKEN] {
        assert!(!audit.contains(secret), "{secret} audited: {audit}");
    }

    stop.cancel();
    let _ = server.await;
    engine.shutdown().await;
}
