#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! `tradeengine credentials set|list|remove`: keys go into an encrypted 0600 file, output names
//! accounts only, and a wrong or missing passphrase is a clear error that changes nothing.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");
const PASS: &str = "FAKE-FILE-PASSPHRASE-0001";
const SECRETS: &[&str] = &[
    "FAKEKEY-CLI-0001",
    "FAKESECRET-CLI-0001",
    "FAKEPASS-CLI-0001",
    "FAKEKEY-CLI-0002",
    "FAKESECRET-CLI-0002",
    PASS,
];

fn cli(file: &Path, pass: Option<&str>, args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("credentials").args(args);
    if matches!(args.first(), Some(&"set" | &"remove")) {
        // A cheap scrypt cost: the test checks behaviour, not key stretching.
        cmd.args(["--work-factor", "10"]);
    }
    cmd.arg("--file")
        .arg(file)
        .env_remove("TRADEENGINE_CREDENTIALS_PASSPHRASE")
        .env_remove("TRADEENGINE_CREDENTIALS_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(p) = pass {
        cmd.env("TRADEENGINE_CREDENTIALS_PASSPHRASE", p);
    }
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for s in SECRETS {
        assert!(!all.contains(s), "output shows {s}: {all}");
    }
    out
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
fn set_list_remove_round_trip_without_echoing_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("creds.age");

    let o = cli(
        &file,
        Some(PASS),
        &["set", "--account", "kucoin-main"],
        "FAKEKEY-CLI-0001\nFAKESECRET-CLI-0001\nFAKEPASS-CLI-0001\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("kucoin-main"), "{}", text(&o));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let raw = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).to_string();
    for s in SECRETS {
        assert!(!raw.contains(s), "{s} is in clear on disk");
    }

    let o = Command::new(BIN)
        .args([
            "credentials",
            "set",
            "--account",
            "bybit-main",
            "--from-env",
            "TE_CLI",
            "--work-factor",
            "10",
        ])
        .arg("--file")
        .arg(&file)
        .env("TRADEENGINE_CREDENTIALS_PASSPHRASE", PASS)
        .env("TE_CLI_API_KEY", "FAKEKEY-CLI-0002")
        .env("TE_CLI_API_SECRET", "FAKESECRET-CLI-0002")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    for s in SECRETS {
        assert!(!text(&o).contains(s), "{}", text(&o));
    }

    let o = cli(&file, Some(PASS), &["list"], "");
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "bybit-main\nkucoin-main\n"
    );

    // The engine's resolver reads what the CLI wrote.
    let passphrase = secrecy::SecretString::from(PASS);
    let f = tradeengine_engine::credentials::CredentialsFile::open(&file, &passphrase).unwrap();
    let k = f.get("kucoin-main").unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(k.api_secret.expose_secret(), "FAKESECRET-CLI-0001");
    assert_eq!(k.passphrase.unwrap().expose_secret(), "FAKEPASS-CLI-0001");

    let o = cli(
        &file,
        Some(PASS),
        &["remove", "--account", "kucoin-main"],
        "",
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = cli(&file, Some(PASS), &["list"], "");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "bybit-main\n");
    let o = cli(
        &file,
        Some(PASS),
        &["remove", "--account", "kucoin-main"],
        "",
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("no entry for account kucoin-main"),
        "{}",
        text(&o)
    );
}

#[test]
fn wrong_or_missing_passphrase_and_empty_keys_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("creds.age");
    let o = cli(
        &file,
        Some(PASS),
        &["set", "--account", "a"],
        "FAKEKEY-CLI-0001\nFAKESECRET-CLI-0001\n\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    let before = std::fs::read(&file).unwrap();

    let o = cli(
        &file,
        Some("not-the-passphrase"),
        &["set", "--account", "b"],
        "FAKEKEY-CLI-0002\nFAKESECRET-CLI-0002\n\n",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("wrong passphrase"), "{}", text(&o));

    let o = cli(&file, None, &["list"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("TRADEENGINE_CREDENTIALS_PASSPHRASE"),
        "{}",
        text(&o)
    );

    let o = cli(&file, Some(PASS), &["set", "--account", "c"], "\n\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("must not be empty"), "{}", text(&o));

    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the file was changed"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "a temporary file was left behind");
}
