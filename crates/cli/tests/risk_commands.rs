#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! `tradeengine kill --flatten --account NAME` and `tradeengine risk reset --account NAME` write
//! what the engine reads (the stored switch, the reset), audited; `status` shows the risk state;
//! unknown accounts are refused.

use std::process::Command;

use tradeengine_engine::killswitch::{self, KillAction};
use tradeengine_model::AccountName;
use tradeengine_store::AuditKind;

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");

fn run(config: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .args(["--config", config.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn kill_flatten_for_one_account_and_risk_reset() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("t.toml");
    std::fs::write(
        &config,
        format!(
            "[engine]\ndata_dir = \"{}\"\n[[accounts]]\nname = \"a\"\nvenue = \"paper\"\n[[accounts]]\nname = \"b\"\nvenue = \"paper\"\n[risk]\npreset = \"moderate\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    // The store an engine made (control commands never create one).
    drop(tradeengine_store::open_sqlite_in(dir.path()).await.unwrap());

    // Stored, but no engine runs on this store: exit code 3 says the switch reached none.
    let out = Command::new(BIN)
        .args(["--config", config.to_str().unwrap()])
        .args(["kill", "--flatten", "--account", "b"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(
        said.contains("ENGAGED") && said.contains("NO running engine"),
        "{said}"
    );
    let (ok, out) = run(&config, &["kill", "--account", "ghost"]);
    assert!(!ok, "{out}");
    let (ok, out) = run(
        &config,
        &["risk", "reset", "--account", "a", "--reason", "checked"],
    );
    assert!(ok, "{out}");
    assert!(out.contains("ACTIVE"), "{out}");
    let (ok, out) = run(&config, &["risk", "reset", "--account", "ghost"]);
    assert!(!ok, "{out}");
    let (ok, out) = run(&config, &["status"]);
    assert!(ok && out.contains("risk: ACTIVE"), "{out}");

    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let switch = killswitch::read_stored(&*store).await.unwrap().unwrap();
    assert_eq!(switch.action, KillAction::Flatten);
    assert_eq!(switch.accounts, Some(vec![AccountName::new("b").unwrap()]));
    let events = store.audit_events(0, 100).await.unwrap();
    let reset = events
        .iter()
        .find(|e| e.kind == AuditKind::RiskStateChanged)
        .unwrap();
    assert_eq!(reset.account.as_deref(), Some("a"));
    assert_eq!(reset.payload["by"], "cli: checked");
    assert!(events.iter().any(|e| e.kind == AuditKind::KillSwitch));
}

/// `tradeengine kill | head -1`: a closed stdout must not stop a command half-way. `println!`
/// panicked (exit 101) on the first line after the reader went away, and `kill --release --yes`
/// panicked before it released, leaving the switch engaged.
#[tokio::test]
async fn kill_and_release_finish_when_nobody_reads_their_output() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("t.toml");
    std::fs::write(
        &config,
        format!(
            "[engine]\ndata_dir = \"{}\"\n[[accounts]]\nname = \"a\"\nvenue = \"paper\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    drop(tradeengine_store::open_sqlite_in(dir.path()).await.unwrap());
    let closed_stdout = || {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        writer
    };
    let kill = |args: &[&str]| {
        Command::new(BIN)
            .args(["--config", config.to_str().unwrap()])
            .args(args)
            .stdout(closed_stdout())
            .output()
            .unwrap()
    };
    let out = kill(&["kill", "--reason", "drill"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    assert!(
        killswitch::read_stored(&*store).await.unwrap().is_some(),
        "engaged"
    );
    let out = kill(&["kill", "--release", "--yes"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        killswitch::read_stored(&*store).await.unwrap().is_none(),
        "released"
    );
}

/// A HALT closes positions but leaves the sleeves open: `risk reset` shows them and, without a
/// terminal, refuses (exit 2, nothing reset) unless `--yes`; `--hold` resets into hold.
#[tokio::test]
async fn risk_reset_previews_open_sleeves_and_needs_yes_or_hold() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("t.toml");
    std::fs::write(
        &config,
        format!(
            "[engine]\ndata_dir = \"{}\"\n[[accounts]]\nname = \"a\"\nvenue = \"paper\"\n[risk]\npreset = \"moderate\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let mut sleeve = tradeengine_model::Sleeve::flat(
        tradeengine_model::SourceId::new("tv").unwrap(),
        tradeengine_model::Symbol::new("BTCUSDT").unwrap(),
        chrono::Utc::now(),
    );
    sleeve.state = tradeengine_model::SleeveState::Open;
    sleeve.exposure = tradeengine_model::SleeveOrigin::Depth(rust_decimal::Decimal::new(5, 1));
    store.put_sleeve(&sleeve).await.unwrap();
    drop(store);
    let resets = |events: &[tradeengine_store::AuditEvent]| {
        events
            .iter()
            .filter(|e| e.kind == AuditKind::RiskStateChanged)
            .count()
    };

    let (ok, out) = run(&config, &["risk", "reset", "--account", "a"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("tv BTCUSDT: depth 0.5") && out.contains("--yes"),
        "{out}"
    );
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    assert_eq!(
        resets(&store.audit_events(0, 100).await.unwrap()),
        0,
        "nothing reset"
    );
    drop(store);

    let (ok, out) = run(&config, &["risk", "reset", "--account", "a", "--hold"]);
    assert!(ok, "{out}");
    assert!(out.contains("into hold") && out.contains("ACTIVE"), "{out}");
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let hold = tradeengine_engine::release_hold::read(&*store)
        .await
        .unwrap()
        .unwrap();
    assert!(hold.covers(&AccountName::new("a").unwrap()));
    drop(store);

    let (ok, out) = run(&config, &["risk", "reset", "--account", "a", "--yes"]);
    assert!(ok, "{out}");
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    assert_eq!(resets(&store.audit_events(0, 100).await.unwrap()), 2);
}
