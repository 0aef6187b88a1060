#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! `tradeengine config sn8` driven through a pseudo-terminal, like sirouk/trade-engine's
//! `bittensor_processor.py --config`: every value prompted, Enter keeps the current one, only
//! what changed is written (comments kept), "start fresh" drops the old settings. The
//! validator's API key is never asked for and never written: only its variable's name. The
//! flag forms make the same changes without prompts.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{BIN, DOWN, expect_logged};
use expectrl::Expect;
use expectrl::session::OsSession;

const SN8_KEY: &str = "FAKE-sn8-validator-key-9999";

fn config(dir: &Path) -> PathBuf {
    let path = dir.join("tradeengine.toml");
    std::fs::write(
        &path,
        format!(
            r#"# sn8 notes
[engine]
data_dir = "{}"

[[accounts]]
name = "paper"
venue = "paper"

[sources.sn8]
type = "sn8"
ttl_secs = 120
on_stale = "flat"

[sources.sn8.settings]
# the validator
positions_url = "https://validator.example/miner-positions"
api_key_env = "SN8_API_KEY"
interval_secs = 15
scoring = "seed"

[sources.sn8.settings.seed]
min_trades = 10

[mapping.sn8]
BTCUSD = "BTCUSDT"

[[symbols]]
symbol = "BTCUSDT"
weights = {{ sn8 = 0.5 }}
"#,
            dir.join("data").display()
        ),
    )
    .unwrap();
    path
}

fn command(path: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--config")
        .arg(path)
        .args(args)
        .env("SN8_API_KEY", SN8_KEY);
    cmd
}

fn spawn(path: &Path, args: &[&str]) -> OsSession {
    common::spawn_command(command(path, args))
}

const SEED_KEYS: [&str; 12] = [
    "seed.min_trades",
    "seed.max_drawdown_threshold",
    "seed.min_profitable_rate",
    "seed.min_total_return",
    "seed.drawdown_exponent",
    "seed.sharpe_exponent",
    "seed.profitable_rate_exponent",
    "seed.position_count_divisor",
    "seed.min_trades_per_asset",
    "seed.max_trade_age_days",
    "seed.min_thirty_day_return",
    "seed.min_all_time_return",
];

/// Walks every prompt in order, answering `answers[key]` or Enter.
fn walk(s: &mut OsSession, log: &mut Vec<u8>, answers: &[(&str, &str)]) {
    let answer = |key: &str| {
        answers
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, a)| format!("{a}\r"))
            .unwrap_or_else(|| "\r".to_string())
    };
    let mut keys = vec![
        "positions_url",
        "tier",
        "trade_pairs_url",
        "stream_url",
        "api_key_env",
        "request_key_env",
        "statistics_url",
        "eliminations_url",
        "interval_secs",
        "timeout_secs",
        "max_body_bytes",
        "scoring",
        "top_n",
        "depth_scale",
        "leverage_limit",
    ];
    keys.extend(SEED_KEYS);
    for key in keys {
        expect_logged(s, log, &format!("{key} ("));
        s.send(answer(key)).unwrap();
    }
    expect_logged(s, log, "Change the population guard");
    s.send("\r").unwrap(); // no
    for key in ["ttl_secs", "on_stale"] {
        expect_logged(s, log, &format!("{key} ("));
        s.send(answer(key)).unwrap();
    }
}

#[test]
fn enter_keeps_every_value_and_only_changes_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let before = std::fs::read_to_string(&path).unwrap();
    let mut s = spawn(&path, &["config", "sn8"]);
    let mut log = Vec::new();
    expect_logged(
        &mut s,
        &mut log,
        "sn8: https://validator.example/miner-positions, scoring seed",
    );
    s.send(DOWN).unwrap(); // modify
    s.send("\r").unwrap();
    walk(
        &mut s,
        &mut log,
        &[("interval_secs", "30"), ("seed.min_trades", "12")],
    );
    expect_logged(&mut s, &mut log, "summary for sn8:");
    expect_logged(&mut s, &mut log, "interval_secs: 15 → 30");
    expect_logged(&mut s, &mut log, "seed.min_trades: 10 → 12");
    expect_logged(&mut s, &mut log, "Write");
    s.send("\r").unwrap();
    expect_logged(&mut s, &mut log, "wrote");
    s.expect(expectrl::Eof).unwrap();
    let after = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        after,
        before
            .replace("interval_secs = 15", "interval_secs = 30")
            .replace("min_trades = 10", "min_trades = 12"),
        "only the two changed values differ; comments and the rest stay"
    );
    let shown = String::from_utf8_lossy(&log);
    assert!(!shown.contains(SN8_KEY) && !after.contains(SN8_KEY));
    assert!(
        !shown.contains("summary for sn8:\n  api_key_env"),
        "{shown}"
    );
}

#[test]
fn start_fresh_drops_the_old_settings() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let mut s = spawn(&path, &["config", "sn8"]);
    let mut log = Vec::new();
    expect_logged(&mut s, &mut log, "sn8: https://validator.example");
    s.send(DOWN).unwrap();
    s.send(DOWN).unwrap(); // start fresh
    s.send("\r").unwrap();
    walk(
        &mut s,
        &mut log,
        &[
            ("positions_url", "http://127.0.0.1:48888/miner-positions"),
            ("api_key_env", "SN8_API_KEY"),
        ],
    );
    expect_logged(&mut s, &mut log, "started fresh");
    expect_logged(&mut s, &mut log, "Write");
    s.send("\r").unwrap();
    expect_logged(&mut s, &mut log, "wrote");
    s.expect(expectrl::Eof).unwrap();
    let after = std::fs::read_to_string(&path).unwrap();
    let parsed: toml::Table = after.parse().unwrap();
    let sn8 = parsed["sources"]["sn8"].as_table().unwrap();
    assert_eq!(sn8.get("ttl_secs"), None, "back to the default: {after}");
    assert_eq!(sn8.get("on_stale"), None, "{after}");
    let settings = sn8["settings"].as_table().unwrap();
    let mut keys: Vec<&String> = settings.keys().collect();
    keys.sort();
    assert_eq!(keys, ["api_key_env", "positions_url"], "{after}");
    assert!(after.starts_with("# sn8 notes"), "{after}");
    assert!(!after.contains(SN8_KEY));
}

#[test]
fn flags_set_and_unset_without_prompts() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let run = |args: &[&str]| command(&path, args).output().unwrap();
    let out = run(&[
        "config",
        "sn8",
        "--set",
        "interval_secs=20",
        "--set",
        "seed.max_trade_age_days=7",
        "--set",
        "scoring=ptn",
        "--set",
        "statistics_url=https://validator.example/statistics",
        "--unset",
        "seed.min_trades",
        "--set",
        "on_stale=hold",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("interval_secs = 20"), "{text}");
    assert!(text.contains("max_trade_age_days = 7.0"), "{text}");
    assert!(text.contains("scoring = \"ptn\""), "{text}");
    assert!(text.contains("on_stale = \"hold\""), "{text}");
    assert!(!text.contains("min_trades = 10"), "{text}");
    assert!(text.contains("# the validator"), "{text}");

    // Refused, named, nothing written: an unknown key, a bad value, a key pasted as a name.
    let before = std::fs::read_to_string(&path).unwrap();
    for (set, says) in [
        ("topn=3", "unknown sn8 key"),
        ("interval_secs=0", "at least 1"),
        ("positions_url=ftp://x", "http"),
        (
            "api_key_env=FAKE-sn8:key/9999",
            "NAME of an environment variable",
        ),
    ] {
        let out = run(&["config", "sn8", "--set", set]);
        assert!(!out.status.success(), "{set}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{set}: {err}");
        assert!(!err.contains("FAKE-sn8:key/9999"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    }
    let out = run(&["config", "sn8", "--keys"]);
    let keys = String::from_utf8_lossy(&out.stdout);
    assert!(keys.contains("seed.min_trades") && keys.contains("guard.min_miners"));
    // No flags and no terminal: an error naming the flags, not a hang.
    let out = run(&["config", "sn8"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--set"));
}
