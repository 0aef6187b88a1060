#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The binary's side of modes and unknown positions: `config check` refuses a testnet account
//! pointed at a production host (exit 2, naming the host's venue); `positions adopt|flatten`
//! records an audited decision the engine reads; `status` shows what each account trades on.

use std::process::Command;

use tradeengine_engine::worker::unknown::{Decision, decisions};
use tradeengine_model::{AccountName, Symbol};
use tradeengine_store::AuditKind;

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");

fn run(config: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    // The account's keys are set: `config check` refuses unset credential variables, as `run`
    // does.
    let out = Command::new(BIN)
        .args(["--config", config.to_str().unwrap()])
        .args(args)
        .env("BY_API_KEY", "FAKE-MODES-KEY")
        .env("BY_API_SECRET", "FAKE-MODES-SECRET")
        .output()
        .unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn write(dir: &std::path::Path, mode: &str, base_url: &str) -> std::path::PathBuf {
    let config = dir.join("t.toml");
    std::fs::write(
        &config,
        format!(
            "[engine]\nmode = \"{mode}\"\ndata_dir = \"{}\"\n[[accounts]]\nname = \"by\"\nvenue = \"bybit\"\nbase_url = \"{base_url}\"\ncredentials = \"env:BY\"\n[sources.ops]\ntype = \"rest\"\n[[symbols]]\nsymbol = \"BTCUSDT\"\nweights = {{ ops = 1.0 }}\n",
            dir.display()
        ),
    )
    .unwrap();
    config
}

#[test]
fn config_check_refuses_a_production_host_in_testnet() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "https://api.bybit.com",
        "https://api.bytick.com",
        "https://fapi.binance.com",
    ] {
        let config = write(dir.path(), "testnet", url);
        let (code, out) = run(&config, &["config", "check"]);
        assert_eq!(code, Some(2), "{url}: {out}");
        assert!(
            out.contains("accounts[0].base_url") && out.contains("production host"),
            "{url}: {out}"
        );
    }
    let config = write(dir.path(), "testnet", "http://127.0.0.1:9");
    let (code, out) = run(&config, &["config", "check"]);
    assert_eq!(code, Some(0), "{out}");
    // The same mainnet URL in paper mode is public data only: accepted.
    let config = write(dir.path(), "paper", "https://api.bybit.com");
    let (code, out) = run(&config, &["config", "check"]);
    assert_eq!(code, Some(0), "{out}");
}

#[tokio::test]
async fn positions_adopt_and_flatten_record_an_audited_decision() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "paper", "https://api.bybit.com");
    // The store an engine made (`positions` never creates one).
    drop(tradeengine_store::open_sqlite_in(dir.path()).await.unwrap());
    let (code, out) = run(
        &config,
        &[
            "positions",
            "adopt",
            "--account",
            "by",
            "--symbol",
            "btcusdt",
            "--reason",
            "mine",
        ],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("adopted"), "{out}");
    let (code, out) = run(
        &config,
        &[
            "positions",
            "flatten",
            "--account",
            "ghost",
            "--symbol",
            "BTCUSDT",
        ],
    );
    assert_ne!(code, Some(0), "{out}");
    let (code, out) = run(
        &config,
        &[
            "positions",
            "flatten",
            "--account",
            "by",
            "--symbol",
            "XRPUSDT",
        ],
    );
    assert_ne!(code, Some(0), "an unconfigured symbol: {out}");
    let (code, out) = run(&config, &["status"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("paper on bybit public data"), "{out}");

    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let account = AccountName::new("by").unwrap();
    let d = decisions(&*store, &account).await.unwrap();
    let btc = Symbol::new("BTCUSDT").unwrap();
    assert_eq!(d[&btc].decision, Decision::Adopt);
    assert_eq!(d[&btc].by, "cli: mine");
    let events = store.audit_events(0, 100).await.unwrap();
    assert!(events.iter().any(|e| e.kind == AuditKind::Reconciled
        && e.account.as_deref() == Some("by")
        && e.payload["unknown_position"] == "adopt"));
}

/// A symbol removed from the configuration while the account holds it: `positions flatten`
/// takes it (the engine closes it), `adopt` is refused (nothing could keep it at its size), and
/// a symbol the account does not hold is still refused.
#[tokio::test]
async fn positions_flatten_takes_a_held_symbol_no_longer_configured() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "paper", "https://api.bybit.com");
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let account = AccountName::new("by").unwrap();
    let eth = Symbol::new("ETHUSDT").unwrap();
    let mut held = tradeengine_model::Position::flat(eth.clone());
    held.size = tradeengine_model::Quantity::new(rust_decimal::Decimal::new(5, 1));
    store
        .record_positions(&account, &[held], chrono::Utc::now())
        .await
        .unwrap();
    drop(store);
    let decide = |action: &str, symbol: &str| {
        run(
            &config,
            &["positions", action, "--account", "by", "--symbol", symbol],
        )
    };
    let (code, out) = decide("adopt", "ETHUSDT");
    assert_ne!(code, Some(0), "adopt of an unconfigured symbol: {out}");
    assert!(out.contains("not a configured symbol"), "{out}");
    let (code, out) = decide("flatten", "XRPUSDT");
    assert_ne!(code, Some(0), "a symbol the account does not hold: {out}");
    let (code, out) = decide("flatten", "ethusdt");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("to be flattened"), "{out}");

    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let d = decisions(&*store, &account).await.unwrap();
    assert_eq!(d[&eth].decision, Decision::Flatten);
    assert!(!d.contains_key(&Symbol::new("XRPUSDT").unwrap()));
}
