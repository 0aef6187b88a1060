#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Hot reload: a valid edit of a hot key applies; an invalid edit, or an edit of a key that needs
//! a restart, is refused and the previous configuration stays in force.

use std::path::Path;

use rust_decimal_macros::dec;
use tradeengine_engine::SharedState;
use tradeengine_engine::config::{Overrides, demo::DEMO_TOML, load_str};
use tradeengine_engine::reloader::{ReloadOutcome, reload_once};
use tradeengine_model::SystemClock;
use tradeengine_store::AuditKind;

#[tokio::test]
async fn valid_edits_apply_and_invalid_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let config = load_str(DEMO_TOML, None, &[], &Overrides::default()).unwrap();
    let state = SharedState::new(config);
    let path = Path::new("tradeengine.toml");
    let clock = SystemClock;
    let env =
        |k: &str| (k == "TRADEENGINE_TV_SECRET").then(|| "reload-secret-not-real".to_string());

    // Unchanged text: nothing happens.
    assert_eq!(
        reload_once(path, DEMO_TOML, &state, &*store, &clock, &env).await,
        ReloadOutcome::Unchanged
    );

    // A weight change is hot.
    let edited = DEMO_TOML.replacen("demo = 0.5,", "demo = 0.4,", 1);
    assert_eq!(
        reload_once(path, &edited, &state, &*store, &clock, &env).await,
        ReloadOutcome::Applied
    );
    assert_eq!(state.config().symbols[0].weights["demo"], dec!(0.4));

    // Weights over 1: refused, the 0.5 stays.
    let invalid = DEMO_TOML.replacen("demo = 0.5,", "demo = 0.9,", 1);
    match reload_once(path, &invalid, &state, &*store, &clock, &env).await {
        ReloadOutcome::Refused(reason) => {
            assert!(reason.contains("symbols[0].weights"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(state.config().symbols[0].weights["demo"], dec!(0.4));

    // A syntax error: refused.
    assert!(matches!(
        reload_once(path, "[engine", &state, &*store, &clock, &env).await,
        ReloadOutcome::Refused(_)
    ));

    // A new account needs a restart: refused whole, even with a valid weight change beside it.
    let restart = format!(
        "{}\n[[accounts]]\nname = \"second\"\nvenue = \"paper\"\n",
        DEMO_TOML.replacen("demo = 0.5,", "demo = 0.25,", 1)
    );
    match reload_once(path, &restart, &state, &*store, &clock, &env).await {
        ReloadOutcome::Refused(reason) => assert!(reason.contains("restart"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(state.config().symbols[0].weights["demo"], dec!(0.4));
    assert_eq!(state.config().accounts.len(), 1);

    // The accepted change is in the audit trail, and the chain holds.
    let events = store.audit_events(0, 100).await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == AuditKind::ConfigChanged)
            .count(),
        1
    );
    assert!(store.verify_audit().await.unwrap().is_ok());
}
