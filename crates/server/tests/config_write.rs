#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Weights and mappings over HTTP: reads with a read token, writes with a control token only;
//! a write is validated (nothing written when it fails), saved to the file with its comments,
//! and in force in the running engine when the answer comes. Without a file (the embedded demo)
//! writes are refused with 409.

mod common;

use common::json_request as call;

use std::net::SocketAddr;
use std::path::Path;

use tokio_util::sync::CancellationToken;
use tradeengine_engine::RunningEngine;
use tradeengine_engine::config::{Overrides, load_file};

const READ: &str = "read-token-not-real";
const CONTROL: &str = "control-token-not-real";

fn config_text(dir: &Path) -> String {
    format!(
        r#"# operator's notes: keep this comment
[engine]
data_dir = "{}"
hot_reload = false

[[accounts]]
name = "paper"
venue = "paper"

[sources.demo]
type = "demo"

[sources.other]
type = "demo"

# BTC: mostly the demo
[[symbols]]
symbol = "BTCUSDT"
leverage = 3 # operator's choice
weights = {{ demo = 0.5 }}

[[symbols]]
symbol = "ETHUSDT"
weights = {{ demo = 0.5 }}

[mapping.other]
XBT = "BTCUSDT"
"#,
        dir.display()
    )
}

async fn serve(
    dir: &Path,
    config_path: Option<std::path::PathBuf>,
) -> (SocketAddr, RunningEngine, CancellationToken) {
    let path = dir.join("tradeengine.toml");
    std::fs::write(&path, config_text(dir)).unwrap();
    let config = load_file(&path, &[], &Overrides::default()).unwrap();
    let store = tradeengine_store::open_sqlite_in(dir).await.unwrap();
    let engine = common::start_from(config, store.clone(), &[], config_path).await;
    let auth = common::auth(Some(READ), Some(CONTROL), true);
    let (addr, stop, _server) = common::serve(common::app(&engine, store, auth, None)).await;
    (addr, engine, stop)
}

// One scenario whose steps build on each other's state, so it stays one sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_and_mappings_are_written_validated_and_applied() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tradeengine.toml");
    let (addr, engine, stop) = serve(dir.path(), Some(path.clone())).await;
    let state = engine.state.clone();
    let p = path.clone();
    tokio::task::spawn_blocking(move || {
        let (status, weights) = call(addr, "GET", "/api/v1/weights", Some(READ), "");
        assert_eq!(status, 200);
        assert_eq!(weights[0]["symbol"], "BTCUSDT");
        assert_eq!(weights[0]["weights"]["demo"], "0.5");
        assert_eq!(weights[0]["remaining"], "0.5");
        let (status, maps) = call(addr, "GET", "/api/v1/mappings", Some(READ), "");
        assert_eq!(status, 200);
        assert_eq!(maps["other"]["XBT"], "BTCUSDT");

        let body = r#"{"symbol":"btcusdt","weights":{"demo":"0.4","other":0.35}}"#;
        assert_eq!(call(addr, "PUT", "/api/v1/weights", None, body).0, 401);
        assert_eq!(
            call(addr, "PUT", "/api/v1/weights", Some(READ), body).0,
            403
        );
        let (status, out) = call(addr, "PUT", "/api/v1/weights", Some(CONTROL), body);
        assert_eq!(status, 200, "{out}");
        assert_eq!(out["applied"], true);
        assert_eq!(out["symbol"]["remaining"], "0.25");
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("# operator's notes: keep this comment"));
        assert!(text.contains("leverage = 3 # operator's choice"));
        assert!(
            text.contains("weights = { demo = 0.4, other = 0.35 }"),
            "{text}"
        );

        // Over 1 in sum, an unknown source, an unknown symbol, junk: refused, file untouched.
        for (body, want) in [
            (
                r#"{"symbol":"BTCUSDT","weights":{"demo":"0.8","other":"0.5"}}"#,
                422,
            ),
            (r#"{"symbol":"BTCUSDT","weights":{"ghost":"0.1"}}"#, 422),
            (r#"{"symbol":"BTCUSDT","weights":{"demo":"abc"}}"#, 422),
            (r#"{"symbol":"SOLUSDT","weights":{"demo":"0.1"}}"#, 404),
            (r#"{"symbol":"BTCUSDT"}"#, 400),
            ("not json", 400),
        ] {
            let (status, err) = call(addr, "PUT", "/api/v1/weights", Some(CONTROL), body);
            assert_eq!(status, want, "{body}: {err}");
            assert!(err["error"].is_string(), "{body}: JSON error body {err}");
        }
        assert_eq!(std::fs::read_to_string(&p).unwrap(), text);

        let body = r#"{"source":"other","mapping":{"BTC":"BTCUSDT","ETH":"ETHUSDT"}}"#;
        assert_eq!(
            call(addr, "PUT", "/api/v1/mappings", Some(READ), body).0,
            403
        );
        let (status, out) = call(addr, "PUT", "/api/v1/mappings", Some(CONTROL), body);
        assert_eq!(status, 200, "{out}");
        assert_eq!(out["mapping"]["ETH"], "ETHUSDT");
        let (_, maps) = call(addr, "GET", "/api/v1/mappings", Some(READ), "");
        assert_eq!(maps["other"]["BTC"], "BTCUSDT");
        assert!(maps["other"].get("XBT").is_none());
        // A mapping for a source that does not exist fails validation.
        let body = r#"{"source":"ghost","mapping":{"BTC":"BTCUSDT"}}"#;
        assert_eq!(
            call(addr, "PUT", "/api/v1/mappings", Some(CONTROL), body).0,
            422
        );
    })
    .await
    .unwrap();
    // The running engine has both changes.
    let config = state.config();
    assert_eq!(
        config.symbol("BTCUSDT").unwrap().weights["other"],
        "0.35".parse().unwrap()
    );
    assert_eq!(config.map_symbol("other", "ETH"), "ETHUSDT");
    stop.cancel();
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_file_writes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, engine, stop) = serve(dir.path(), None).await;
    tokio::task::spawn_blocking(move || {
        let body = r#"{"symbol":"BTCUSDT","weights":{"demo":"0.4"}}"#;
        let (status, err) = call(addr, "PUT", "/api/v1/weights", Some(CONTROL), body);
        assert_eq!(status, 409, "{err}");
        assert!(err["error"].as_str().unwrap().contains("--config"));
    })
    .await
    .unwrap();
    stop.cancel();
    engine.shutdown().await;
}

#[tokio::test]
async fn the_openapi_document_is_served_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, engine, stop) = serve(dir.path(), None).await;
    tokio::task::spawn_blocking(move || {
        let (status, doc) = call(addr, "GET", "/api/openapi.json", None, "");
        assert_eq!(status, 200);
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        assert!(doc["paths"]["/api/v1/weights"]["put"].is_object());
    })
    .await
    .unwrap();
    stop.cancel();
    engine.shutdown().await;
}
