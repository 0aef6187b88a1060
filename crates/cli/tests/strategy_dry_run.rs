#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! `tradeengine strategy run NAME --dry-run` prints one decision per closed candle, decided by
//! the fallback rules when no LLM is configured, and stores nothing; without `--dry-run` it
//! refuses.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");
const DEMO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/strategy-demo.toml"
);

#[test]
fn dry_run_prints_fallback_decisions_and_trades_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .args(["--config", DEMO, "strategy", "run", "cipher", "--dry-run"])
        .args(["--symbol", "ETHUSDT", "--candles", "30"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decisions: Vec<&str> = stdout.lines().filter(|l| l.contains(" ETHUSDT ")).collect();
    assert_eq!(decisions.len(), 30, "{stdout}");
    for d in &decisions {
        assert!(
            d.contains("[fallback: no LLM configured] Fallback rules:"),
            "{d}"
        );
        assert!(
            ["LONG", "SHORT", "CLOSE", "HOLD"]
                .iter()
                .any(|a| d.contains(a)),
            "{d}"
        );
    }
    assert!(stdout.contains("ETHUSDT: "), "summary line: {stdout}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "a dry run writes nothing"
    );

    let refused = Command::new(BIN)
        .current_dir(dir.path())
        .args(["--config", DEMO, "strategy", "run", "cipher"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--dry-run"));
}

// One scenario whose steps build on each other's state, so it stays one sequence.
/// The same dry run with candles from a venue's public klines: a Bybit simulator (in this test
/// process) serving a recorded slide-and-rally, and an account pointing at it. No keys: market
/// data is public.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_reads_a_venue_simulators_klines() {
    use rust_decimal::Decimal;
    use tradeengine_venue_sim::{SimOptions, VenueId, serve};

    let sim = serve(
        VenueId::Bybit,
        "127.0.0.1:0".parse().unwrap(),
        SimOptions::new(VenueId::Bybit),
    )
    .await
    .unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let start = now.div_euclid(60_000) * 60_000 - 300 * 60_000;
    let mut price = 3000.0_f64;
    for i in 0..310 {
        let open = price;
        price *= if i < 200 { 0.997 } else { 1.006 };
        let t = start + i * 60_000;
        let d = |x: f64| Decimal::from_f64_retain(x).unwrap().round_dp(2);
        sim.record_price_at("ETHUSDT", t, d(open), Decimal::ZERO);
        sim.record_price_at(
            "ETHUSDT",
            t + 30_000,
            d(open.max(price) * 1.001),
            Decimal::ONE,
        );
        sim.record_price_at("ETHUSDT", t + 59_000, d(price), Decimal::ZERO);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("venue.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[engine]
mode = "dry-run"
data_dir = "{data}"
[[accounts]]
name = "bybit"
venue = "bybit"
base_url = "{url}"
[sources.cipher]
type = "strategy"
[sources.cipher.settings]
account = "bybit"
interval = "1m"
window = 80
[[symbols]]
symbol = "ETHUSDT"
weights = {{ cipher = 1.0 }}
"#,
            data = dir.path().join("data").display(),
            url = sim.base_url()
        ),
    )
    .unwrap();
    let config_arg = config.display().to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args([
                "--config",
                &config_arg,
                "strategy",
                "run",
                "cipher",
                "--dry-run",
            ])
            .args(["--candles", "20"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("bybit 1m klines at {}", sim.base_url())),
        "{stdout}"
    );
    let decisions: Vec<&str> = stdout.lines().filter(|l| l.contains(" ETHUSDT ")).collect();
    assert_eq!(decisions.len(), 20, "{stdout}");
    assert!(
        decisions
            .iter()
            .all(|d| d.contains("[fallback: no LLM configured]")),
        "{stdout}"
    );
    // The rally of the last 110 minutes: at least one LONG on the venue's candles.
    assert!(decisions.iter().any(|d| d.contains("LONG")), "{stdout}");
    assert!(sim.counters().get("GET", "/v5/market/kline") >= 20);
}
