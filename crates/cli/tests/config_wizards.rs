#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The setup wizards that replace hand-editing: `config accounts` (add, modify, remove),
//! `config symbols` (a new pair: mapping per source, leverage, weights in one flow),
//! `config weights` with leverage and creating a missing symbol, `config mapping` walking each
//! existing mapping (keep / modify / remove), and `config credentials` pointing to
//! `config accounts` when there is no account. Flag forms for scripts, a pseudo-terminal for
//! the prompts; comments survive every write.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{BIN, DOWN, TWO_SOURCES, spawn};
use expectrl::Expect;

/// [`TWO_SOURCES`] with a leverage (and its comment) on BTCUSDT and a second mapping of beta's.
fn config(dir: &Path) -> PathBuf {
    let text = TWO_SOURCES
        .replace(
            "symbol = \"BTCUSDT\"\n",
            "symbol = \"BTCUSDT\"\nleverage = 2 # two\n",
        )
        .replace(
            "XBTUSD = \"BTCUSDT\"\n",
            "XBTUSD = \"BTCUSDT\"\nETH = \"ETHUSDT\"\n",
        );
    common::write_config(dir, &text)
}

fn cli(path: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--config")
        .arg(path)
        .args(args)
        .env_remove("WIZ_API_KEY")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

// One scenario whose steps build on each other's state, so it stays one sequence.
#[test]
fn accounts_are_added_modified_and_removed_with_flags() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    // Only a paper account: `config credentials` says where to go, not "nothing changed".
    let out = cli(&path, &["config", "credentials"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("config accounts --add"),
        "{}",
        text(&out)
    );

    let out = cli(
        &path,
        &[
            "config",
            "accounts",
            "--add",
            "wiz",
            "--venue",
            "bybit",
            "--mode",
            "testnet",
            "--credentials-env",
            "WIZ",
            "--base-url",
            "http://127.0.0.1:9",
            "--yes",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("WIZ_API_KEY is not set"),
        "the next step: {}",
        text(&out)
    );
    let t = std::fs::read_to_string(&path).unwrap();
    assert!(
        t.starts_with("# my notes") && t.contains("leverage = 2 # two"),
        "{t}"
    );
    assert!(
        t.contains("[[accounts]]\nname = \"wiz\"\nvenue = \"bybit\"\nmode = \"testnet\"\ncredentials = \"env:WIZ\"\nbase_url = \"http://127.0.0.1:9\""),
        "{t}"
    );

    // A MEXC account in testnet needs a base URL: refused, file untouched.
    let out = cli(
        &path,
        &[
            "config",
            "accounts",
            "--add",
            "mx",
            "--venue",
            "mexc",
            "--mode",
            "testnet",
            "--credentials-env",
            "MX",
            "--yes",
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("set base_url"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), t);

    let out = cli(
        &path,
        &[
            "config",
            "accounts",
            "--modify",
            "wiz",
            "--mode",
            "paper",
            "--base-url",
            "default",
            "--leverage-override",
            "3",
            "--yes",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let t = std::fs::read_to_string(&path).unwrap();
    assert!(
        t.contains("mode = \"paper\"") && !t.contains("127.0.0.1:9"),
        "{t}"
    );
    assert!(t.contains("leverage_override = 3\n"), "typed: {t}");

    let out = cli(&path, &["config", "accounts", "--remove", "wiz", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = std::fs::read_to_string(&path).unwrap();
    assert!(!t.contains("wiz") && t.contains("name = \"paper\""), "{t}");
    let out = cli(
        &path,
        &["config", "accounts", "--modify", "nosuch", "--yes"],
    );
    assert!(!out.status.success());
}

#[test]
fn a_new_pair_is_mapped_levered_and_weighted_in_one_command() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let out = cli(
        &path,
        &[
            "config",
            "symbols",
            "--symbol",
            "taousdt",
            "--map",
            "alpha=TAOUSDT",
            "--map",
            "beta=TAOUSD",
            "--leverage",
            "3",
            "--weight",
            "alpha=0.1",
            "--weight",
            "beta=0.15",
            "--yes",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("summary for TAOUSDT (new)"),
        "{}",
        text(&out)
    );
    let t = std::fs::read_to_string(&path).unwrap();
    assert!(
        t.contains("symbol = \"TAOUSDT\"\nleverage = 3\nweights = { alpha = 0.1, beta = 0.15 }"),
        "{t}"
    );
    assert!(
        t.contains("TAOUSD = \"TAOUSDT\"") && t.contains("XBTUSD = \"BTCUSDT\""),
        "{t}"
    );
    assert!(t.contains("[mapping.alpha]\nTAOUSDT = \"TAOUSDT\""), "{t}");
    // Weights over 1: refused, nothing written.
    let out = cli(
        &path,
        &[
            "config",
            "symbols",
            "--symbol",
            "TAOUSDT",
            "--weight",
            "alpha=0.9",
            "--yes",
        ],
    );
    assert!(!out.status.success());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), t);
}

#[test]
fn weights_set_leverage_and_create_a_missing_symbol() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let out = cli(
        &path,
        &[
            "config",
            "weights",
            "--symbol",
            "BTCUSDT",
            "--leverage",
            "4",
            "--yes",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let t = std::fs::read_to_string(&path).unwrap();
    assert!(
        t.contains("leverage = 4") && t.contains("alpha = 0.5, beta = 0.25"),
        "{t}"
    );
    let out = cli(
        &path,
        &[
            "config",
            "weights",
            "--symbol",
            "SOLUSDT",
            "--set",
            "alpha=0.2",
            "--yes",
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("--create"), "{}", text(&out));
    let out = cli(
        &path,
        &[
            "config",
            "weights",
            "--symbol",
            "solusdt",
            "--create",
            "--set",
            "alpha=0.2",
            "--leverage",
            "2",
            "--yes",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let t = std::fs::read_to_string(&path).unwrap();
    assert!(
        t.contains("symbol = \"SOLUSDT\"\nleverage = 2\nweights = { alpha = 0.2 }"),
        "{t}"
    );
    let out = cli(
        &path,
        &[
            "config",
            "weights",
            "--symbol",
            "BTCUSDT",
            "--leverage",
            "500",
            "--yes",
        ],
    );
    assert!(!out.status.success(), "above risk.max_leverage");
}

#[test]
fn weights_at_a_terminal_offer_to_create_a_missing_symbol_and_ask_leverage() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let mut s = spawn(&path, &["config", "weights", "--symbol", "SOLUSDT"]);
    s.expect("SOLUSDT has no [[symbols]] entry yet. Create it")
        .unwrap();
    s.send("y\r").unwrap();
    s.expect("Enter leverage for SOLUSDT").unwrap();
    s.send("3\r").unwrap();
    s.expect("from alpha (remaining weight: 1.00)").unwrap();
    s.send("0.3\r").unwrap();
    s.expect("from beta (remaining weight: 0.70)").unwrap();
    s.send("0.2\r").unwrap();
    s.expect("SOLUSDT (new): alpha=0.3, beta=0.2 (remaining 0.5), leverage 3")
        .unwrap();
    s.expect("Write").unwrap();
    s.send("\r").unwrap();
    s.expect("wrote").unwrap();
    s.expect(expectrl::Eof).unwrap();
    let t = std::fs::read_to_string(&path).unwrap();
    assert!(
        t.contains("symbol = \"SOLUSDT\"\nleverage = 3\nweights = { alpha = 0.3, beta = 0.2 }"),
        "{t}"
    );
}

#[test]
fn mapping_modify_walks_each_existing_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let mut s = spawn(&path, &["config", "mapping", "--source", "beta"]);
    s.expect("beta: ETH→ETHUSDT, XBTUSD→BTCUSDT").unwrap();
    // keep → modify (one by one)
    s.send(DOWN).unwrap();
    s.send("\r").unwrap();
    s.expect("Current mapping: ETH -> ETHUSDT").unwrap();
    // keep → remove
    s.send(DOWN).unwrap();
    s.send(DOWN).unwrap();
    s.send("\r").unwrap();
    s.expect("removed ETH").unwrap();
    s.expect("Current mapping: XBTUSD -> BTCUSDT").unwrap();
    // keep → modify: a new target
    s.send(DOWN).unwrap();
    s.send("\r").unwrap();
    s.expect("Unified symbol for XBTUSD").unwrap();
    // Typed text replaces the default (Enter alone keeps it).
    s.send("btcusdc\r").unwrap();
    s.expect("Source symbol to map").unwrap();
    s.send("\r").unwrap();
    s.expect("summary for beta:").unwrap();
    s.expect("XBTUSD → BTCUSDC (new)").unwrap();
    s.expect("Write").unwrap();
    s.send("\r").unwrap();
    s.expect("wrote").unwrap();
    s.expect(expectrl::Eof).unwrap();
    let t = std::fs::read_to_string(&path).unwrap();
    assert!(
        t.contains("XBTUSD = \"BTCUSDC\"") && !t.contains("ETH ="),
        "{t}"
    );
}
