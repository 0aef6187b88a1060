//! Bounded fuzz smoke for the engine's own parsers of outside input (what CI runs; `fuzz/`
//! holds the cargo-fuzz targets for nightly): configuration text, `TRADEENGINE_…` environment
//! overrides and the encrypted credentials file. Nothing may panic; every refusal names what
//! was wrong (a configuration error names its key or says where the syntax broke).
#![allow(clippy::unwrap_used)]

use std::path::Path;

use proptest::prelude::*;
use secrecy::SecretString;
use tradeengine_engine::config::{Overrides, demo::DEMO_TOML, load_str};
use tradeengine_engine::credentials::CredentialsFile;

/// Config-shaped lines: real section and key names with random values.
fn config_line() -> impl Strategy<Value = String> {
    let sections = prop::sample::select(vec![
        "[engine]",
        "[[accounts]]",
        "[accounts.paper]",
        "[risk]",
        "[api]",
        "[sources.x]",
        "[sources.x.settings]",
        "[[symbols]]",
        "[mapping.x]",
    ]);
    let keys = prop::sample::select(vec![
        "mode",
        "bind",
        "data_dir",
        "database_url",
        "name",
        "venue",
        "credentials",
        "base_url",
        "ws_url",
        "leverage",
        "weights",
        "symbol",
        "type",
        "max_depth",
        "max_leverage",
        "max_gross_exposure",
        "starting_balance",
        "read_token_env",
        "secret_env",
        "ttl_secs",
        "drift_check_interval_secs",
        "state",
        "min_order_notional",
        "hot_reload",
    ]);
    let values = prop_oneof![
        Just("\"paper\"".to_string()),
        Just("\"bybit\"".to_string()),
        Just("\"env:X\"".to_string()),
        Just("\"file:/nonexistent\"".to_string()),
        Just("\"127.0.0.1:0\"".to_string()),
        Just("{ x = 1.0 }".to_string()),
        Just("[1, \"a\"]".to_string()),
        Just("1e400".to_string()),
        Just("-1".to_string()),
        Just("true".to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        "[ -~]{0,16}",
    ];
    prop_oneof![
        sections.prop_map(str::to_string),
        (keys, values).prop_map(|(k, v)| format!("{k} = {v}")),
        "[ -~]{0,30}",
    ]
}

fn load(text: &str, env: &[(String, String)]) {
    if let Err(e) = load_str(text, None, env, &Overrides::default()) {
        assert!(!e.reason.trim().is_empty(), "{e:?}");
        assert!(
            !e.key.is_empty() || e.reason.contains("syntax") || e.reason.contains("TOML"),
            "an error names its key or the syntax: {e:?}"
        );
    }
}

proptest! {
    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        load(&text, &[]);
    }

    #[test]
    fn config_shaped_text_never_panics(lines in prop::collection::vec(config_line(), 0..24)) {
        load(&lines.join("\n"), &[]);
    }

    #[test]
    fn mutated_demo_never_panics(cut in 0usize..4000, insert in "[ -~\\n]{0,12}") {
        let mut text = DEMO_TOML.to_string();
        let at = (0..=cut.min(text.len())).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        text.insert_str(at, &insert);
        load(&text, &[]);
    }

    #[test]
    fn environment_overrides_never_panic(
        path in "[A-Z_]{1,12}(__[A-Z0-9_]{1,12}){0,3}",
        value in "[ -~]{0,16}",
    ) {
        load(DEMO_TOML, &[(format!("TRADEENGINE_{path}"), value)]);
    }

    #[test]
    fn random_credentials_files_are_refused_cleanly(
        body in prop::collection::vec(any::<u8>(), 0..300),
        header in any::<bool>(),
    ) {
        let mut bytes = if header { b"age-encryption.org/v1\n-> scrypt ".to_vec() } else { Vec::new() };
        bytes.extend(body);
        let e = CredentialsFile::decrypt(Path::new("fuzz.age"), &bytes, &SecretString::from("pw"))
            .err()
            .map(|e| e.to_string());
        prop_assert!(e.is_some_and(|m| m.contains("fuzz.age")));
    }
}
