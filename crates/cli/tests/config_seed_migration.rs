#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Migrating an installation of the old Python engine, end to end, as an operator would: its
//! four JSON files in a folder → `tradeengine config import` → set the variables it names →
//! `config check` exits 0 → point the imported Bybit account at a simulator with
//! `config accounts` → `config check` again → `run` starts and trades on the simulator.
//! No TOML is edited by hand.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use tradeengine_venue_sim::{SimOptions, SimVenue, serve};

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");
const KEY: &str = "FAKE-MIGRATION-BYBIT-KEY";
const SECRET: &str = "FAKE-MIGRATION-BYBIT-SECRET";
const SN8_KEY: &str = "FAKE-MIGRATION-SN8-KEY";
const FILE_PASS: &str = "fake migration passphrase";
const TV_SECRET: &str = "fake-migration-tv-secret";
const READ_TOKEN: &str = "fake-migration-read-token";

fn seed_files(dir: &Path) {
    let files = [
        (
            "asset_mapping_config.json",
            r#"{"tradingview": {"BTCUSDT": "BTCUSDT", "ETHUSDT": "ETHUSDT"},
                "bittensor": {"BTCUSD": "BTCUSDT", "ETHUSD": "ETHUSDT"}}"#,
        ),
        (
            "signal_weight_config.json",
            r#"[{"symbol": "BTCUSDT", "leverage": 3,
                 "sources": [{"source": "tradingview", "weight": 0.5}, {"source": "bittensor", "weight": 0.15}]},
                {"symbol": "ETHUSDT", "leverage": 2, "sources": [{"source": "bittensor", "weight": 0.5}]}]"#,
        ),
        (
            "bittensor_processor_config.json",
            r#"{"min_trades": 10, "max_drawdown_threshold": -0.5, "min_profitable_rate": 0.6,
                "min_total_return": 0.0, "drawdown_exponent": 6, "sharpe_exponent": 2,
                "profitable_rate_exponent": 5, "position_count_divisor": 5, "min_trades_per_asset": 0,
                "max_trade_age_days": 14, "leverage_limit_crypto": 0.5}"#,
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let credentials = format!(
        r#"{{
  "bittensor_sn8": {{"api_key": "{SN8_KEY}", "endpoint": "http://127.0.0.1:9/miner-positions"}},
  "bybit": {{"api_key": "{KEY}", "api_secret": "{SECRET}", "leverage_override": 0, "min_order_notional_usd": 5.0}},
  "blofin": {{"api_key": "", "api_secret": "", "api_passphrase": "", "leverage_override": 0, "copy_trading": false, "min_order_notional_usd": 0.0}},
  "kucoin": {{"api_key": "", "api_secret": "", "api_passphrase": "", "leverage_override": 0, "min_order_notional_usd": 0.0}},
  "mexc": {{"api_key": "", "api_secret": "", "leverage_override": 0, "min_order_notional_usd": 0.0}},
  "bingx": {{"api_key": "", "api_secret": "", "leverage_override": 0, "min_order_notional_usd": 0.0}},
  "ccxt": {{"ccxt_list": [{{"exchange_name": "hyperliquid", "api_key": "0xFAKEMAIN", "api_secret": "0xFAKEAGENT",
      "api_passphrase": "0xFAKEADDR", "account_name": "sirouk", "min_order_notional_usd": 10.0,
      "leverage_override": 0, "enabled": true, "copy_trading": false}}]}}
}}"#
    );
    std::fs::write(dir.join("credentials.json"), credentials).unwrap();
}

/// The binary in `dir`, with the test's variables only where `vars` says.
fn cli(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.args(["--config", "tradeengine.toml"])
        .args(args)
        .current_dir(dir)
        .env_remove("TRADEENGINE_CREDENTIALS_PASSPHRASE")
        .env_remove("TRADINGVIEW_SECRET")
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

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn http(port: u16, method: &str, path: &str, body: &str) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {READ_TOKEN}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
}

fn stop(mut child: Child) {
    // SIGTERM: the engine settles and exits on its own.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

// One scenario whose steps build on each other's state, so it stays one sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_files_to_a_running_engine_trading_on_a_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    seed_files(d);

    // 1. Import: keys into the encrypted file, the rest into the TOML, a report.
    let out = cli(
        d,
        &[
            "config",
            "import",
            "--from",
            ".",
            "--out",
            "tradeengine.toml",
            "--work-factor",
            "10",
        ],
        &[("TRADEENGINE_CREDENTIALS_PASSPHRASE", FILE_PASS)],
    );
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains("TRADINGVIEW_SECRET: the shared secret"),
        "each variable left to set, and why: {report}"
    );
    // The passphrase the import itself used is listed too: `run` needs it wherever it runs.
    let to_set = report
        .split("to set before `tradeengine run`")
        .nth(1)
        .unwrap_or_else(|| panic!("no list of variables to set: {report}"));
    let passphrase_line = to_set
        .lines()
        .find(|l| l.contains("TRADEENGINE_CREDENTIALS_PASSPHRASE"))
        .unwrap_or_else(|| panic!("the passphrase is not listed: {report}"));
    assert!(
        passphrase_line.contains("set in this shell; also set it where `run` runs"),
        "{passphrase_line}"
    );
    assert!(
        report.contains("credentials.json: ccxt.hyperliquid.sirouk: no adapter"),
        "{report}"
    );
    assert!(report.contains("on_stale = \"flat\""), "{report}");
    for secret in [KEY, SECRET, SN8_KEY] {
        assert!(!report.contains(secret), "the report shows no key");
    }
    let toml = std::fs::read_to_string(d.join("tradeengine.toml")).unwrap();
    for secret in [KEY, SECRET, SN8_KEY, "0xFAKEAGENT"] {
        assert!(!toml.contains(secret), "no key in the TOML: {toml}");
    }
    assert!(
        toml.contains("credentials = \"file:credentials.age\""),
        "{toml}"
    );
    assert!(!toml.contains("accounts = []"), "{toml}");
    assert!(toml.contains("leverage = 3\n"), "typed: {toml}");
    assert!(d.join("credentials.age").exists());

    // 2. Without the variables the check fails, naming them; with them it passes.
    let out = cli(d, &["config", "check"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("TRADINGVIEW_SECRET is not set"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("TRADEENGINE_CREDENTIALS_PASSPHRASE"),
        "{}",
        text(&out)
    );
    let vars = [
        ("TRADEENGINE_CREDENTIALS_PASSPHRASE", FILE_PASS),
        ("TRADINGVIEW_SECRET", TV_SECRET),
    ];
    let out = cli(d, &["config", "check"], &vars);
    assert!(out.status.success(), "{}", text(&out));

    // 3. The imported Bybit account goes to a simulator in testnet, by command.
    let mut o = SimOptions::new(SimVenue::Bybit);
    o.api_key = KEY.into();
    o.api_secret = SECRET.into();
    let sim = serve(SimVenue::Bybit, "127.0.0.1:0".parse().unwrap(), o)
        .await
        .unwrap();
    let out = cli(
        d,
        &[
            "config",
            "accounts",
            "--modify",
            "bybit",
            "--mode",
            "testnet",
            "--base-url",
            &sim.base_url(),
            "--yes",
        ],
        &vars,
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = cli(d, &["config", "check", "--online"], &vars);
    assert!(out.status.success(), "{}", text(&out));

    // 4. Run, send an alert, see the simulator's position move.
    let port = free_port();
    let child = Command::new(BIN)
        .args(["--config", "tradeengine.toml", "run", "--bind"])
        .arg(format!("127.0.0.1:{port}"))
        .current_dir(d)
        .envs(vars)
        .env("TRADEENGINE_READ_TOKEN", READ_TOKEN)
        .env("TRADEENGINE_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !http(port, "GET", "/health", "").contains(" 200 ") {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the engine did not start"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let alert = format!(
        r#"{{"secret":"{TV_SECRET}","symbol":"BTCUSDT","direction":"long","action":"buy","size":"100/100","leverage":"3"}}"#
    );
    let answer = http(port, "POST", "/webhook/tradingview", &alert);
    assert!(
        answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.1 202"),
        "{answer}"
    );
    let traded = loop {
        if sim.position("BTCUSDT") > Decimal::ZERO {
            break true;
        }
        if started.elapsed() > Duration::from_secs(90) {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    stop(child);
    assert!(
        traded,
        "the imported account traded BTCUSDT on the simulator"
    );
}
