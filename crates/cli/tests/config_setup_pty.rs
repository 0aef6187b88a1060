#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! `tradeengine config weights|mapping` driven through a pseudo-terminal as an operator would:
//! the remaining weight is shown, Enter keeps the current value, a duplicate target mapping is
//! replaced, a summary comes before the write, and the file keeps its comments. The flag forms
//! make the same changes without prompts.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{BIN, DOWN, TWO_SOURCES, spawn};
use expectrl::Expect;

fn config(dir: &Path) -> PathBuf {
    common::write_config(dir, TWO_SOURCES)
}

#[test]
fn weights_interactively_enter_keeps_and_remaining_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let mut s = spawn(&path, &["config", "weights"]);
    s.expect("BTCUSDT: alpha=0.5, beta=0.25 (remaining 0.25)")
        .unwrap();
    // keep → modify
    s.send(DOWN).unwrap();
    s.send("\r").unwrap();
    // Leverage first, as the seed's weights script asked; Enter keeps it.
    s.expect("Enter leverage for BTCUSDT").unwrap();
    s.send("\r").unwrap();
    // Long prompts wrap at the terminal's width: match each half.
    s.expect("from alpha (remaining weight: 1.00, press Enter for")
        .unwrap();
    s.expect("current value: 0.5)").unwrap();
    s.send("0.6\r").unwrap();
    s.expect("from beta (remaining weight: 0.40, press Enter for")
        .unwrap();
    s.expect("urrent value: 0.25)").unwrap();
    // Enter keeps the current value.
    s.send("\r").unwrap();
    s.expect("summary:").unwrap();
    s.expect("BTCUSDT: alpha=0.6, beta=0.25 (remaining 0.15)")
        .unwrap();
    s.expect("Write").unwrap();
    s.send("\r").unwrap();
    s.expect("wrote").unwrap();
    s.expect(expectrl::Eof).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# my notes"), "{text}");
    assert!(
        text.contains("weights = { alpha = 0.6, beta = 0.25 }"),
        "{text}"
    );
}

#[test]
fn mapping_interactively_replaces_a_duplicate_target() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let mut s = spawn(&path, &["config", "mapping", "--source", "beta"]);
    s.expect("beta: XBTUSD→BTCUSDT").unwrap();
    s.send(DOWN).unwrap();
    s.send("\r").unwrap();
    // "modify" first walks the existing mappings one by one: keep this one.
    s.expect("Current mapping: XBTUSD -> BTCUSDT").unwrap();
    s.send("\r").unwrap();
    s.expect("Source symbol to map").unwrap();
    s.send("BTC\r").unwrap();
    s.expect("Unified symbol for BTC").unwrap();
    s.send("btcusdt\r").unwrap();
    s.expect("replaced XBTUSD → BTCUSDT").unwrap();
    s.expect("Source symbol to map").unwrap();
    s.send("\r").unwrap();
    s.expect("summary for beta:").unwrap();
    s.expect("BTC → BTCUSDT (new)").unwrap();
    s.expect("Write").unwrap();
    s.send("\r").unwrap();
    s.expect("wrote").unwrap();
    s.expect(expectrl::Eof).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("BTC = \"BTCUSDT\""), "{text}");
    assert!(!text.contains("XBTUSD"), "{text}");
}

#[test]
fn flags_make_the_same_changes_without_prompts() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let run = |args: &[&str]| {
        Command::new(BIN)
            .arg("--config")
            .arg(&path)
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&[
        "config", "weights", "--symbol", "btcusdt", "--set", "beta=0.4",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("alpha=0.5, beta=0.4 (remaining 0.1)"),
        "{stdout}"
    );
    // Over 1 in sum: refused, file untouched.
    let before = std::fs::read_to_string(&path).unwrap();
    let out = run(&[
        "config", "weights", "--symbol", "BTCUSDT", "--set", "beta=0.9",
    ]);
    assert!(!out.status.success());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    let out = run(&[
        "config",
        "mapping",
        "--source",
        "beta",
        "--map",
        "BTC=BTCUSDT",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("replaced XBTUSD → BTCUSDT"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("BTC = \"BTCUSDT\"") && !text.contains("XBTUSD"),
        "{text}"
    );
    assert!(text.starts_with("# my notes"));
    // No flags and no terminal: an error naming the flags, not a hang.
    let out = run(&["config", "weights"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--set"));
}
