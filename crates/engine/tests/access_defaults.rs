#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Access defaults that keep an engine closed unless configured open: the server binds
//! loopback, a webhook source without a secret does not start, and a configuration error never
//! quotes the line it failed on (which may hold a pasted secret).

use std::collections::BTreeMap;
use std::sync::Arc;

use tradeengine_engine::config::{Overrides, demo::DEMO_TOML, load_str};
use tradeengine_engine::{RunningEngine, StartError, StartOptions};
use tradeengine_model::SystemClock;

#[test]
fn the_server_binds_loopback_unless_configured_otherwise() {
    let bare = load_str("", None, &[], &Overrides::default()).unwrap();
    assert!(bare.engine.bind.ip().is_loopback(), "{}", bare.engine.bind);
    assert_eq!(bare.engine.bind.ip().to_string(), "127.0.0.1");
    let demo = load_str(DEMO_TOML, None, &[], &Overrides::default()).unwrap();
    assert!(demo.engine.bind.ip().is_loopback(), "{}", demo.engine.bind);
    // Opening it up is an explicit choice.
    let open = load_str(
        "[engine]\nbind = \"0.0.0.0:8080\"\n",
        None,
        &[],
        &Overrides::default(),
    )
    .unwrap();
    assert!(!open.engine.bind.ip().is_loopback());
}

#[tokio::test]
async fn a_webhook_source_without_a_secret_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
[engine]
data_dir = "{}"
hot_reload = false
[[accounts]]
name = "paper"
venue = "paper"
[sources.tv]
type = "tradingview"
[[symbols]]
symbol = "BTCUSDT"
weights = {{ tv = 1.0 }}
"#,
        dir.path().display()
    );
    let config = load_str(&text, None, &[], &Overrides::default()).unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let options = StartOptions {
        clock: Arc::new(SystemClock),
        live_confirmed: false,
        config_path: None,
        env_overrides: BTreeMap::new(),
    };
    match RunningEngine::start(config, store, options).await {
        Err(StartError::Source { reason, .. }) => {
            assert!(reason.contains("without a secret are refused"), "{reason}");
        }
        other => panic!("expected a source error, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn a_syntax_error_names_the_place_not_the_text() {
    let text =
        "[[accounts]]\nname = \"b\"\nvenue = \"bybit\"\ncredentials = FAKE-PASTED-SECRET-77\n";
    let e = load_str(text, None, &[], &Overrides::default()).unwrap_err();
    let msg = e.to_string();
    assert!(!msg.contains("FAKE-PASTED-SECRET-77"), "{msg}");
    assert!(msg.contains("line 4, column 15"), "{msg}");
}
