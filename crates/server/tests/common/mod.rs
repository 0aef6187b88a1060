//! Set-up the server's integration tests share: an engine on a store, its application state,
//! the server on a free loopback port, and a bare HTTP/1.1 client (a test sees the bytes the
//! server sends, with no client library in between).
#![allow(dead_code)] // each test binary uses part of this

pub mod logs;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::SecretString;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tradeengine_engine::config::{Config, Overrides, load_str};
use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::SystemClock;
use tradeengine_server::AppState;
use tradeengine_server::api::auth::ApiAuth;
use tradeengine_store::Store;

/// One paper account trading BTCUSDT on one TradingView source (`tradingview`, secret from
/// `TV_TEST_SECRET`, symbol `BINANCE:BTCUSDT.P`); data in `DATA`.
pub const TV_CONFIG: &str = r#"
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

/// A test configuration with its `DATA` placeholder replaced by `dir`.
pub fn config_in(text: &str, dir: &Path) -> Config {
    load_str(
        &text.replace("DATA", &dir.display().to_string()),
        None,
        &[],
        &Overrides::default(),
    )
    .unwrap()
}

/// The embedded demo's configuration with its data in `dir`.
pub fn demo_config_in(dir: &Path) -> Config {
    let text = tradeengine_engine::config::demo::DEMO_TOML.replace(
        "data_dir = \"tradeengine-data\"",
        &format!("data_dir = \"{}\"", dir.display()),
    );
    load_str(&text, None, &[], &Overrides::default()).unwrap()
}

/// The secrets the demo's TradingView and REST sources read (fake).
pub const DEMO_ENV: [(&str, &str); 2] = [
    ("TRADEENGINE_TV_SECRET", "tv-not-real"),
    ("TRADEENGINE_REST_TOKEN", "rest-token-not-real-0001"),
];

/// Starts an engine on `store` with a real clock, nothing live, and these variables set for it
/// (secrets and tokens the configuration names).
pub async fn start(config: Config, store: Arc<dyn Store>, env: &[(&str, &str)]) -> RunningEngine {
    start_from(config, store, env, None).await
}

/// [`start`] for a configuration read from `config_path` (which the engine then writes to).
pub async fn start_from(
    config: Config,
    store: Arc<dyn Store>,
    env: &[(&str, &str)],
    config_path: Option<PathBuf>,
) -> RunningEngine {
    let env_overrides: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    RunningEngine::start(
        config,
        store,
        StartOptions {
            clock: Arc::new(SystemClock),
            live_confirmed: false,
            config_path,
            env_overrides,
        },
    )
    .await
    .unwrap()
}

/// API tokens for the read and control scopes (`None`: that scope refuses every request).
pub fn auth(read: Option<&str>, control: Option<&str>, loopback: bool) -> ApiAuth {
    ApiAuth {
        read: read.map(|t| SecretString::from(t.to_string())),
        control: control.map(|t| SecretString::from(t.to_string())),
        loopback,
    }
}

/// The application state over a running engine.
pub fn app(
    engine: &RunningEngine,
    store: Arc<dyn Store>,
    auth: ApiAuth,
    metrics: Option<PrometheusHandle>,
) -> AppState {
    AppState {
        engine: engine.state.clone(),
        intake: engine.intake.clone(),
        store,
        auth,
        started_at: engine.started_at(),
        metrics,
    }
}

/// Serves `app` on a free loopback port until the token is cancelled.
pub async fn serve(app: AppState) -> (SocketAddr, CancellationToken, tokio::task::JoinHandle<()>) {
    let stop = CancellationToken::new();
    let (addr, server) =
        tradeengine_server::serve("127.0.0.1:0".parse().unwrap(), app, stop.clone())
            .await
            .unwrap();
    (addr, stop, server)
}

/// A bare `GET` with no body; the whole response as text (status line, headers, body).
pub fn get_raw(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text
}

/// One HTTP/1.1 request with these extra headers; the status and the JSON body (`Null` when the
/// body is not JSON; a chunked body is read from the line after its size).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    content_type: &str,
    body: &str,
) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{extra}Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status: u16 = text[9..12].parse().unwrap();
    let json = text
        .split("\r\n\r\n")
        .nth(1)
        .and_then(|b| {
            serde_json::from_str(b)
                .ok()
                .or_else(|| b.lines().nth(1).and_then(|l| serde_json::from_str(l).ok()))
        })
        .unwrap_or_default();
    (status, json)
}

/// A JSON request with an optional bearer token.
pub fn json_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| vec![("Authorization", a)])
        .unwrap_or_default();
    request(addr, method, path, &headers, "application/json", body)
}
