#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! How the engine gets and vets an exchange account's keys: from an `age`-encrypted
//! credentials file (`credentials = "file:PATH"`), and refusing at start a key that can
//! withdraw, on both venues that report it.

use std::collections::BTreeMap;
use std::sync::Arc;

use secrecy::SecretString;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::credentials::{CredentialsFile, PASSPHRASE_VAR, ResolvedCredentials};
use tradeengine_engine::{RunningEngine, StartError, StartOptions};
use tradeengine_model::SystemClock;
use tradeengine_venue_sim::{SimOptions, VenueId, serve};

fn config(venue: &str, base_url: &str, dir: &std::path::Path, credentials: &str) -> String {
    format!(
        r#"
[engine]
mode = "testnet"
data_dir = "{dir}"
hot_reload = false
[[accounts]]
name = "sim"
venue = "{venue}"
base_url = "{base_url}"
ws_url = "off"
credentials = "{credentials}"
[sources.ops]
type = "rest"
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = {{ ops = 1.0 }}
"#,
        dir = dir.display()
    )
}

fn options(env: &[(&str, &str)]) -> StartOptions {
    StartOptions {
        clock: Arc::new(SystemClock),
        live_confirmed: false,
        config_path: None,
        env_overrides: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_with_withdrawal_permission_stops_the_start() {
    for venue in [VenueId::Bybit, VenueId::Binance] {
        let mut sim_options = SimOptions::new(venue);
        sim_options.withdrawals_enabled = true;
        let (key, secret) = (sim_options.api_key.clone(), sim_options.api_secret.clone());
        let sim = serve(venue, "127.0.0.1:0".parse().unwrap(), sim_options)
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
        let text = config(venue.as_str(), &sim.base_url(), dir.path(), "env:TE_SIM");
        let cfg = load_str(&text, None, &[], &Overrides::default()).unwrap();
        let env = [
            ("TE_SIM_API_KEY", key.as_str()),
            ("TE_SIM_API_SECRET", secret.as_str()),
        ];
        let e = RunningEngine::start(cfg, store, options(&env)).await.err();
        match e {
            Some(StartError::Account { account, reason }) => {
                assert_eq!(account, "sim");
                assert!(reason.contains("withdrawal permission"), "{reason}");
            }
            other => panic!("{venue:?}: expected an account error, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_come_from_the_encrypted_credentials_file() {
    let venue = VenueId::Bybit;
    let sim_options = SimOptions::new(venue);
    let keys = ResolvedCredentials {
        api_key: SecretString::from(sim_options.api_key.as_str()),
        api_secret: SecretString::from(sim_options.api_secret.as_str()),
        passphrase: None,
    };
    let sim = serve(venue, "127.0.0.1:0".parse().unwrap(), sim_options)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys.age");
    let mut creds = CredentialsFile::new();
    creds.set("sim", keys);
    creds
        .save(&file, &SecretString::from("test-passphrase"), Some(4))
        .unwrap();
    let reference = format!("file:{}", file.display());
    let text = config(venue.as_str(), &sim.base_url(), dir.path(), &reference);

    // Without the passphrase the account cannot start, and says how to give it.
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let cfg = load_str(&text, None, &[], &Overrides::default()).unwrap();
    let e = RunningEngine::start(cfg, store.clone(), options(&[]))
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains(PASSPHRASE_VAR), "{e}");

    // A wrong passphrase is refused without echoing it.
    let cfg = load_str(&text, None, &[], &Overrides::default()).unwrap();
    let e = RunningEngine::start(cfg, store.clone(), options(&[(PASSPHRASE_VAR, "not-it")]))
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("cannot decrypt") && !e.contains("not-it"), "{e}");

    // With it, the simulator accepts the signed requests: the keys came from the file.
    let cfg = load_str(&text, None, &[], &Overrides::default()).unwrap();
    let engine = RunningEngine::start(cfg, store, options(&[(PASSPHRASE_VAR, "test-passphrase")]))
        .await
        .unwrap();
    assert!(sim.counters().get("GET", "/v5/user/query-api") >= 1);
    engine.shutdown().await;
}

#[test]
fn start_options_debug_shows_override_names_not_values() {
    let o = options(&[
        (PASSPHRASE_VAR, "FAKE-DEBUG-PASSPHRASE"),
        ("TE_SIM_API_SECRET", "FAKE-DEBUG-SECRET"),
    ]);
    let shown = format!("{o:?}");
    assert!(shown.contains(PASSPHRASE_VAR), "{shown}");
    assert!(
        !shown.contains("FAKE-DEBUG-PASSPHRASE") && !shown.contains("FAKE-DEBUG-SECRET"),
        "{shown}"
    );
}
