#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Notifications and Telegram control through a running engine, against a local stand-in of
//! the Telegram Bot API and a local webhook receiver: the start, a fill, the kill switch from
//! Telegram (allow-listed chat, confirmation, audit), a refused chat, and the stop.

#[path = "../../notify/tests/common/mod.rs"]
mod bot_api;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde_json::Value;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::killswitch;
use tradeengine_engine::{RunningEngine, StartError, StartOptions};
use tradeengine_model::{Intent, Signal, SignalId, SourceId, Symbol, SystemClock, TargetIntent};
use tradeengine_store::{AuditKind, Store};

const TRADER: i64 = 5001;
const STRANGER: i64 = 7007;

const CONFIG: &str = r#"
[engine]
drift_check_interval_secs = 1
data_dir = "DATA"
hot_reload = false
[[accounts]]
name = "paper"
venue = "paper"
[sources.ops]
type = "rest"
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = { ops = 1.0 }
[notifications.telegram]
chat_ids = [5001]
api_url = "BOTAPI"
poll_timeout_secs = 1
confirm_secs = 60
[notifications.webhook]
format = "json"
"#;

fn signal(n: u32, depth: Decimal) -> Signal {
    let key = format!("k-{n}");
    Signal {
        id: SignalId::new(&key).unwrap(),
        source: SourceId::new("ops").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        intent: Intent::Target(TargetIntent {
            depth,
            leverage: None,
            reference_price: None,
        }),
        emitted_at: None,
        received_at: chrono::Utc::now(),
        idempotency_key: key,
        raw: serde_json::json!({}),
    }
}

#[derive(Debug, Default)]
struct Hook {
    bodies: Mutex<Vec<Value>>,
}

async fn receive(State(h): State<Arc<Hook>>, Json(v): Json<Value>) -> &'static str {
    h.bodies.lock().unwrap().push(v);
    "ok"
}

async fn webhook_receiver() -> (String, Arc<Hook>) {
    let hook = Arc::new(Hook::default());
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(hook.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), hook)
}

async fn start(
    dir: &std::path::Path,
    store: Arc<dyn Store>,
    env: &[(&str, &str)],
    bot_api: &str,
) -> Result<RunningEngine, StartError> {
    let text = CONFIG
        .replace("DATA", &dir.display().to_string())
        .replace("BOTAPI", bot_api);
    let config = load_str(&text, None, &[], &Overrides::default()).unwrap();
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
            config_path: None,
            env_overrides,
        },
    )
    .await
}

/// Waits (a hang guard, not a timing check) until `f` finds what it looks for.
async fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..600 {
        if let Some(t) = f() {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gave up waiting for {what}");
}

fn sent_to(api: &bot_api::BotApi, chat: i64) -> Vec<String> {
    api.sent()
        .into_iter()
        .filter(|(c, _)| *c == chat)
        .map(|(_, t)| t)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_notifies_and_obeys_only_the_allowed_chat() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let (api_url, api) = bot_api::serve().await;
    let (hook_url, hook) = webhook_receiver().await;
    let env = [
        ("TRADEENGINE_TELEGRAM_BOT_TOKEN", bot_api::TOKEN),
        ("TRADEENGINE_NOTIFY_WEBHOOK_URL", hook_url.as_str()),
    ];
    let engine = start(dir.path(), store.clone(), &env, &api_url)
        .await
        .unwrap();

    until("the start on Telegram", || {
        sent_to(&api, TRADER)
            .iter()
            .any(|t| t == "Engine started (paper): paper")
            .then_some(())
    })
    .await;

    engine
        .intake
        .submit(signal(1, Decimal::new(5, 1)))
        .await
        .unwrap();
    let bought = until("a fill on Telegram", || {
        sent_to(&api, TRADER)
            .into_iter()
            .find(|t| t.starts_with("BOUGHT "))
    })
    .await;
    assert!(
        bought.contains(" BTCUSDT @ ") && bought.contains("(paper, fee "),
        "{bought}"
    );
    let fill = until("a fill on the webhook", || {
        hook.bodies
            .lock()
            .unwrap()
            .iter()
            .find(|b| b["kind"] == "fill")
            .cloned()
    })
    .await;
    // Quantities travel as exact decimal strings, never floats.
    assert!(fill["event"]["qty"].is_string(), "{fill}");
    assert_eq!(fill["event"]["symbol"], "BTCUSDT");

    // A stranger's control command is ignored, even confirmed.
    api.say(STRANGER, "/flatten");
    api.say(STRANGER, "/confirm");
    // The trader's, once confirmed, engages the stored kill switch.
    api.say(TRADER, "/flatten");
    until("the confirmation question", || {
        sent_to(&api, TRADER)
            .iter()
            .any(|t| t.starts_with("Reply /confirm within 60 s to FLATTEN"))
            .then_some(())
    })
    .await;
    assert!(killswitch::read_stored(&*store).await.unwrap().is_none());
    api.say(TRADER, "/confirm");
    until("the kill switch reply", || {
        sent_to(&api, TRADER)
            .iter()
            .any(|t| t == "Kill switch ENGAGED: flatten every account.")
            .then_some(())
    })
    .await;
    let stored = killswitch::read_stored(&*store).await.unwrap().unwrap();
    assert_eq!(stored.action, killswitch::KillAction::Flatten);
    assert_eq!(stored.reason, format!("telegram:{TRADER}"));
    until("the kill switch notice", || {
        sent_to(&api, TRADER)
            .iter()
            .any(|t| t.starts_with("Kill switch ENGAGED: FLATTEN all accounts by telegram:5001"))
            .then_some(())
    })
    .await;
    api.say(TRADER, "/positions");
    api.say(TRADER, "/release");
    api.say(TRADER, "/confirm");
    until("the release", || {
        sent_to(&api, TRADER)
            .iter()
            .any(|t| t == "Kill switch released.")
            .then_some(())
    })
    .await;
    assert!(killswitch::read_stored(&*store).await.unwrap().is_none());
    assert!(
        api.sent().iter().all(|(chat, _)| *chat == TRADER),
        "{:?}",
        api.sent()
    );

    // Every command is in the audit trail, the stranger's included.
    let commands: Vec<(i64, String, String)> = store
        .audit_events(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == AuditKind::OperatorCommand)
        .map(|e| {
            let c = &e.payload["telegram_command"];
            (
                c["chat_id"].as_i64().unwrap(),
                c["command"].as_str().unwrap().to_string(),
                c["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = [
        (STRANGER, "flatten", "refused_chat"),
        (STRANGER, "confirm", "refused_chat"),
        (TRADER, "flatten", "awaiting_confirmation"),
        (TRADER, "confirm", "confirmed"),
        (TRADER, "positions", "answered"),
        (TRADER, "release", "awaiting_confirmation"),
        (TRADER, "confirm", "confirmed"),
    ];
    let expect: Vec<(i64, String, String)> = expect
        .iter()
        .map(|(c, n, o)| (*c, (*n).to_string(), (*o).to_string()))
        .collect();
    assert_eq!(commands, expect);

    engine.shutdown().await;
    // The stop is said before shutdown returns.
    assert!(
        sent_to(&api, TRADER)
            .iter()
            .any(|t| t.starts_with("Engine stopped")),
        "{:?}",
        api.sent()
    );
    assert!(hook.bodies.lock().unwrap().iter().any(|b| {
        b["kind"] == "engine"
            && b["text"]
                .as_str()
                .unwrap_or_default()
                .starts_with("Engine stopped")
    }),);
}

#[tokio::test]
async fn a_missing_token_stops_the_start_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let env = [("TRADEENGINE_NOTIFY_WEBHOOK_URL", "http://127.0.0.1:9/hook")];
    let err = start(dir.path(), store, &env, "http://127.0.0.1:9")
        .await
        .unwrap_err();
    assert!(err.is_config());
    assert_eq!(
        err.to_string(),
        "notifications.telegram: the bot token variable TRADEENGINE_TELEGRAM_BOT_TOKEN is not set"
    );
}
