#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The trade API in petrosa-tradeengine's shapes against a running paper engine: `POST /trade`
//! through the sleeve rules (executed, duplicate, low confidence rejected, a batch with one invalid
//! signal refused whole), `POST /api/v1/signals` in the canonical schema, `GET /account`,
//! `GET /price/{symbol}`, `DELETE /order/{symbol}/{id}`, and who may call what.

mod common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use tradeengine_store::OrderFilter;

const TOKEN: &str = "rest-source-token-000000001";
const READ: &str = "api-read-token-00000000001";

const CONFIG: &str = r#"
[engine]
drift_check_interval_secs = 1
data_dir = "DATA"
hot_reload = false
[[accounts]]
name = "paper"
venue = "paper"
[sources.petrosa]
type = "rest"
min_confidence = 0.6
default_stop_loss = 0.02
[sources.petrosa.settings]
token_env = "TE_TEST_REST_TOKEN"
[[symbols]]
symbol = "BTCUSDT"
weights = { petrosa = 1.0 }
[[symbols]]
symbol = "ETHUSDT"
weights = { petrosa = 1.0 }
[[symbols]]
symbol = "SOLUSDT"
weights = { petrosa = 0.0 }
"#;

fn seed_signal(id: &str, confidence: f64) -> Value {
    json!({"strategy_id": "momentum", "signal_id": id, "symbol": "BTCUSDT", "action": "buy",
           "confidence": confidence, "price": 60000.0, "quantity": 0.001,
           "current_price": 60000.0, "source": "ta-bot", "strategy": "momentum",
           "timestamp": chrono::Utc::now().to_rfc3339()})
}

async fn call(
    app: &axum::Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let req = req
        .header("Content-Type", "application/json")
        .body(Body::from(body.map(|b| b.to_string()).unwrap_or_default()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

// One scenario whose steps build on each other's state, so it stays one sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trade_api_in_petrosa_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let config = common::config_in(CONFIG, dir.path());
    let engine = common::start(config, store.clone(), &[("TE_TEST_REST_TOKEN", TOKEN)]).await;
    let auth = common::auth(Some(READ), None, true);
    let app = tradeengine_server::router(common::app(&engine, store.clone(), auth, None));
    let trade =
        |signals: Vec<Value>| json!({"signals": signals, "conflict_resolution": "strongest_wins"});

    // Posting needs the REST source's token; an API read token does not post.
    let (s, b) = call(&app, Method::POST, "/trade", None, Some(trade(vec![]))).await;
    assert_eq!(
        (s, b["detail"].as_str()),
        (401, Some("a bearer token is required"))
    );
    let (s, _) = call(
        &app,
        Method::POST,
        "/trade",
        Some(READ),
        Some(trade(vec![])),
    )
    .await;
    assert_eq!(s, 401);

    // Executed: stored and applied to the sleeve before the answer.
    let (s, b) = call(
        &app,
        Method::POST,
        "/trade",
        Some(TOKEN),
        Some(trade(vec![seed_signal("s-1", 0.85)])),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "success");
    assert_eq!(b["signals_processed"], 1);
    assert_eq!(b["conflicts_resolved"], 0);
    assert_eq!(b["orders"][0]["result"]["status"], "executed");
    assert_eq!(b["orders"][0]["signal"]["signal_id"], "s-1");
    assert_eq!(b["orders"][0]["distributed_state"]["is_leader"], true);
    assert_eq!(b["audit_logs"].as_array().unwrap().len(), 1);
    assert_eq!(store.recent_signals(10, 0).await.unwrap().len(), 1);
    assert!(b["orders"][0]["result"].get("note").is_none(), "{b}");

    // A hold is recorded and changes nothing; a low-confidence buy is rejected by the sleeve
    // rules; the hold again is a duplicate.
    let mut hold = seed_signal("h-1", 0.9);
    hold["action"] = json!("hold");
    let mut low = seed_signal("s-2", 0.5);
    low["symbol"] = json!("ETHUSDT");
    let (_, b) = call(
        &app,
        Method::POST,
        "/trade",
        Some(TOKEN),
        Some(trade(vec![hold.clone(), low])),
    )
    .await;
    assert_eq!(b["signals_processed"], 0, "{b}");
    assert_eq!(b["audit_logs"][0]["result"]["status"], "hold");
    assert_eq!(b["audit_logs"][1]["result"]["status"], "rejected");
    let reason = b["audit_logs"][1]["result"]["reason"].to_string();
    assert!(reason.contains("confidence"), "{reason}");
    let (_, b) = call(
        &app,
        Method::POST,
        "/trade",
        Some(TOKEN),
        Some(trade(vec![hold])),
    )
    .await;
    assert_eq!(b["audit_logs"][0]["result"]["status"], "duplicate", "{b}");
    let stored = store.recent_signals(10, 0).await.unwrap().len();
    assert_eq!(stored, 2, "the buy and the hold");

    // One invalid signal refuses the whole request, naming where; nothing is stored.
    let mut bad = seed_signal("s-3", 0.9);
    bad["confidence"] = json!(2);
    let (s, b) = call(
        &app,
        Method::POST,
        "/trade",
        Some(TOKEN),
        Some(trade(vec![seed_signal("s-4", 0.9), bad])),
    )
    .await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(
        b["detail"][0]["loc"],
        json!(["body", "signals", 1, "confidence"])
    );
    assert_eq!(store.recent_signals(10, 0).await.unwrap().len(), stored);
    let (s, b) = call(
        &app,
        Method::POST,
        "/trade",
        Some(TOKEN),
        Some(json!({"nope": 1})),
    )
    .await;
    assert_eq!(
        (s, b["detail"][0]["loc"].clone()),
        (422, json!(["body", "signals"]))
    );

    // The canonical schema on /api/v1/signals; a typo is refused by name.
    let (s, b) = call(
        &app,
        Method::POST,
        "/api/v1/signals",
        Some(TOKEN),
        Some(json!({"id": "c-1", "symbol": "BTCUSDT", "order": {"action": "hold"}})),
    )
    .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("applied")), "{b}");
    let (s, b) = call(
        &app,
        Method::POST,
        "/api/v1/signals",
        Some(TOKEN),
        Some(json!({"symbol": "BTCUSDT", "order": {"action": "hold"}, "sise": 1})),
    )
    .await;
    assert_eq!((s, b["field"].as_str()), (422, Some("sise")), "{b}");
    let (s, _) = call(&app, Method::POST, "/api/v1/signals", None, Some(json!({}))).await;
    assert_eq!(s, 401);

    // Prices and the account, once the paper account has run a cycle and bought.
    let start = Instant::now();
    let mut account = Value::Null;
    while start.elapsed() < Duration::from_secs(20) {
        let (s, b) = call(&app, Method::GET, "/account", Some(TOKEN), None).await;
        assert_eq!(s, 200);
        if b["risk_metrics"]["open_positions"] == 1 {
            account = b;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(account["account_type"], "combined", "{account}");
    assert!(account["total_balance_usdt"].as_f64().unwrap() > 0.0);
    assert_eq!(account["positions"]["BTCUSDT"]["side"], "LONG");
    assert!(
        account["balances"]["paper"]["USDT"]["wallet_balance"]
            .as_f64()
            .is_some()
    );
    let (s, b) = call(&app, Method::GET, "/price/BTCUSDT", Some(READ), None).await;
    assert_eq!(s, 200, "{b}");
    assert!(b["price"].as_f64().unwrap() > 0.0);
    assert_eq!(b["symbol"], "BTCUSDT");
    let (s, _) = call(&app, Method::GET, "/price/DOGEUSDT", Some(TOKEN), None).await;
    assert_eq!(s, 404);
    let (s, _) = call(&app, Method::GET, "/account", Some("wrong"), None).await;
    assert_eq!(s, 401);

    // Orders: a finished one is reported as it ended; an unknown one is 404; reads may not.
    let orders = store.orders(&OrderFilter::default()).await.unwrap();
    let order = orders
        .iter()
        .find(|o| o.state.is_terminal())
        .expect("a settled order");
    let path = format!("/order/BTCUSDT/{}", order.client_order_id);
    let (s, _) = call(&app, Method::DELETE, &path, Some(READ), None).await;
    assert_eq!(s, 403);
    let (s, b) = call(&app, Method::DELETE, &path, Some(TOKEN), None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "success");
    assert_eq!(b["result"]["status"], order.state.as_str());
    assert_eq!(b["result"]["cancelled"], false);
    let (s, _) = call(
        &app,
        Method::DELETE,
        "/order/BTCUSDT/nope",
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(s, 404);

    // A source without weight on the symbol: taken ("executed", petrosa's word), and the
    // answer says that no order follows.
    let mut sol = seed_signal("w-0", 0.9);
    sol["symbol"] = json!("SOLUSDT");
    sol["price"] = json!(150.0);
    sol["current_price"] = json!(150.0);
    let (s, b) = call(
        &app,
        Method::POST,
        "/trade",
        Some(TOKEN),
        Some(trade(vec![sol])),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["orders"][0]["result"]["status"], "executed", "{b}");
    assert!(
        b["orders"][0]["result"]["note"]
            .as_str()
            .unwrap()
            .contains("no order follows"),
        "{b}"
    );

    engine.shutdown().await;
}

/// A canonical signal sent (`ts`) before the newest one already taken for its symbol is
/// superseded: recorded as refused, the sleeve keeps the newer signal's target, and after a
/// restart the rule holds (learned from the store). A client's late retry or a broker's
/// redelivery after a crash flipped the account back to a side the sender had left.
#[tokio::test]
async fn a_signal_sent_before_the_newest_taken_is_superseded_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let now = chrono::Utc::now();
    let signal = |id: &str, side: &str, ago_s: i64| {
        json!({"id": id, "symbol": "ETHUSDT", "ts": (now - chrono::Duration::seconds(ago_s)).to_rfc3339(), "price": 3000,
               "target": {"side": side, "exposure": 0.5, "unit": "equity_fraction"}})
    };
    let sleeve_of = |engine: &tradeengine_engine::RunningEngine| {
        let state = engine.state.clone();
        async move {
            let key = (
                tradeengine_model::SourceId::new("petrosa").unwrap(),
                tradeengine_model::Symbol::new("ETHUSDT").unwrap(),
            );
            state.sleeve(&key).await.map(|s| s.exposure)
        }
    };
    for restart in [false, true] {
        let config = common::config_in(CONFIG, dir.path());
        let engine = common::start(config, store.clone(), &[("TE_TEST_REST_TOKEN", TOKEN)]).await;
        let auth = common::auth(Some(READ), None, true);
        let app = tradeengine_server::router(common::app(&engine, store.clone(), auth, None));
        if !restart {
            let (s, b) = call(
                &app,
                Method::POST,
                "/api/v1/signals",
                Some(TOKEN),
                Some(signal("new-long", "long", 5)),
            )
            .await;
            assert_eq!((s, b["status"].as_str()), (200, Some("applied")), "{b}");
        }
        let before = sleeve_of(&engine).await;
        let late = if restart {
            "late-short-2"
        } else {
            "late-short-1"
        };
        let (s, b) = call(
            &app,
            Method::POST,
            "/api/v1/signals",
            Some(TOKEN),
            Some(signal(late, "short", 20)),
        )
        .await;
        assert_eq!(
            (s, b["status"].as_str()),
            (200, Some("superseded")),
            "restart {restart}: {b}"
        );
        assert_eq!(sleeve_of(&engine).await, before, "the newer long stays");
        assert!(
            matches!(before, Some(tradeengine_model::SleeveOrigin::Depth(d)) if d > rust_decimal::Decimal::ZERO),
            "{before:?}"
        );
        engine.shutdown().await;
    }
    let refused = store.refused_signals(Some("petrosa"), 100).await.unwrap();
    assert_eq!(
        refused.iter().filter(|r| r.code == "superseded").count(),
        2,
        "{refused:?}"
    );
}

/// Two REST sources may use the same `signal_id` (each strategy numbers its own signals): each
/// source's signal is its own, stored and applied, and each is a duplicate only of itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sources_may_send_the_same_signal_id() {
    const TWO: &str = r#"
[engine]
drift_check_interval_secs = 1
data_dir = "DATA"
hot_reload = false
[[accounts]]
name = "paper"
venue = "paper"
[sources.alpha]
type = "rest"
[sources.alpha.settings]
token_env = "TE_TEST_ALPHA_TOKEN"
[sources.beta]
type = "rest"
[sources.beta.settings]
token_env = "TE_TEST_BETA_TOKEN"
[[symbols]]
symbol = "BTCUSDT"
weights = { alpha = 0.5, beta = 0.5 }
"#;
    const ALPHA: &str = "alpha-source-token-00000001";
    const BETA: &str = "beta-source-token-000000001";
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let config = common::config_in(TWO, dir.path());
    let engine = common::start(
        config,
        store.clone(),
        &[("TE_TEST_ALPHA_TOKEN", ALPHA), ("TE_TEST_BETA_TOKEN", BETA)],
    )
    .await;
    let auth = common::auth(Some(READ), None, true);
    let app = tradeengine_server::router(common::app(&engine, store.clone(), auth, None));
    let trade =
        json!({"signals": [seed_signal("sig-1", 0.9)], "conflict_resolution": "strongest_wins"});
    let status = |b: &Value| {
        b["audit_logs"][0]["result"]["status"]
            .as_str()
            .map(str::to_owned)
    };
    for token in [ALPHA, BETA] {
        let (s, b) = call(
            &app,
            Method::POST,
            "/trade",
            Some(token),
            Some(trade.clone()),
        )
        .await;
        assert_eq!((s, status(&b)), (200, Some("executed".to_owned())), "{b}");
    }
    for token in [ALPHA, BETA] {
        let (s, b) = call(
            &app,
            Method::POST,
            "/trade",
            Some(token),
            Some(trade.clone()),
        )
        .await;
        assert_eq!((s, status(&b)), (200, Some("duplicate".to_owned())), "{b}");
    }
    let stored = store.recent_signals(10, 0).await.unwrap();
    let mut sources: Vec<String> = stored.iter().map(|s| s.source.to_string()).collect();
    sources.sort();
    assert_eq!(sources, ["alpha", "beta"]);
    assert_ne!(stored[0].id, stored[1].id);
}
