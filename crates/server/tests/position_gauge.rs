#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! `tradeengine_position_size` follows the venue: after a flat alert closes the position, the
//! gauge of that account and symbol reads 0, not the size it had while open. (The gauges are
//! set at scrape time from the account views, which list open positions only.)

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::SystemClock;
use tradeengine_server::AppState;
use tradeengine_server::api::auth::ApiAuth;

const SECRET: &str = "fake-tv-secret-gauge-0004";

const CONFIG: &str = r#"
[engine]
drift_check_interval_secs = 1
data_dir = "DATA"
hot_reload = false
[[accounts]]
name = "paper"
venue = "paper"
min_order_notional = 5
[accounts.paper]
starting_balance = 10000
price_source = "walk"
seed = 7
[sources.tv]
type = "tradingview"
[sources.tv.settings]
secret_env = "TV_GAUGE_SECRET"
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = { tv = 1 }
"#;

fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text
}

async fn call(addr: SocketAddr, method: &'static str, path: &'static str, body: String) -> String {
    tokio::task::spawn_blocking(move || request(addr, method, path, &body))
        .await
        .unwrap()
}

/// The value of the BTCUSDT position gauge in a scrape, when it is there.
fn btc_size(scrape: &str) -> Option<f64> {
    scrape
        .lines()
        .find(|l| {
            l.starts_with("tradeengine_position_size{")
                && l.contains("account=\"paper\"")
                && l.contains("symbol=\"BTCUSDT\"")
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn btc_open(engine: &RunningEngine) -> bool {
    engine
        .state
        .account_views()
        .await
        .values()
        .flat_map(|v| v.positions.iter())
        .any(|p| p.symbol.as_str() == "BTCUSDT" && !p.size.get().is_zero())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_position_gauge_reads_zero_after_a_close() {
    let handle = tradeengine_server::metrics::install().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let config = load_str(
        &CONFIG.replace("DATA", &dir.path().display().to_string()),
        None,
        &[],
        &Overrides::default(),
    )
    .unwrap();
    let options = StartOptions {
        clock: Arc::new(SystemClock),
        live_confirmed: false,
        config_path: None,
        env_overrides: BTreeMap::from([("TV_GAUGE_SECRET".to_string(), SECRET.to_string())]),
    };
    let engine = RunningEngine::start(config, store.clone(), options)
        .await
        .unwrap();
    let app = AppState {
        engine: engine.state.clone(),
        intake: engine.intake.clone(),
        store: store.clone(),
        auth: ApiAuth {
            read: None,
            control: None,
            loopback: true,
        },
        started_at: engine.started_at(),
        metrics: Some(handle),
    };
    let stop = CancellationToken::new();
    let (addr, server) =
        tradeengine_server::serve("127.0.0.1:0".parse().unwrap(), app, stop.clone())
            .await
            .unwrap();

    let alert = |direction: &str, size: &str| {
        serde_json::json!({"secret": SECRET, "symbol": "BTCUSDT", "direction": direction,
            "size": size})
        .to_string()
    };
    let answer = call(addr, "POST", "/webhook/tv", alert("long", "50/100")).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Waits (not a timed assertion) until the paper venue holds the position and it is scraped.
    let mut open = None;
    for _ in 0..120 {
        let scrape = call(addr, "GET", "/metrics", String::new()).await;
        open = btc_size(&scrape).filter(|s| *s != 0.0);
        if open.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(open.is_some(), "the position never opened");

    let answer = call(addr, "POST", "/webhook/tv", alert("flat", "0/100")).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    for _ in 0..120 {
        if !btc_open(&engine).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(!btc_open(&engine).await, "the position never closed");
    let scrape = call(addr, "GET", "/metrics", String::new()).await;
    assert_eq!(
        btc_size(&scrape),
        Some(0.0),
        "after the close, {open:?} before:\n{scrape}"
    );

    stop.cancel();
    let _ = server.await;
    engine.shutdown().await;
}
