#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The interactive forms of `config symbols` (no flags: the symbol, its name in each source,
//! leverage and weights asked in turn, as the seed's "add TAOUSDT" walk-through) and
//! `config accounts` (add, modify and remove from one menu), in a pseudo-terminal as an
//! operator runs them; comments survive the write.

mod common;

use common::{DOWN, TWO_SOURCES, spawn};
use expectrl::Expect;

const UP: &str = "\x1b[A";

#[test]
fn symbols_with_no_flags_walks_mapping_leverage_and_weights() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_config(dir.path(), TWO_SOURCES);
    let mut s = spawn(&path, &["config", "symbols"]);
    s.expect("Symbol to add or change").unwrap();
    s.send("taousdt\r").unwrap();
    s.expect("alpha's symbol for TAOUSDT (Enter: none)")
        .unwrap();
    s.send("TAOA\r").unwrap();
    s.expect("beta's symbol for TAOUSDT (Enter: none)").unwrap();
    s.send("TAOUSD\r").unwrap();
    s.expect("Enter leverage for TAOUSDT").unwrap();
    s.send("3\r").unwrap();
    s.expect("from alpha (remaining weight: 1.00)").unwrap();
    s.send("0.1\r").unwrap();
    s.expect("from beta (remaining weight: 0.90)").unwrap();
    s.send("0.15\r").unwrap();
    s.expect("summary for TAOUSDT (new):").unwrap();
    s.expect("alpha: TAOA → TAOUSDT").unwrap();
    s.expect("beta: TAOUSD → TAOUSDT").unwrap();
    s.expect("leverage 3").unwrap();
    s.expect("Write").unwrap();
    s.send("\r").unwrap();
    s.expect("wrote").unwrap();
    s.expect(expectrl::Eof).unwrap();
    let t = std::fs::read_to_string(&path).unwrap();
    assert!(t.starts_with("# my notes"), "{t}");
    assert!(
        t.contains("symbol = \"TAOUSDT\"\nleverage = 3\nweights = { alpha = 0.1, beta = 0.15 }"),
        "{t}"
    );
    assert!(t.contains("TAOA = \"TAOUSDT\""), "{t}");
    assert!(
        t.contains("XBTUSD = \"BTCUSDT\"") && t.contains("TAOUSD = \"TAOUSDT\""),
        "beta keeps its mapping and gains one: {t}"
    );
    let config = tradeengine_engine::config::load_file(
        &path,
        &[],
        &tradeengine_engine::config::Overrides::default(),
    )
    .unwrap();
    assert_eq!(config.mapping["alpha"]["TAOA"], "TAOUSDT");
}

// One session: the menu comes back after each change, so the steps build on each other.
#[test]
fn accounts_at_a_terminal_add_modify_and_remove_from_one_menu() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_config(dir.path(), TWO_SOURCES);
    let mut s = spawn(&path, &["config", "accounts"]);

    // Add: paper (paper) → add a new account.
    s.expect("Accounts:").unwrap();
    s.send(DOWN).unwrap();
    s.send("\r").unwrap();
    s.expect("Account name").unwrap();
    s.send("wiz\r").unwrap();
    s.expect("Venue:").unwrap();
    s.send("\r").unwrap(); // bybit, the first
    s.expect("Mode:").unwrap();
    for _ in 0..3 {
        s.send(DOWN).unwrap(); // default → paper → dry-run → testnet
    }
    s.send("\r").unwrap();
    s.expect("Where are its API keys kept?").unwrap();
    s.send(DOWN).unwrap(); // environment variables
    s.send("\r").unwrap();
    s.expect("Variable prefix").unwrap();
    s.send("WIZ\r").unwrap();
    s.expect("REST base URL").unwrap();
    s.send("http://127.0.0.1:9\r").unwrap();
    s.expect("State:").unwrap();
    s.send("\r").unwrap(); // enabled
    s.expect("summary: new account wiz").unwrap();

    // Modify: paper (paper) → wiz (bybit) → modify.
    s.expect("Accounts:").unwrap();
    s.send(DOWN).unwrap();
    s.send("\r").unwrap();
    s.expect("wiz:").unwrap();
    s.send(DOWN).unwrap();
    s.send("\r").unwrap();
    s.expect("Mode:").unwrap();
    s.send(UP).unwrap(); // from its testnet to dry-run
    s.send("\r").unwrap();
    s.expect("Where are its API keys kept?").unwrap();
    s.send("\r").unwrap(); // the encrypted file
    s.expect("Encrypted credentials file:").unwrap();
    s.send("\r").unwrap(); // credentials.age
    s.expect("config credentials --account wiz").unwrap();
    s.expect("REST base URL").unwrap();
    s.send("\r").unwrap(); // keeps http://127.0.0.1:9
    s.expect("State:").unwrap();
    s.send(DOWN).unwrap(); // close_only
    s.send("\r").unwrap();
    s.expect("summary: changed account wiz").unwrap();

    // Remove the paper account: paper (paper) → remove.
    s.expect("Accounts:").unwrap();
    s.send("\r").unwrap();
    s.expect("paper:").unwrap();
    s.send(DOWN).unwrap();
    s.send(DOWN).unwrap();
    s.send("\r").unwrap();
    s.expect("removed paper").unwrap();

    // Done: wiz (bybit) → add → done.
    s.expect("Accounts:").unwrap();
    s.send(DOWN).unwrap();
    s.send(DOWN).unwrap();
    s.send("\r").unwrap();
    s.expect("Write").unwrap();
    s.send("\r").unwrap();
    s.expect("wrote").unwrap();
    s.expect(expectrl::Eof).unwrap();

    let t = std::fs::read_to_string(&path).unwrap();
    assert!(t.starts_with("# my notes"), "{t}");
    assert!(!t.contains("name = \"paper\""), "{t}");
    let config = tradeengine_engine::config::load_file(
        &path,
        &[],
        &tradeengine_engine::config::Overrides::default(),
    )
    .unwrap();
    assert_eq!(config.accounts.len(), 1, "{t}");
    let wiz = config.account("wiz").unwrap();
    assert_eq!(wiz.venue.as_str(), "bybit");
    assert_eq!(wiz.mode.map(|m| m.as_str()), Some("dry-run"), "{t}");
    // Written as typed; the loader resolves it beside the file.
    assert!(t.contains("credentials = \"file:credentials.age\""), "{t}");
    assert!(
        wiz.credentials
            .as_deref()
            .is_some_and(|c| c.starts_with("file:") && c.ends_with("/credentials.age")),
        "{t}"
    );
    assert_eq!(wiz.base_url.as_deref(), Some("http://127.0.0.1:9"), "{t}");
    assert!(t.contains("state = \"close_only\""), "{t}");
}
