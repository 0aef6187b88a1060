use secrecy::{ExposeSecret, SecretString};

use super::*;

/// A small scrypt work factor: the tests check behaviour, not key-stretching strength.
const FAST: Option<u8> = Some(4);

fn pass(s: &str) -> SecretString {
    SecretString::from(s)
}

fn keys(key: &str, secret: &str, passphrase: Option<&str>) -> ResolvedCredentials {
    ResolvedCredentials {
        api_key: SecretString::from(key),
        api_secret: SecretString::from(secret),
        passphrase: passphrase.map(SecretString::from),
    }
}

#[test]
fn round_trips_and_is_encrypted_at_rest_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("creds.age");
    let mut f = CredentialsFile::new();
    assert!(!f.set(
        "bybit-main",
        keys("FAKE-FILE-KEY-1", "FAKE-FILE-SECRET-1", None)
    ));
    f.set(
        "kucoin-main",
        keys(
            "FAKE-FILE-KEY-2",
            "FAKE-FILE-SECRET-2",
            Some("FAKE-FILE-PASS-2"),
        ),
    );
    f.save(&path, &pass("correct horse"), FAST).unwrap();

    let raw = std::fs::read(&path).unwrap();
    let raw_text = String::from_utf8_lossy(&raw);
    assert!(raw_text.starts_with("age-encryption.org/v1"), "{raw_text}");
    for needle in [
        "FAKE-FILE-KEY",
        "FAKE-FILE-SECRET",
        "FAKE-FILE-PASS",
        "bybit-main",
    ] {
        assert!(!raw_text.contains(needle), "{needle} is in clear on disk");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    let back = CredentialsFile::open(&path, &pass("correct horse")).unwrap();
    assert_eq!(back.accounts(), vec!["bybit-main", "kucoin-main"]);
    let k = back.get("kucoin-main").unwrap();
    assert_eq!(k.api_key.expose_secret(), "FAKE-FILE-KEY-2");
    assert_eq!(k.api_secret.expose_secret(), "FAKE-FILE-SECRET-2");
    assert_eq!(
        k.passphrase.as_ref().map(|p| p.expose_secret().to_string()),
        Some("FAKE-FILE-PASS-2".to_string())
    );
    assert!(back.get("bybit-main").unwrap().passphrase.is_none());
    let shown = format!("{back:?}");
    assert!(!shown.contains("FAKE-FILE"), "{shown}");
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn replacing_an_existing_file_keeps_mode_0600_and_removes_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("creds.age");
    std::fs::write(&path, b"old").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let mut f = CredentialsFile::new();
    f.set("a", keys("FAKE-K-A", "FAKE-S-A", None));
    f.set("b", keys("FAKE-K-B", "FAKE-S-B", None));
    assert!(f.remove("a"));
    assert!(!f.remove("a"));
    f.save(&path, &pass("pw"), FAST).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let back = CredentialsFile::open(&path, &pass("pw")).unwrap();
    assert_eq!(back.accounts(), vec!["b"]);
}

#[test]
fn wrong_passphrase_is_a_clear_error_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("creds.age");
    let mut f = CredentialsFile::new();
    f.set("a", keys("FAKE-K-W", "FAKE-S-W", None));
    f.save(&path, &pass("right-pass"), FAST).unwrap();
    let e = CredentialsFile::open(&path, &pass("wrong-pass")).unwrap_err();
    assert!(matches!(e, FileError::Decrypt(_)), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("wrong passphrase"), "{msg}");
    for needle in ["right-pass", "wrong-pass", "FAKE-K-W", "FAKE-S-W"] {
        assert!(!msg.contains(needle), "{msg}");
    }
}

#[test]
fn an_empty_passphrase_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("creds.age");
    let e = CredentialsFile::new()
        .save(&path, &pass(""), FAST)
        .unwrap_err();
    assert_eq!(e, FileError::EmptyPassphrase);
    assert!(!path.exists());
}

#[test]
fn garbage_and_missing_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.age");
    let e = CredentialsFile::open(&path, &pass("x")).unwrap_err();
    assert!(matches!(e, FileError::Io { .. }), "{e:?}");
    assert_eq!(
        CredentialsFile::open_or_new(&path, &pass("x"))
            .unwrap()
            .accounts()
            .len(),
        0
    );
    for bytes in [
        &b""[..],
        b"age-encryption.org/v1\n",
        b"age-encryption.org/v1\n-> scrypt AAAA 99\n",
        b"\xff\xfe\x00garbage",
    ] {
        let e = CredentialsFile::decrypt(&path, bytes, &pass("x")).unwrap_err();
        assert!(matches!(e, FileError::Decrypt(_)), "{e:?}");
    }
}

#[test]
fn malformed_contents_do_not_quote_the_offending_line() {
    // Encrypt TOML that is broken on the line holding the secret.
    let recipient = {
        let mut r = age::scrypt::Recipient::new(pass("pw"));
        r.set_work_factor(4);
        r
    };
    let path = Path::new("mem.age");
    for plain in [
        "[accounts.a]\napi_key = \"FAKE-LEAK-KEY\"\napi_secret = FAKE-LEAK-SECRET\n",
        "[accounts.a]\napi_key = \"FAKE-LEAK-KEY\"\n",
        "accounts = \"FAKE-LEAK-KEY\"\n",
        "[accounts]\na = \"FAKE-LEAK-KEY\"\n",
    ] {
        let c = age::encrypt(&recipient, plain.as_bytes()).unwrap();
        let e = CredentialsFile::decrypt(path, &c, &pass("pw")).unwrap_err();
        assert!(matches!(e, FileError::Malformed { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(!msg.contains("FAKE-LEAK"), "{msg}");
    }
}
