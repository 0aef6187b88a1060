#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Hot reload: a valid edit of a hot key applies; an invalid edit is refused and the previous
//! configuration stays in force; an edit of a key that needs a restart keeps its running value,
//! is named in the audit trail, and does not hold back the rest.

use std::path::Path;

use rust_decimal_macros::dec;
use tradeengine_engine::SharedState;
use tradeengine_engine::config::{Overrides, demo::DEMO_TOML, load_str};
use tradeengine_engine::reloader::{ReloadOutcome, reload, reload_once};
use tradeengine_model::SystemClock;
use tradeengine_store::AuditKind;

#[tokio::test]
async fn valid_edits_apply_and_invalid_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    // Loaded from the file it is reloaded from, as `run` does: its paths resolve alike.
    let path = Path::new("tradeengine.toml");
    let config = load_str(DEMO_TOML, Some(path), &[], &Overrides::default()).unwrap();
    let state = SharedState::new(config);
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

    // A new account needs a restart: it is not started, and is named; the weight beside it
    // applies.
    let restart = format!(
        "{}\n[[accounts]]\nname = \"second\"\nvenue = \"paper\"\n",
        DEMO_TOML.replacen("demo = 0.5,", "demo = 0.25,", 1)
    );
    let report = reload(path, &restart, &state, &*store, &clock, &env).await;
    assert_eq!(report.outcome, ReloadOutcome::Applied);
    assert_eq!(report.needs_restart, ["accounts.second (added)"]);
    assert_eq!(state.config().symbols[0].weights["demo"], dec!(0.25));
    assert_eq!(state.config().accounts.len(), 1);

    // The accepted change is in the audit trail, and the chain holds.
    let events = store.audit_events(0, 100).await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == AuditKind::ConfigChanged)
            .count(),
        2
    );
    assert!(store.verify_audit().await.unwrap().is_ok());
}

/// `[engine]` edits used to be dropped without a word. Keys only a restart applies (bind
/// address, database URL, …) keep their running values and are named in a warning and the
/// audit trail; the two the workers read every cycle apply; everything else applies beside them.
#[tokio::test]
async fn engine_keys_that_need_a_restart_are_named_and_the_rest_applies() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let file = load_str(
        DEMO_TOML,
        Some(Path::new("tradeengine.toml")),
        &[],
        &Overrides::default(),
    )
    .unwrap();
    // Started with a flag: `--bind 127.0.0.1:18080`. The file still says 8080.
    let mut running = file.clone();
    running.engine.bind = "127.0.0.1:18080".parse().unwrap();
    let state = SharedState::new(running.clone());
    state.set_file_engine(file.engine.clone());
    let path = Path::new("tradeengine.toml");
    let clock = SystemClock;
    let env =
        |k: &str| (k == "TRADEENGINE_TV_SECRET").then(|| "reload-secret-not-real".to_string());
    let needs_restart = |payload: &serde_json::Value| -> Vec<String> {
        payload["needs_restart"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect()
    };

    // The file as at start: the flag is not an edit.
    let report = reload(path, DEMO_TOML, &state, &*store, &clock, &env).await;
    assert_eq!(report.outcome, ReloadOutcome::Unchanged);
    assert!(report.needs_restart.is_empty());
    assert!(store.audit_events(0, 100).await.unwrap().is_empty());

    // Only a key that needs a restart: nothing applies, but it is said and audited.
    let db_only = DEMO_TOML.replacen(
        "[engine]\n",
        "[engine]\ndatabase_url = \"sqlite:/tmp/elsewhere.sqlite\"\n",
        1,
    );
    let report = reload(path, &db_only, &state, &*store, &clock, &env).await;
    assert_eq!(report.outcome, ReloadOutcome::Unchanged);
    assert_eq!(report.needs_restart, ["engine.database_url"]);
    assert_eq!(*state.config(), running);
    let events = store.audit_events(0, 100).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, AuditKind::ConfigChanged);
    assert_eq!(needs_restart(&events[0].payload), ["engine.database_url"]);
    assert_eq!(events[0].payload["applied"], false);

    // Bind and database URL need a restart; the drift band and a weight apply.
    let edited = DEMO_TOML
        .replacen("bind = \"127.0.0.1:8080\"", "bind = \"0.0.0.0:9090\"", 1)
        .replacen(
            "[engine]\n",
            "[engine]\ndatabase_url = \"sqlite:/tmp/elsewhere.sqlite\"\n",
            1,
        )
        .replacen("drift_band = 0.01\n", "drift_band = 0.02\n", 1)
        .replacen("demo = 0.5,", "demo = 0.4,", 1);
    let report = reload(path, &edited, &state, &*store, &clock, &env).await;
    assert_eq!(report.outcome, ReloadOutcome::Applied);
    assert_eq!(report.needs_restart, ["engine.bind", "engine.database_url"]);
    let now = state.config();
    assert_eq!(
        now.engine.bind, running.engine.bind,
        "the running bind stays"
    );
    assert_eq!(now.engine.database_url, running.engine.database_url);
    assert_eq!(now.engine.drift_band, dec!(0.02));
    assert_eq!(now.symbols[0].weights["demo"], dec!(0.4));
    let events = store.audit_events(0, 100).await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(
        needs_restart(&events[1].payload),
        ["engine.bind", "engine.database_url"]
    );
    assert_eq!(events[1].payload["applied"], true);
    assert_eq!(events[1].payload["config"]["engine"]["drift_band"], "0.02");
    assert!(store.verify_audit().await.unwrap().is_ok());

    // A live change that leans on a key waiting for a restart is refused whole: a weight for
    // a source that is not running yet.
    let new_source = format!(
        "{}\n[sources.later]\ntype = \"rest\"\n",
        DEMO_TOML.replacen("demo = 0.5,", "demo = 0.3, later = 0.2,", 1)
    );
    match reload(path, &new_source, &state, &*store, &clock, &env)
        .await
        .outcome
    {
        ReloadOutcome::Refused(reason) => {
            assert!(reason.contains("sources.later (added)"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(state.config().symbols[0].weights["demo"], dec!(0.4));
}

/// A file emptied or cut short parses as a smaller valid configuration. Applied, it would drop
/// symbols the account holds (their exit alerts then refused) and every risk limit: refused
/// whole, naming what it would drop, and the running configuration stays.
#[tokio::test]
async fn an_emptied_or_cut_off_file_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let path = Path::new("tradeengine.toml");
    let config = load_str(DEMO_TOML, Some(path), &[], &Overrides::default()).unwrap();
    let state = SharedState::new(config.clone());
    let clock = SystemClock;
    let env =
        |k: &str| (k == "TRADEENGINE_TV_SECRET").then(|| "reload-secret-not-real".to_string());
    let paper = tradeengine_model::AccountName::new("paper").unwrap();
    let eth = tradeengine_model::Symbol::new("ETHUSDT").unwrap();
    state
        .update_account_view(&paper, |v| {
            let mut p = tradeengine_model::Position::flat(eth.clone());
            p.size = tradeengine_model::Quantity::new(dec!(-33.08));
            v.positions.push(p);
        })
        .await;
    let refused = |outcome: ReloadOutcome| match outcome {
        ReloadOutcome::Refused(reason) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    };

    // Emptied.
    let reason = refused(reload_once(path, "", &state, &*store, &clock, &env).await);
    for said in [
        "account(s) paper",
        "source(s)",
        "ETHUSDT, which account paper holds (-33.08)",
        "risk limit",
    ] {
        assert!(reason.contains(said), "{said}: {reason}");
    }
    // Cut off inside the symbols: accounts and sources intact, ETHUSDT and [risk] gone.
    let cut = &DEMO_TOML[..DEMO_TOML.find("[[symbols]]\nsymbol = \"ETHUSDT\"").unwrap()];
    let reason = refused(reload_once(path, cut, &state, &*store, &clock, &env).await);
    assert!(
        reason.contains("ETHUSDT, which account paper holds"),
        "{reason}"
    );
    assert!(!reason.contains("account(s)"), "{reason}");
    assert_eq!(*state.config(), config, "the running configuration stays");
    assert!(
        store
            .audit_events(0, 100)
            .await
            .unwrap()
            .iter()
            .all(|e| e.kind != AuditKind::ConfigChanged),
        "nothing applied, nothing recorded as a change"
    );

    // Cut inside ETHUSDT's entry: the symbol stays, its leverage and weights are gone (which
    // would read as "no source, leverage 1" and close the held short at market).
    let entry = "symbol = \"ETHUSDT\"\nleverage = 2\nweights = { demo = 0.5, tradingview = 0.3, api = 0.2 }\n";
    assert!(
        DEMO_TOML.contains(entry),
        "the demo's ETHUSDT entry changed"
    );
    let lost = DEMO_TOML.replacen(entry, "symbol = \"ETHUSDT\"\n", 1);
    let reason = refused(reload_once(path, &lost, &state, &*store, &clock, &env).await);
    assert!(
        reason.contains(
            "ETHUSDT, which account paper holds (-33.08), no longer has weights, leverage"
        ),
        "{reason}"
    );
    assert_eq!(*state.config(), config, "the running configuration stays");
    // Written out, the same change is an edit: weights set to 0 close the position.
    let zeroed = DEMO_TOML.replacen(
        entry,
        "symbol = \"ETHUSDT\"\nleverage = 2\nweights = { demo = 0, tradingview = 0, api = 0 }\n",
        1,
    );
    assert_eq!(
        reload_once(path, &zeroed, &state, &*store, &clock, &env).await,
        ReloadOutcome::Applied
    );

    // Removing a symbol nobody holds or targets is an ordinary edit.
    state
        .update_account_view(&paper, |v| v.positions.clear())
        .await;
    let without_eth = DEMO_TOML.replacen(
        &DEMO_TOML[DEMO_TOML.find("[[symbols]]\nsymbol = \"ETHUSDT\"").unwrap()
            ..DEMO_TOML.find("[risk]").unwrap()],
        "",
        1,
    );
    assert_eq!(
        reload_once(path, &without_eth, &state, &*store, &clock, &env).await,
        ReloadOutcome::Applied
    );
    assert!(state.config().symbol("ETHUSDT").is_none());
}
