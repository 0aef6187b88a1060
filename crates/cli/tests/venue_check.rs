#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! `tradeengine venue check --account A` end to end: the binary against every simulator
//! (exit 0 and a PASS report), a withdrawal-enabled key (exit 1 with the fix), JSON output,
//! refusal beside a running engine (the data dir's lock), a live account without `--live`,
//! an unknown account, and a paper-venue account (nothing to check).

use std::path::{Path, PathBuf};
use std::process::Command;

use tradeengine_store::ownership::{DataDirLock, Holder};
use tradeengine_venue_sim::{SimHandle, SimOptions, SimVenue, serve};

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");

async fn sim(venue: SimVenue, options: SimOptions) -> SimHandle {
    serve(venue, "127.0.0.1:0".parse().unwrap(), options)
        .await
        .unwrap()
}

fn write_config(dir: &Path, mode: &str, venue: &str, base_url: &str) -> PathBuf {
    let config = dir.join("t.toml");
    std::fs::write(
        &config,
        format!(
            "[engine]\nmode = \"{mode}\"\ndata_dir = \"{}\"\n[[accounts]]\nname = \"acct\"\nvenue = \"{venue}\"\nbase_url = \"{base_url}\"\ncredentials = \"env:VCTEST\"\n[sources.ops]\ntype = \"rest\"\n[[symbols]]\nsymbol = \"BTCUSDT\"\nweights = {{ ops = 1.0 }}\n[[symbols]]\nsymbol = \"ETHUSDT\"\nweights = {{ ops = 1.0 }}\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    config
}

/// Runs the binary off the runtime's threads (the simulator runs on them).
async fn run(config: &Path, sim: &SimHandle, args: &[&str]) -> (Option<i32>, String, String) {
    let o = sim.options().clone();
    let mut cmd = Command::new(BIN);
    cmd.args(["--config", config.to_str().unwrap()])
        .args(args)
        .env("VCTEST_API_KEY", &o.api_key)
        .env("VCTEST_API_SECRET", &o.api_secret)
        .env("VCTEST_API_PASSPHRASE", &o.passphrase)
        .env_remove("TRADEENGINE_CONFIG");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_simulator_passes_and_the_order_is_cancelled() {
    for venue in [
        SimVenue::Bybit,
        SimVenue::Binance,
        SimVenue::Blofin,
        SimVenue::Kucoin,
        SimVenue::Mexc,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let sim = sim(venue, SimOptions::new(venue)).await;
        let config = write_config(dir.path(), "testnet", venue.as_str(), &sim.base_url());
        let (code, out, err) = run(&config, &sim, &["venue", "check", "--account", "acct"]).await;
        assert_eq!(code, Some(0), "{venue:?}: {out}{err}");
        for line in [
            "server_time",
            "key_permissions",
            "account_mode",
            "instrument BTCUSDT",
            "instrument ETHUSDT",
            "private_stream",
            "order_round_trip",
            "result: PASS",
        ] {
            assert!(out.contains(line), "{venue:?}: {line} missing: {out}");
        }
        let orders = sim.orders();
        assert_eq!(orders.len(), 1, "{venue:?}");
        // BloFin's client ids allow no `-`: its adapter sends `_` instead.
        assert!(
            orders[0].client_id.replace('_', "-").starts_with("vc-"),
            "{:?}",
            orders[0]
        );
        assert_eq!(
            orders[0].status,
            tradeengine_venue_sim::SimStatus::Cancelled
        );
        let o = sim.options();
        for secret in [&o.api_key, &o.api_secret, &o.passphrase] {
            assert!(!out.contains(secret.as_str()) && !err.contains(secret.as_str()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_enabled_key_exits_non_zero_with_the_fix_and_json_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = SimOptions::new(SimVenue::Bybit);
    options.withdrawals_enabled = true;
    let sim = sim(SimVenue::Bybit, options).await;
    let config = write_config(dir.path(), "testnet", "bybit", &sim.base_url());
    let (code, out, err) = run(&config, &sim, &["venue", "check", "--account", "acct"]).await;
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("FAIL  key_permissions"), "{out}");
    assert!(out.contains("fix: create a new API key"), "{out}");
    assert!(out.contains("result: FAIL"), "{out}");
    let (code, out, _) = run(
        &config,
        &sim,
        &["venue", "check", "--account", "acct", "--json"],
    )
    .await;
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["passed"], false);
    let checks = v["checks"].as_array().unwrap();
    let key = checks
        .iter()
        .find(|c| c["name"] == "key_permissions")
        .unwrap();
    assert_eq!(key["outcome"], "fail");
    assert!(sim.orders().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_refuses_to_run_beside_an_engine_holding_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(SimVenue::Bybit, SimOptions::new(SimVenue::Bybit)).await;
    let config = write_config(dir.path(), "testnet", "bybit", &sim.base_url());
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let lock = DataDirLock::acquire(&data, Holder::this_process(chrono::Utc::now())).unwrap();
    let (code, out, err) = run(&config, &sim, &["venue", "check", "--account", "acct"]).await;
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("an engine is running on data dir"), "{err}");
    assert_eq!(sim.counters().total(), 0, "nothing was asked of the venue");
    drop(lock);
    let (code, out, err) = run(&config, &sim, &["venue", "check", "--account", "acct"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_needs_the_flag_and_bad_accounts_fail() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(SimVenue::Bybit, SimOptions::new(SimVenue::Bybit)).await;
    let config = write_config(dir.path(), "live", "bybit", &sim.base_url());
    let (code, _, err) = run(&config, &sim, &["venue", "check", "--account", "acct"]).await;
    assert_ne!(code, Some(0));
    assert!(err.contains("--live"), "{err}");
    assert_eq!(sim.counters().total(), 0);
    let (code, _, err) = run(&config, &sim, &["venue", "check", "--account", "nosuch"]).await;
    assert_ne!(code, Some(0));
    assert!(err.contains("no account named \"nosuch\""), "{err}");
    let (code, out, err) = run(
        &config,
        &sim,
        &["venue", "check", "--account", "acct", "--live"],
    )
    .await;
    assert_eq!(code, Some(0), "{out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paper_accounts_check_public_data_only() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(SimVenue::Binance, SimOptions::new(SimVenue::Binance)).await;
    let config = write_config(dir.path(), "paper", "binance", &sim.base_url());
    let (code, out, err) = run(&config, &sim, &["venue", "check", "--account", "acct"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("public data only"), "{out}");
    assert!(out.contains("instrument BTCUSDT") && !out.contains("order_round_trip"));
    assert!(sim.orders().is_empty());

    let paper = dir.path().join("p.toml");
    std::fs::write(
        &paper,
        format!(
            "[engine]\ndata_dir = \"{}\"\n[[accounts]]\nname = \"pap\"\nvenue = \"paper\"\n[sources.ops]\ntype = \"rest\"\n[[symbols]]\nsymbol = \"BTCUSDT\"\nweights = {{ ops = 1.0 }}\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let (code, out, err) = run(&paper, &sim, &["venue", "check", "--account", "pap"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("nothing to check") || out.contains("Nothing to do"),
        "{out}"
    );
}
