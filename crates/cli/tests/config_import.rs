#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! `tradeengine config import` from the binary: sirouk/trade-engine's three JSON files become a
//! TOML file that loads, written atomically (no temporary file left beside it), with no
//! progress-bar escape codes in piped output; a bad file is refused and the existing TOML left as
//! it was.

use std::process::Command;

fn import(dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tradeengine"))
        .args(["config", "import", "--from"])
        .arg(dir)
        .arg("--out")
        .arg(dir.join("tradeengine.toml"))
        .output()
        .unwrap()
}

#[test]
fn seed_files_become_a_loadable_toml_and_bad_input_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("asset_mapping_config.json"),
        r#"{"tradingview": {"BTCUSDT": "BTCUSDT"}, "bittensor": {"BTCUSD": "BTCUSDT"}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("signal_weight_config.json"),
        r#"[{"symbol": "BTCUSDT", "leverage": 3, "sources": [{"source": "tradingview", "weight": 0.1}, {"source": "bittensor", "weight": 0.15}]}]"#,
    )
    .unwrap();
    let out = import(dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 symbols, 2 sources"), "{stdout}");
    assert!(
        !stdout.contains('\x1b') && !String::from_utf8_lossy(&out.stderr).contains('\x1b'),
        "no progress drawing off a terminal"
    );
    let path = dir.path().join("tradeengine.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let config = tradeengine_engine::config::load_file(
        &path,
        &[],
        &tradeengine_engine::config::Overrides::default(),
    )
    .unwrap();
    let btc = config.symbol("BTCUSDT").unwrap();
    assert_eq!(btc.weights["sn8"].to_string(), "0.15", "{text}");
    assert_eq!(config.mapping["sn8"]["BTCUSD"], "BTCUSDT");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "no temporary file left: {names:?}");

    // A broken seed file: refused by name, the TOML untouched.
    std::fs::write(
        dir.path().join("signal_weight_config.json"),
        "[{\"symbol\": 5}]",
    )
    .unwrap();
    let out = import(dir.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("signal_weight_config.json"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

// One scenario whose steps build on each other's state, so it stays one sequence.
#[test]
fn import_types_values_reports_unknown_keys_and_states_its_choices() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("asset_mapping_config.json"),
        r#"{"tradingview": {"BTCUSDT": "BTCUSDT"}, "bittensor": {"BTCUSD": "BTCUSDT"}, "binance_feed": {"X": "Y"}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("signal_weight_config.json"),
        r#"[{"symbol": "BTCUSDT", "leverage": "25", "note": "old", "sources": [{"source": "tradingview", "weight": "0.1"}, {"source": "bittensor", "weight": 0.15}]}]"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bittensor_processor_config.json"),
        r#"{"min_trades": 10, "max_drawdown_threshold": -0.5, "drawdown_exponent": 6, "leverage_limit_crypto": 0.5, "legacy_knob": 3}"#,
    )
    .unwrap();
    // An existing file with a comment and an account added by hand afterwards must still parse.
    let path = dir.path().join("tradeengine.toml");
    std::fs::write(&path, "# my setup\n[engine]\nmode = \"paper\"\n").unwrap();
    let out = import(dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for reported in [
        "asset_mapping_config.json: binance_feed:",
        "signal_weight_config.json: BTCUSDT.note:",
        "bittensor_processor_config.json: legacy_knob:",
    ] {
        assert!(stdout.contains(reported), "{reported}: {stdout}");
    }
    assert!(
        stdout.contains("WARNING risk.max_leverage raised from 20 to 25"),
        "a raised cap is said, never silent: {stdout}"
    );
    assert!(stdout.contains("on_stale = \"flat\""), "{stdout}");
    assert!(stdout.contains("SN8_API_KEY:"), "{stdout}");
    assert!(
        stdout.contains("positions_url") && stdout.contains("config sn8 --set positions_url"),
        "what to fill, and how: {stdout}"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# my setup"), "{text}");
    for typed in [
        "leverage = 25\n",
        "weights = { sn8 = 0.15, tradingview = 0.1 }",
        "min_trades = 10\n",
        "max_drawdown_threshold = -0.5\n",
        "drawdown_exponent = 6.0\n",
        "leverage_limit = 0.5\n",
        "max_leverage = 25\n",
        "ttl_secs = 120\non_stale = \"flat\"",
    ] {
        assert!(text.contains(typed), "{typed:?} in {text}");
    }
    assert!(
        !text.contains("legacy_knob") && !text.contains("binance_feed"),
        "{text}"
    );
    assert!(!text.contains("accounts = []"), "{text}");
    let hand = format!("{text}\n[[accounts]]\nname = \"paper\"\nvenue = \"paper\"\n");
    std::fs::write(&path, hand).unwrap();
    tradeengine_engine::config::load_file(
        &path,
        &[],
        &tradeengine_engine::config::Overrides::default(),
    )
    .unwrap();

    // `config sn8` completes and repairs what the import left: the URL, and a stray key an
    // older import copied.
    let with_stray = std::fs::read_to_string(&path)
        .unwrap()
        .replace("min_trades = 10\n", "min_trades = 10\nlegacy_knob = 3\n");
    std::fs::write(&path, with_stray).unwrap();
    let check = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tradeengine"))
            .arg("--config")
            .arg(&path)
            .args(extra)
            .env("SN8_API_KEY", "FAKE-IMPORT-SN8")
            .env("TRADINGVIEW_SECRET", "FAKE-IMPORT-TV")
            .output()
            .unwrap()
    };
    let out = check(&["config", "check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sources.sn8.settings"), "{err}");
    let out = check(&[
        "config",
        "sn8",
        "--set",
        "positions_url=http://127.0.0.1:9/miner-positions",
        "--unset",
        "seed.legacy_knob",
        "--yes",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = check(&["config", "check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
