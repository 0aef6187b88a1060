#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! `tradeengine config check` refuses what `run` refuses at start, with the same reason: a
//! credentials variable not set, a KuCoin or MEXC account in testnet without `base_url`; with
//! `--online`, a symbol the venue does not list (asked on a simulator's public endpoints); and a
//! duplicate TOML key is named with its line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tradeengine_venue_sim::{SimOptions, SimVenue, serve};

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");

fn cli(config: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.arg("--config")
        .arg(config)
        .args(args)
        .env_remove("CHK_API_KEY")
        .env_remove("CHK_API_SECRET")
        .env_remove("CHK_API_PASSPHRASE")
        .env("TRADEENGINE_LOG", "warn")
        .stdin(Stdio::null());
    for (k, v) in vars {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn write(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("tradeengine.toml");
    std::fs::write(
        &path,
        format!(
            "[engine]\ndata_dir = \"{}\"\nbind = \"127.0.0.1:0\"\nhot_reload = false\n{body}\n[sources.ops]\ntype = \"rest\"\n[sources.ops.settings]\ntoken_env = \"CHK_REST_TOKEN\"\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    path
}

const TOKEN: (&str, &str) = ("CHK_REST_TOKEN", "fake-check-token");

#[test]
fn check_refuses_unset_credential_variables_as_run_does() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "mode = \"testnet\"\n[[accounts]]\nname = \"ku\"\nvenue = \"kucoin\"\nbase_url = \"http://127.0.0.1:9\"\ncredentials = \"env:CHK\"\n[[symbols]]\nsymbol = \"BTCUSDT\"\nweights = { ops = 1.0 }\n",
    );
    let check = cli(&config, &["config", "check"], &[]);
    assert_eq!(check.status.code(), Some(2), "{}", text(&check));
    // Every problem at once: the account's variable and the source's token.
    assert!(
        text(&check).contains("CHK_API_KEY is not set"),
        "{}",
        text(&check)
    );
    assert!(
        text(&check).contains("CHK_REST_TOKEN is not set"),
        "{}",
        text(&check)
    );
    assert!(text(&check).contains("2 problems"), "{}", text(&check));
    // `run` refuses the same way, for the same reason.
    let run = cli(&config, &["run"], &[TOKEN]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(
        text(&run).contains("CHK_API_KEY is not set"),
        "{}",
        text(&run)
    );
    // KuCoin signs with a passphrase: key and secret alone are not enough.
    let some = [
        TOKEN,
        ("CHK_API_KEY", "FAKE-K"),
        ("CHK_API_SECRET", "FAKE-S"),
    ];
    let check = cli(&config, &["config", "check"], &some);
    assert_eq!(check.status.code(), Some(2), "{}", text(&check));
    assert!(
        text(&check).contains("CHK_API_PASSPHRASE is not set"),
        "{}",
        text(&check)
    );
    let all = [
        TOKEN,
        ("CHK_API_KEY", "FAKE-K"),
        ("CHK_API_SECRET", "FAKE-S"),
        ("CHK_API_PASSPHRASE", "FAKE-P"),
    ];
    let check = cli(&config, &["config", "check"], &all);
    assert!(check.status.success(), "{}", text(&check));
}

#[test]
fn check_with_the_mode_run_gets_refuses_a_testnet_kucoin_or_mexc_without_base_url() {
    let dir = tempfile::tempdir().unwrap();
    for venue in ["kucoin", "mexc"] {
        let config = write(
            dir.path(),
            &format!(
                "mode = \"paper\"\n[[accounts]]\nname = \"x\"\nvenue = \"{venue}\"\ncredentials = \"env:CHK\"\n"
            ),
        );
        let vars = [
            TOKEN,
            ("CHK_API_KEY", "FAKE-K"),
            ("CHK_API_SECRET", "FAKE-S"),
            ("CHK_API_PASSPHRASE", "FAKE-P"),
        ];
        assert!(cli(&config, &["config", "check"], &vars).status.success());
        for args in [
            &["config", "check", "--mode", "testnet"][..],
            &["run", "--mode", "testnet"],
        ] {
            let out = cli(&config, args, &vars);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{venue} {args:?}: {}",
                text(&out)
            );
            assert!(
                text(&out).contains("no testnet network; set base_url"),
                "{venue} {args:?}: {}",
                text(&out)
            );
        }
    }
}

#[test]
fn live_mode_is_checked_as_run_starts_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "mode = \"live\"\n[[accounts]]\nname = \"by\"\nvenue = \"bybit\"\nbase_url = \"http://127.0.0.1:9\"\ncredentials = \"env:CHK\"\n",
    );
    let vars = [
        TOKEN,
        ("CHK_API_KEY", "FAKE-K"),
        ("CHK_API_SECRET", "FAKE-S"),
    ];
    let out = cli(&config, &["config", "check"], &vars);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--live"), "{}", text(&out));
    let out = cli(&config, &["config", "check", "--live"], &vars);
    assert!(out.status.success(), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_check_names_a_symbol_the_venue_does_not_list() {
    let sim = serve(
        SimVenue::Bybit,
        "127.0.0.1:0".parse().unwrap(),
        SimOptions::new(SimVenue::Bybit),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        &format!(
            "mode = \"testnet\"\n[[accounts]]\nname = \"by\"\nvenue = \"bybit\"\nbase_url = \"{}\"\ncredentials = \"env:CHK\"\n[[symbols]]\nsymbol = \"BTCUSDT\"\nweights = {{ ops = 0.5 }}\n[[symbols]]\nsymbol = \"NOSUCHUSDT\"\nweights = {{ ops = 0.5 }}\n",
            sim.base_url()
        ),
    );
    let vars = [
        TOKEN,
        ("CHK_API_KEY", "FAKE-K"),
        ("CHK_API_SECRET", "FAKE-S"),
    ];
    let config2 = config.clone();
    let offline = tokio::task::spawn_blocking(move || cli(&config2, &["config", "check"], &vars))
        .await
        .unwrap();
    assert!(offline.status.success(), "{}", text(&offline));
    let online =
        tokio::task::spawn_blocking(move || cli(&config, &["config", "check", "--online"], &vars))
            .await
            .unwrap();
    assert_eq!(online.status.code(), Some(2), "{}", text(&online));
    let shown = text(&online);
    assert!(
        shown.contains("NOSUCHUSDT is not listed on bybit"),
        "{shown}"
    );
    assert!(!shown.contains("BTCUSDT is not listed"), "{shown}");
}

#[test]
fn a_duplicate_key_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tradeengine.toml");
    std::fs::write(
        &config,
        "accounts = []\n[engine]\nhot_reload = false\n\n[[accounts]]\nname = \"p\"\nvenue = \"paper\"\n",
    )
    .unwrap();
    let out = cli(&config, &["config", "check"], &[TOKEN]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("`accounts`"), "names the key: {shown}");
    assert!(shown.contains("line 5"), "names the line: {shown}");
}
