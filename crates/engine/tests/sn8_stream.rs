#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The SN8 source on the validator's WebSocket stream, in the running engine: a stand-in
//! validator serves REST `/miner-positions` and the stream (its frames as
//! taoshidev/vanta-network `vanta_api/websocket_server.py` writes them, copied in
//! `crates/signals/tests/testdata/sn8`). The stream moves the sleeve without a REST poll of the
//! positions; a sequence gap and a reconnection each rebuild the book from REST.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::IntoResponse;
use axum::routing::get;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tokio::sync::broadcast;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::{SleeveOrigin, SourceId, Symbol, SystemClock};

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
ttl_secs = 120
on_stale = "flat"
[sources.sn8.settings]
positions_url = "URL/miner-positions"
stream_url = "WS/ws"
tier = 100
interval_secs = 1
timeout_secs = 2
scoring = "seed"
[sources.sn8.settings.seed]
min_trades = 1
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

const AUTH_OK: &str = include_str!("../../signals/tests/testdata/sn8/ws_auth_success.json");
const SUBSCRIBED: &str =
    include_str!("../../signals/tests/testdata/sn8/ws_subscription_status.json");

/// The open BTC long of `lev` the one miner holds, as REST and the stream both write it.
fn open_position(lev: f64, now_ms: i64) -> serde_json::Value {
    serde_json::json!({"miner_hotkey": "5Miner", "position_uuid": "5Miner-b",
        "trade_pair": ["BTCUSD", "BTC/USD", 0.003, 0.01, 0.5],
        "open_ms": now_ms - 600_000, "close_ms": 0, "is_closed_position": false,
        "position_type": "LONG", "net_leverage": lev, "average_entry_price": 62000.0,
        "current_return": 1.01, "return_at_close": 1.01,
        "orders": [{"order_type": "LONG", "leverage": lev, "price": 62000.0,
                    "processed_ms": now_ms - 600_000, "order_uuid": "o", "src": 0}]})
}

fn payload(lev: f64, now_ms: i64) -> String {
    serde_json::json!({"5Miner": {"all_time_returns": 1.05, "thirty_day_returns": 1.02,
        "positions": [open_position(lev, now_ms)]}})
    .to_string()
}

#[derive(Clone)]
struct Validator {
    positions: Arc<std::sync::Mutex<String>>,
    position_polls: Arc<AtomicUsize>,
    pair_polls: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
    frames: broadcast::Sender<String>,
}

async fn ws(State(v): State<Validator>, up: WebSocketUpgrade) -> impl IntoResponse {
    let frames = v.frames.subscribe();
    v.connections.fetch_add(1, Ordering::SeqCst);
    up.on_upgrade(move |socket| stream(socket, frames))
}

async fn stream(mut socket: WebSocket, mut frames: broadcast::Receiver<String>) {
    if socket.send(Message::Text(AUTH_OK.into())).await.is_err() {
        return;
    }
    loop {
        match socket.recv().await {
            Some(Ok(Message::Text(t))) if t.as_str().contains("\"subscribe\"") => break,
            Some(Ok(_)) => continue,
            _ => return,
        }
    }
    if socket.send(Message::Text(SUBSCRIBED.into())).await.is_err() {
        return;
    }
    while let Ok(f) = frames.recv().await {
        if f == "close" || socket.send(Message::Text(f.into())).await.is_err() {
            return;
        }
    }
}

fn update(seq: i64, lev: f64, now_ms: i64) -> String {
    serde_json::json!({"sequence": seq, "timestamp": now_ms,
        "data": {"position": open_position(lev, now_ms)}})
    .to_string()
}

async fn wait_for(what: &str, done: impl AsyncFn() -> bool) {
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < Duration::from_secs(20), "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_moves_the_sleeve_and_gaps_and_reconnects_resync_from_rest() {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let (frames, _) = broadcast::channel(64);
    let v = Validator {
        positions: Arc::new(std::sync::Mutex::new(payload(0.2, now_ms))),
        position_polls: Arc::new(AtomicUsize::new(0)),
        pair_polls: Arc::new(AtomicUsize::new(0)),
        connections: Arc::new(AtomicUsize::new(0)),
        frames,
    };
    let app = Router::new()
        .route(
            "/miner-positions",
            get(|State(v): State<Validator>| async move {
                v.position_polls.fetch_add(1, Ordering::SeqCst);
                v.positions.lock().unwrap().clone()
            }),
        )
        .route(
            "/trade-pairs",
            get(|State(v): State<Validator>| async move {
                v.pair_polls.fetch_add(1, Ordering::SeqCst);
                include_str!("../../signals/tests/testdata/sn8/trade_pairs_allowed_only.json")
            }),
        )
        .route("/ws", get(ws))
        .with_state(v.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let text = CONFIG
        .replace("DATA", &dir.path().display().to_string())
        .replace("URL", &format!("http://{addr}"))
        .replace("WS", &format!("ws://{addr}"));
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
    let state = engine.state.clone();
    let depth = async || match state.sleeve(&key).await.map(|s| s.exposure) {
        Some(SleeveOrigin::Depth(d)) => Some(d),
        _ => None,
    };

    // Connected and resynced from REST: the REST depth.
    wait_for("no depth from the REST resync", async || {
        depth().await == Some(dec!(0.2)) && v.connections.load(Ordering::SeqCst) == 1
    })
    .await;
    // A streamed update moves the sleeve (REST still says 0.2).
    v.frames.send(update(0, 0.35, now_ms)).unwrap();
    wait_for("the stream did not move the sleeve", async || {
        depth().await == Some(dec!(0.35))
    })
    .await;
    // Two more polls (of /trade-pairs) pass with the stream up: the positions are not polled,
    // and the depth stays where the stream put it.
    let positions_then = v.position_polls.load(Ordering::SeqCst);
    let pairs_then = v.pair_polls.load(Ordering::SeqCst);
    wait_for("no side polls", async || {
        v.pair_polls.load(Ordering::SeqCst) >= pairs_then + 2
    })
    .await;
    assert_eq!(v.position_polls.load(Ordering::SeqCst), positions_then);
    assert_eq!(depth().await, Some(dec!(0.35)));

    // A gap: the book is rebuilt from REST (which by now has the newer state).
    *v.positions.lock().unwrap() = payload(0.45, now_ms);
    let polls_before_gap = v.position_polls.load(Ordering::SeqCst);
    v.frames.send(update(5, 0.45, now_ms)).unwrap();
    wait_for("no REST resync after a gap", async || {
        v.position_polls.load(Ordering::SeqCst) > polls_before_gap
            && depth().await == Some(dec!(0.45))
    })
    .await;

    // The server drops the connection: the source reconnects and resyncs.
    *v.positions.lock().unwrap() = payload(0.3, now_ms);
    v.frames.send("close".into()).unwrap();
    wait_for("no reconnection", async || {
        v.connections.load(Ordering::SeqCst) >= 2 && depth().await == Some(dec!(0.3))
    })
    .await;
    assert!(depth().await.unwrap_or_default() > Decimal::ZERO);
    engine.shutdown().await;
}
