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
