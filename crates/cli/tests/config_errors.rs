#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! A broken configuration exits with code 2 and a message that names the file and the key.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");

fn check(toml: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(&path, toml).unwrap();
    let out = Command::new(BIN)
        .args(["--config", path.to_str().unwrap(), "config", "check"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn unknown_key_exits_2_naming_file_and_key() {
    let (code, err) = check("[engine]\nmode = \"paper\"\ndrift_chek_interval_secs = 5\n");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("broken.toml"), "{err}");
    assert!(err.contains("engine.drift_chek_interval_secs"), "{err}");
    assert!(err.contains("unknown key"), "{err}");
}

#[test]
fn bad_value_exits_2_naming_the_key() {
    let (code, err) =
        check("[[accounts]]\nname = \"a\"\nvenue = \"paper\"\nmax_concurrent_requests = 0\n");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("accounts[0].max_concurrent_requests"), "{err}");
}

#[test]
fn a_bad_hyperliquid_setting_exits_2_naming_the_key() {
    let account = "[[accounts]]\nname = \"hl\"\nvenue = \"hyperliquid\"\n[accounts.hyperliquid]\n";
    for (setting, key) in [
        (
            "market_slippage = 0",
            "accounts[0].hyperliquid.market_slippage",
        ),
        (
            "dead_man_every_secs = 600\ndead_man_after_secs = 600",
            "accounts[0].hyperliquid.dead_man_after_secs",
        ),
    ] {
        let (code, err) = check(&format!("{account}{setting}\n"));
        assert_eq!(code, 2, "{setting}: {err}");
        assert!(err.contains(key), "{setting}: {err}");
    }
}

#[test]
fn run_refuses_a_broken_config_with_2_before_doing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(&path, "[risk]\nmax_depth = -1\n").unwrap();
    let out = Command::new(BIN)
        .args(["--config", path.to_str().unwrap(), "run"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("risk.max_depth"));
    assert!(
        !dir.path().join("tradeengine-data").exists(),
        "nothing is created for a broken config"
    );
}

#[test]
fn a_valid_config_checks_ok() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ok.toml");
    std::fs::write(&path, include_str!("../../../examples/demo.toml")).unwrap();
    // As a file, the demo's webhook secret must come from its variable.
    let missing = Command::new(BIN)
        .args(["--config", path.to_str().unwrap(), "config", "check"])
        .env_remove("TRADEENGINE_TV_SECRET")
        .env_remove("TRADEENGINE_REST_TOKEN")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        err.contains("sources.") && err.contains("TRADEENGINE_") && err.contains("not set"),
        "the message names the source and the variable: {err}"
    );
    let out = Command::new(BIN)
        .args(["--config", path.to_str().unwrap(), "config", "check"])
        .env("TRADEENGINE_TV_SECRET", "check-secret-not-real")
        .env("TRADEENGINE_REST_TOKEN", "check-rest-token-not-real")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok (1 accounts"));
}
