#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! `tradeengine config credentials` driven through a pseudo-terminal as an operator would: keep /
//! modify / start fresh per account, Enter keeps the stored keys, a summary before the write.
//! Secrets typed at the prompts never appear in the terminal output, the TOML or the
//! encrypted file's bytes; they decrypt back exactly. The flag forms make the same changes
//! without prompts.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{BIN, DOWN, expect_eof_logged, expect_logged};
use expectrl::Expect;
use expectrl::session::OsSession;
use secrecy::{ExposeSecret, SecretString};
use tradeengine_engine::credentials::CredentialsFile;

const UP: &str = "\x1b[A";
const FILE_PASSPHRASE: &str = "FAKE-file-passphrase-for-tests";

fn config(dir: &Path) -> PathBuf {
    let path = dir.join("tradeengine.toml");
    std::fs::write(
        &path,
        format!(
            r#"# my notes
[engine]
data_dir = "{}"

[[accounts]]
name = "paper"
venue = "paper"

[[accounts]]
name = "bybit-main"
venue = "bybit"
mode = "testnet"
credentials = "env:BYBIT_MAIN" # was in the environment

[[accounts]]
name = "kucoin-main"
venue = "kucoin"
mode = "dry-run"
# KuCoin Futures has no test network: a dry-run account names its host.
base_url = "http://127.0.0.1:9"

[sources.alpha]
type = "demo"

[[symbols]]
symbol = "BTCUSDT"
weights = {{ alpha = 0.5 }}
"#,
            dir.join("data").display()
        ),
    )
    .unwrap();
    path
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--config")
        .arg(dir.join("tradeengine.toml"))
        .args(args)
        .current_dir(dir)
        .env("TRADEENGINE_CREDENTIALS_PASSPHRASE", FILE_PASSPHRASE)
        .env_remove("BYBIT_MAIN_API_KEY");
    cmd
}

fn spawn(dir: &Path, args: &[&str]) -> OsSession {
    common::spawn_command(command(dir, args))
}

fn keys(dir: &Path, account: &str) -> (String, String, Option<String>) {
    let file = CredentialsFile::open(
        &dir.join("credentials.age"),
        &SecretString::from(FILE_PASSPHRASE.to_string()),
    )
    .unwrap();
    let k = file.get(account).unwrap();
    (
        k.api_key.expose_secret().to_string(),
        k.api_secret.expose_secret().to_string(),
        k.passphrase.map(|p| p.expose_secret().to_string()),
    )
}

// One scenario whose steps build on each other's state, so it stays one sequence.
#[test]
fn secrets_typed_at_the_prompts_go_only_into_the_encrypted_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let secrets = [
        "FAKE-KEY-bybit-1111",
        "FAKE-SECRET-bybit-2222",
        "FAKE-KEY-kucoin-3333",
        "FAKE-SECRET-kucoin-4444",
        "FAKE-PASS-kucoin-5555",
    ];
    let mut s = spawn(
        dir.path(),
        &["config", "credentials", "--work-factor", "10"],
    );
    let mut log = Vec::new();
    expect_logged(&mut s, &mut log, "paper: paper venue, no keys needed");
    expect_logged(&mut s, &mut log, "bybit-main (bybit): env:BYBIT_MAIN");
    // keep → modify
    s.send(DOWN).unwrap();
    s.send("\r").unwrap();
    expect_logged(&mut s, &mut log, "Where are bybit-main's keys kept?");
    // The cursor starts on the current kind (environment); up to the encrypted file.
    s.send(UP).unwrap();
    s.send("\r").unwrap();
    expect_logged(&mut s, &mut log, "Credentials file:");
    s.send("\r").unwrap();
    expect_logged(&mut s, &mut log, "API key for bybit-main:");
    s.send(format!("{}\r", secrets[0])).unwrap();
    expect_logged(&mut s, &mut log, "API secret for bybit-main:");
    s.send(format!("{}\r", secrets[1])).unwrap();
    expect_logged(&mut s, &mut log, "kucoin-main (kucoin): no credentials");
    // → start fresh
    s.send(DOWN).unwrap();
    s.send(DOWN).unwrap();
    s.send("\r").unwrap();
    expect_logged(&mut s, &mut log, "Where are kucoin-main's keys kept?");
    s.send("\r").unwrap();
    expect_logged(&mut s, &mut log, "Credentials file:");
    s.send("\r").unwrap();
    expect_logged(&mut s, &mut log, "API key for kucoin-main:");
    s.send(format!("{}\r", secrets[2])).unwrap();
    expect_logged(&mut s, &mut log, "API secret for kucoin-main:");
    s.send(format!("{}\r", secrets[3])).unwrap();
    // KuCoin signs a passphrase: asked for here, not for Bybit.
    expect_logged(&mut s, &mut log, "API passphrase for kucoin-main:");
    s.send(format!("{}\r", secrets[4])).unwrap();
    expect_logged(&mut s, &mut log, "summary:");
    expect_logged(&mut s, &mut log, "bybit-main: file:credentials.age");
    expect_logged(&mut s, &mut log, "kucoin-main: file:credentials.age");
    expect_logged(&mut s, &mut log, "Write");
    s.send("\r").unwrap();
    expect_logged(&mut s, &mut log, "wrote credentials.age (encrypted");
    expect_logged(&mut s, &mut log, "wrote");
    expect_eof_logged(&mut s, &mut log);

    let shown = String::from_utf8_lossy(&log);
    let toml = std::fs::read_to_string(&path).unwrap();
    let sealed = std::fs::read(dir.path().join("credentials.age")).unwrap();
    for secret in secrets {
        assert!(!shown.contains(secret), "{secret} shown: {shown}");
        assert!(!toml.contains(secret), "{secret} in the TOML");
        assert!(
            !sealed.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} in clear in the encrypted file"
        );
    }
    assert!(toml.starts_with("# my notes"), "{toml}");
    assert_eq!(
        toml.matches("credentials = \"file:credentials.age\"")
            .count(),
        2,
        "{toml}"
    );
    assert!(!toml.contains("env:BYBIT_MAIN"), "{toml}");
    assert_eq!(
        keys(dir.path(), "bybit-main"),
        (secrets[0].into(), secrets[1].into(), None)
    );
    assert_eq!(
        keys(dir.path(), "kucoin-main"),
        (
            secrets[2].into(),
            secrets[3].into(),
            Some(secrets[4].into())
        )
    );
}

// One scenario whose steps build on each other's state, so it stays one sequence.
#[test]
fn enter_keeps_the_stored_keys_and_keep_leaves_an_account_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    // Stored first with flags (keys on standard input, never on the command line).
    let mut child = command(
        dir.path(),
        &[
            "config",
            "credentials",
            "--account",
            "bybit-main",
            "--file",
            "credentials.age",
            "--keys-stdin",
            "--work-factor",
            "10",
        ],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"FAKE-KEY-first\nFAKE-SECRET-first\n\n")
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("FAKE-SECRET-first"));

    let mut s = spawn(
        dir.path(),
        &["config", "credentials", "--work-factor", "10"],
    );
    let mut log = Vec::new();
    expect_logged(&mut s, &mut log, "bybit-main (bybit): file:credentials.age");
    s.send(DOWN).unwrap();
    s.send("\r").unwrap();
    expect_logged(&mut s, &mut log, "Where are bybit-main's keys kept?");
    // The cursor starts on the encrypted file now.
    s.send("\r").unwrap();
    expect_logged(&mut s, &mut log, "Credentials file:");
    s.send("\r").unwrap();
    expect_logged(
        &mut s,
        &mut log,
        "API key for bybit-main (Enter keeps the stored one)",
    );
    s.send("\r").unwrap();
    expect_logged(
        &mut s,
        &mut log,
        "API secret for bybit-main (Enter keeps the stored one)",
    );
    s.send("FAKE-SECRET-second\r").unwrap();
    expect_logged(&mut s, &mut log, "kucoin-main (kucoin): no credentials");
    s.send("\r").unwrap(); // keep
    expect_logged(&mut s, &mut log, "summary:");
    expect_logged(&mut s, &mut log, "secret new; API key kept");
    expect_logged(&mut s, &mut log, "kucoin-main: kept no credentials");
    expect_logged(&mut s, &mut log, "Write");
    s.send("\r").unwrap();
    expect_eof_logged(&mut s, &mut log);
    let shown = String::from_utf8_lossy(&log);
    assert!(!shown.contains("FAKE-SECRET-second"), "{shown}");
    assert_eq!(
        keys(dir.path(), "bybit-main"),
        ("FAKE-KEY-first".into(), "FAKE-SECRET-second".into(), None)
    );
    let toml = std::fs::read_to_string(&path).unwrap();
    assert!(!toml.contains("FAKE-"), "{toml}");
    assert_eq!(
        toml.matches("credentials = ").count(),
        1,
        "kucoin kept none: {toml}"
    );
}

#[test]
fn flags_set_an_env_reference_and_refuse_what_looks_like_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let run = |args: &[&str]| command(dir.path(), args).output().unwrap();
    let out = run(&[
        "config",
        "credentials",
        "--account",
        "kucoin-main",
        "--env",
        "KUCOIN_MAIN",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("KUCOIN_MAIN_API_PASSPHRASE missing"),
        "names the variables it reads: {stdout}"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("credentials = \"env:KUCOIN_MAIN\""), "{text}");
    assert!(text.starts_with("# my notes"));

    // A key pasted where the prefix goes: refused, not echoed, file untouched.
    let before = std::fs::read_to_string(&path).unwrap();
    let pasted = "FAKEpastedKey0123456789abcdef";
    let out = run(&[
        "config",
        "credentials",
        "--account",
        "bybit-main",
        "--env",
        pasted,
    ]);
    assert!(!out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(pasted), "{all}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);

    // A file with no keys for the account, and none given: refused.
    let out = run(&[
        "config",
        "credentials",
        "--account",
        "bybit-main",
        "--file",
        "credentials.age",
        "--work-factor",
        "10",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--keys-stdin"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);

    // No flags and no terminal: an error naming the flags, not a hang.
    let out = run(&["config", "credentials"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--file"));
}
