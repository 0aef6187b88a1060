//! Set-up the configuration wizards' tests share: the configuration file they edit and the
//! binary run in a pseudo-terminal, as an operator runs it.
#![allow(dead_code)] // each test binary uses part of this

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use expectrl::session::OsSession;
use expectrl::{Expect, Session};

pub const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");
/// The down-arrow key, which moves a selection to the next choice.
pub const DOWN: &str = "\x1b[B";

/// A paper account, two demo sources (`alpha`, `beta`), BTCUSDT weighted 0.5 / 0.25 and beta's
/// `XBTUSD` mapped to it, under a comment the wizards must keep; data in `DATA`.
pub const TWO_SOURCES: &str = r#"# my notes
[engine]
data_dir = "DATA"

[[accounts]]
name = "paper"
venue = "paper"

[sources.alpha]
type = "demo"

[sources.beta]
type = "demo"

[[symbols]]
symbol = "BTCUSDT"
weights = { alpha = 0.5, beta = 0.25 }

[mapping.beta]
XBTUSD = "BTCUSDT"
"#;

/// Writes `text` (its `DATA` the data dir, `dir`) to `dir/tradeengine.toml`; returns the path.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("tradeengine.toml");
    std::fs::write(&path, text.replace("DATA", &dir.display().to_string())).unwrap();
    path
}

/// The binary with `--config path` and `args`, in a pseudo-terminal (30 s per expectation).
pub fn spawn(path: &Path, args: &[&str]) -> OsSession {
    let mut cmd = Command::new(BIN);
    cmd.arg("--config").arg(path).args(args);
    spawn_command(cmd)
}

/// `cmd` in a pseudo-terminal (30 s per expectation).
pub fn spawn_command(cmd: Command) -> OsSession {
    let mut s = Session::spawn(cmd).unwrap();
    s.set_expect_timeout(Some(Duration::from_secs(30)));
    s
}

/// Expects `needle`, keeping everything the terminal showed in `log` (shown when it fails).
pub fn expect_logged(s: &mut OsSession, log: &mut Vec<u8>, needle: &str) {
    let found = s
        .expect(needle)
        .unwrap_or_else(|e| panic!("{needle:?}: {e}; so far: {}", String::from_utf8_lossy(log)));
    log.extend_from_slice(found.before());
    for m in found.matches() {
        log.extend_from_slice(m);
    }
}

/// Expects the end of the output, keeping the rest of it in `log`.
pub fn expect_eof_logged(s: &mut OsSession, log: &mut Vec<u8>) {
    let found = s.expect(expectrl::Eof).unwrap();
    log.extend_from_slice(found.before());
    for m in found.matches() {
        log.extend_from_slice(m);
    }
}
