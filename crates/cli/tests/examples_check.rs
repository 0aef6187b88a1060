#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Every configuration in `examples/` passes `config check` when run from another folder, with
//! the secrets it names set (fake): an example whose relative path only worked from one folder
//! (`csv:examples/data/…`, resolved from the file's own folder) failed as the README ran it.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");

/// The variables the examples name for their secrets, with obviously fake values.
const FAKE_SECRETS: [(&str, &str); 7] = [
    ("TRADEENGINE_TV_SECRET", "tv-secret-not-real-0001"),
    ("TRADEENGINE_REST_TOKEN", "rest-token-not-real-0001"),
    ("RABBITMQ_PASSWORD", "guest-not-real"),
    ("SN8_API_KEY", "sn8-key-not-real-0001"),
    ("TV_SECRET", "tv-secret-not-real-0002"),
    // Hyperliquid: an address and a private key, both obviously fake.
    (
        "HL_TESTNET_API_KEY",
        "0x00000000000000000000000000000000000000aa",
    ),
    (
        "HL_TESTNET_API_SECRET",
        "0x0000000000000000000000000000000000000000000000000000000000000a11",
    ),
];

#[test]
fn every_example_passes_config_check_from_another_folder() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let elsewhere = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let out = Command::new(BIN)
            .args(["--config", path.to_str().unwrap(), "config", "check"])
            .current_dir(elsewhere.path())
            .envs(FAKE_SECRETS)
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{}: {said}", path.display());
        assert!(said.contains(": ok ("), "{}: {said}", path.display());
        checked += 1;
    }
    assert!(
        checked >= 7,
        "only {checked} examples found in {}",
        examples.display()
    );
    assert_eq!(
        std::fs::read_dir(elsewhere.path()).unwrap().count(),
        0,
        "config check wrote into the folder it ran from"
    );
}
