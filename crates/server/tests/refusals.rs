#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Every refusal is visible: webhook 4xx (malformed JSON, bad secret, unknown symbol, leverage
//! and depth over the cap, a price outside the band of the mark) and `POST /trade` 4xx are
//! counted in `/metrics` by source and reason, stored in `refused_signals` with their body
//! (secrets redacted) and listed by `GET /api/v1/signals/refused` (read token). `POST /trade`
//! also takes one signal as the body, with the batch's durability and deduplication.

mod common;

use std::net::SocketAddr;

use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::{Value, json};
use tradeengine_model::{Price, Symbol};
use tradeengine_server::api::auth::ApiAuth;

const SECRET: &str = "test-secret-not-real-0002";
const TOKEN: &str = "rest-source-token-000000002";
const READ: &str = "api-read-token-00000000002";

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
max_leverage = 20
max_depth = 1
[sources.petrosa]
type = "rest"
[sources.petrosa.settings]
token_env = "TE_TEST_REST_TOKEN"
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = { tradingview = 0.5, petrosa = 0.5 }
"#;

async fn post(
    addr: SocketAddr,
    path: &'static str,
    token: Option<&'static str>,
    body: String,
) -> (u16, Value) {
    tokio::task::spawn_blocking(move || common::json_request(addr, "POST", path, token, &body))
        .await
        .unwrap()
}

async fn get(addr: SocketAddr, path: String, token: Option<&'static str>) -> (u16, Value) {
    tokio::task::spawn_blocking(move || common::json_request(addr, "GET", &path, token, ""))
        .await
        .unwrap()
}

async fn metrics_text(addr: SocketAddr) -> String {
    tokio::task::spawn_blocking(move || common::get_raw(addr, "/metrics"))
        .await
        .unwrap()
}

fn alert(fields: &str) -> String {
    format!(
        r#"{{"passphrase":"{SECRET}","symbol":"BTCUSDT","direction":"long","action":"buy"{fields}}}"#
    )
}

// One scenario whose steps build on each other's state, so it stays one sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_is_counted_stored_and_listed() {
    let handle = tradeengine_server::metrics::install().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let config = common::config_in(CONFIG, dir.path());
    let env = [("TV_TEST_SECRET", SECRET), ("TE_TEST_REST_TOKEN", TOKEN)];
    let engine = common::start(config, store.clone(), &env).await;
    let auth = ApiAuth {
        read: Some(SecretString::from(READ.to_string())),
        control: None,
        loopback: false,
    };
    let app = common::app(&engine, store.clone(), auth, Some(handle));
    let (addr, stop, server) = common::serve(app).await;
    // The venue's mark for BTCUSDT (the paper feed's, or ~60,000 when it has none yet).
    let btc = Symbol::new("BTCUSDT").unwrap();
    let mark = match engine.state.price(&btc).await {
        Some(p) => p,
        None => {
            let p = Price::new(Decimal::from(60_000)).unwrap();
            engine
                .state
                .publish_prices(&std::collections::BTreeMap::from([(btc.clone(), p)]))
                .await;
            p
        }
    };

    // Webhook refusals, each with its status.
    let cases: Vec<(String, u16, &str)> = vec![
        (
            r#"{"passphrase": "#.to_string() + &format!("\"{SECRET}\", \"size\": "),
            400,
            "malformed",
        ),
        (
            alert(r#","size":"10/100""#).replace(SECRET, "a-wrong-guess-0001"),
            401,
            "auth",
        ),
        (
            alert(r#","size":"10/100""#).replace("BTCUSDT", "DOGEUSDT"),
            422,
            "unknown_symbol",
        ),
        (
            alert(r#","size":"10/100","leverage":"100""#),
            422,
            "leverage_cap",
        ),
        (alert(r#","size":"150/100""#), 422, "depth_cap"),
        (
            alert(r#","size":"10/100","price":"0.0027""#),
            422,
            "price_band",
        ),
    ];
    for (body, status, code) in &cases {
        let (got, answer) = post(addr, "/webhook/tradingview", None, body.clone()).await;
        assert_eq!(got, *status, "{code}: {answer}");
        if *code == "price_band" {
            let text = answer["error"].as_str().unwrap_or_default();
            assert!(
                text.contains("price_band") && text.contains("0.0027"),
                "{text}"
            );
        }
    }
    // An alert within the band of the mark is taken.
    let near = mark.get() * Decimal::new(102, 2);
    let (got, answer) = post(
        addr,
        "/webhook/tradingview",
        None,
        alert(&format!(r#","size":"10/100","price":"{near}""#)),
    )
    .await;
    assert_eq!(
        (got, answer["status"].as_str()),
        (200, Some("accepted")),
        "{answer}"
    );
    // A close is never refused for its price.
    let (got, answer) = post(
        addr,
        "/webhook/tradingview",
        None,
        alert(r#","size":"0/100","price":"0.0027""#).replace("long", "flat"),
    )
    .await;
    assert_eq!(got, 200, "{answer}");

    // POST /trade: the documented single-signal body is taken, durably, and deduplicated.
    let single = json!({"strategy_id": "test", "symbol": "BTCUSDT", "action": "buy",
        "confidence": 0.8, "price": 50000, "quantity": 0.001, "signal_id": "one-1"});
    let (got, answer) = post(addr, "/trade", Some(TOKEN), single.to_string()).await;
    assert_eq!(got, 200, "{answer}");
    assert_eq!(answer["status"], "success", "{answer}");
    assert_eq!(
        answer["audit_logs"][0]["result"]["status"], "executed",
        "{answer}"
    );
    let petrosa_signals = |all: Vec<tradeengine_model::Signal>| {
        all.into_iter()
            .filter(|s| s.source.as_str() == "petrosa")
            .count()
    };
    assert_eq!(
        petrosa_signals(store.recent_signals(100, 0).await.unwrap()),
        1,
        "stored before the 200"
    );
    let (got, answer) = post(addr, "/trade", Some(TOKEN), single.to_string()).await;
    assert_eq!(
        (got, answer["audit_logs"][0]["result"]["status"].as_str()),
        (200, Some("duplicate")),
        "{answer}"
    );
    // The same signal (same `signal_id`) in the batch shape, as strict as the upstream model, is
    // the same signal.
    let mut full = single.clone();
    full["current_price"] = json!(50000);
    full["source"] = json!("rest");
    full["strategy"] = json!("test");
    let batch = json!({"signals": [full]});
    let (got, answer) = post(addr, "/trade", Some(TOKEN), batch.to_string()).await;
    assert_eq!(
        (got, answer["audit_logs"][0]["result"]["status"].as_str()),
        (200, Some("duplicate")),
        "{answer}"
    );
    assert_eq!(
        petrosa_signals(store.recent_signals(100, 0).await.unwrap()),
        1
    );
    // REST refusals: no token, an invalid single signal (loc from the body), not JSON.
    let (got, _) = post(addr, "/trade", None, single.to_string()).await;
    assert_eq!(got, 401);
    let bad =
        json!({"strategy_id": "test", "symbol": "DOGEUSDT", "action": "buy", "confidence": 0.8});
    let (got, answer) = post(addr, "/trade", Some(TOKEN), bad.to_string()).await;
    assert_eq!(got, 422, "{answer}");
    assert_eq!(answer["detail"][0]["loc"][0], "body", "{answer}");
    assert_eq!(answer["detail"][0]["loc"][1], "symbol", "{answer}");
    let (got, _) = post(addr, "/trade", Some(TOKEN), "{not json".into()).await;
    assert_eq!(got, 422);

    // Listed by the API (read token), newest first, with bodies and no secret.
    let (got, _) = get(addr, "/api/v1/signals/refused".into(), None).await;
    assert_eq!(got, 401, "the list needs the read token");
    let (got, listed) = get(addr, "/api/v1/signals/refused?limit=100".into(), Some(READ)).await;
    assert_eq!(got, 200, "{listed}");
    let rows = listed.as_array().unwrap();
    let codes = |source: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r["source"] == source)
            .map(|r| r["code"].as_str().unwrap().to_string())
            .collect()
    };
    let mut tv = codes("tradingview");
    tv.sort();
    let mut expected: Vec<String> = cases.iter().map(|(_, _, c)| c.to_string()).collect();
    expected.sort();
    assert_eq!(tv, expected, "{listed}");
    assert_eq!(codes("rest"), ["auth"], "{listed}");
    let mut petrosa = codes("petrosa");
    petrosa.sort();
    assert_eq!(petrosa, ["malformed", "unknown_symbol"], "{listed}");
    let all = listed.to_string();
    assert!(
        !all.contains(SECRET) && !all.contains("a-wrong-guess-0001"),
        "secrets are redacted: {all}"
    );
    let leverage = rows.iter().find(|r| r["code"] == "leverage_cap").unwrap();
    assert!(
        leverage["body"]
            .as_str()
            .unwrap()
            .contains("\"leverage\":\"100\""),
        "{leverage}"
    );
    assert!(
        leverage["reason"]
            .as_str()
            .unwrap()
            .contains("exceeds the cap of 20"),
        "{leverage}"
    );
    let (_, only) = get(
        addr,
        "/api/v1/signals/refused?source=rest".into(),
        Some(READ),
    )
    .await;
    assert_eq!(only.as_array().unwrap().len(), 1, "{only}");

    // Counted by source and reason.
    let text = metrics_text(addr).await;
    for (_, _, code) in &cases {
        let line = format!(
            "tradeengine_signals_refused_total{{source=\"tradingview\",reason=\"{code}\"}} 1"
        );
        assert!(text.contains(&line), "missing {line}");
    }
    assert!(text.contains("tradeengine_signals_refused_total{source=\"rest\",reason=\"auth\"} 1"));

    stop.cancel();
    let _ = server.await;
    engine.shutdown().await;
    assert!(store.verify_audit().await.unwrap().is_ok());
}
