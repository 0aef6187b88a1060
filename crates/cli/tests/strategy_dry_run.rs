#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! `tradeengine strategy run NAME --dry-run` prints one decision per closed candle, decided by
//! the fallback rules when no LLM is configured, and stores nothing; without `--dry-run` it
//! refuses.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");
const DEMO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/strategy-demo.toml"
);

#[test]
fn dry_run_prints_fallback_decisions_and_trades_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .args(["--config", DEMO, "strategy", "run", "cipher", "--dry-run"])
        .args(["--symbol", "ETHUSDT", "--candles", "30"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decisions: Vec<&str> = stdout.lines().filter(|l| l.contains(" ETHUSDT ")).collect();
    assert_eq!(decisions.len(), 30, "{stdout}");
    for d in &decisions {
        assert!(
            d.contains("[fallback: no LLM configured] Fallback rules:"),
            "{d}"
        );
        assert!(
            ["LONG", "SHORT", "CLOSE", "HOLD"]
                .iter()
                .any(|a| d.contains(a)),
            "{d}"
        );
    }
    assert!(stdout.contains("ETHUSDT: "), "summary line: {stdout}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "a dry run writes nothing"
    );

    let refused = Command::new(BIN)
        .current_dir(dir.path())
        .args(["--config", DEMO, "strategy", "run", "cipher"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--dry-run"));
}
