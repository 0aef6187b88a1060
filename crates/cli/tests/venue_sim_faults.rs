#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! `tradeengine venue-sim --fault SPEC` and `POST /__sim/faults`: an operator injects the
//! faults RELIABILITY.md describes into a running simulator to rehearse them, and a typo injects
//! nothing.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Kills the simulator when the test ends, however it ends.
struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request; returns the status and the body.
fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
    (status, body)
}

fn start(port: u16, faults: &[&str]) -> Sim {
    let mut cmd = Command::new(BIN);
    cmd.args(["venue-sim", "bybit", "--port", &port.to_string()]);
    for f in faults {
        cmd.args(["--fault", f]);
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let sim = Sim(child);
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the simulator never listened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    sim
}

#[test]
fn faults_from_the_command_line_hit_then_expire() {
    let port = free_port();
    let _sim = start(port, &["*:status:502:times=2"]);
    assert_eq!(http(port, "GET", "/v5/market/time", "").0, 502);
    assert_eq!(http(port, "GET", "/v5/market/time", "").0, 502);
    let (status, body) = http(port, "GET", "/v5/market/time", "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("timeSecond"), "{body}");
}

#[test]
fn faults_injected_while_running_and_cleared() {
    let port = free_port();
    let _sim = start(port, &[]);
    let (status, body) = http(
        port,
        "POST",
        "/__sim/faults",
        "order:status-after-accept:503:times=3\n# a comment\npositions:delay:100\n",
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("StatusAfterAccept(503)"), "{body}");
    assert!(body.contains("\"pending\":4"), "{body}");
    // The control path itself is never faulted, counted or delayed.
    assert!(
        http(port, "GET", "/__sim/faults", "")
            .1
            .contains("\"pending\":4")
    );

    // A typo injects nothing, not even the good lines next to it.
    let (status, body) = http(port, "POST", "/__sim/faults", "*:status:503\norder:explode");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("explode"), "{body}");
    assert!(
        http(port, "GET", "/__sim/faults", "")
            .1
            .contains("\"pending\":4")
    );
    assert_eq!(http(port, "GET", "/v5/market/time", "").0, 200);

    let (status, body) = http(port, "DELETE", "/__sim/faults", "");
    assert_eq!(status, 200, "{body}");
    assert!(
        http(port, "GET", "/__sim/faults", "")
            .1
            .contains("\"pending\":0")
    );

    http(port, "POST", "/__sim/faults", "/v5/market/time:status:504");
    assert_eq!(http(port, "GET", "/v5/market/time", "").0, 504);
    assert_eq!(http(port, "GET", "/v5/market/time", "").0, 200);
}

#[test]
fn a_bad_fault_flag_refuses_to_start() {
    let out = Command::new(BIN)
        .args([
            "venue-sim",
            "bybit",
            "--port",
            &free_port().to_string(),
            "--fault",
            "order:status:200",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("order:status:200") && err.contains("5xx"),
        "{err}"
    );
}

/// `order place` by hand when the venue fills and then answers 503: the CLI asks the venue by
/// client id and reports the fill, instead of an error that invites a second (doubling) order.
#[test]
fn a_hand_placed_order_answered_5xx_after_the_fill_is_reported_filled() {
    let port = free_port();
    let _sim = start(port, &["order:status-after-accept:503:times=1"]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tradeengine.toml");
    // Only `run` creates a data dir and its store; the hand order command needs both to exist.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        drop(
            tradeengine_store::open_sqlite_in(&dir.path().join("data"))
                .await
                .unwrap(),
        )
    });
    std::fs::write(
        &config,
        format!(
            r#"
[engine]
mode = "testnet"
data_dir = "data"
hot_reload = false
[[accounts]]
name = "byb"
venue = "bybit"
base_url = "http://127.0.0.1:{port}"
credentials = "env:SIMTEST"
[sources.ops]
type = "rest"
[[symbols]]
symbol = "BTCUSDT"
weights = {{ ops = 1.0 }}
"#
        ),
    )
    .unwrap();
    let place = |extra: &[&str]| {
        Command::new(BIN)
            .args(["--config", config.to_str().unwrap()])
            .args([
                "order",
                "place",
                "--account",
                "byb",
                "--symbol",
                "BTCUSDT",
                "--side",
                "buy",
                "--qty",
                "0.01",
                "--client-id",
                "hand-1",
            ])
            .args(extra)
            .env("SIMTEST_API_KEY", "sim-test-key")
            .env("SIMTEST_API_SECRET", "sim-test-secret")
            .output()
            .unwrap()
    };
    // BTCUSDT is weighted by a source: an order by hand would be traded back at the engine's
    // next cycle, so it is refused unless the operator insists.
    let out = place(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("--even-if-managed"), "{stderr}");
    let out = place(&["--even-if-managed"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("asking the venue"), "{stderr}");
    assert!(stdout.to_lowercase().contains("filled"), "{stdout}");
    // The simulator's own book, as an operator checks it: one order, filled, and the position.
    let (status, body) = http(port, "GET", "/__sim/state", "");
    assert_eq!(status, 200, "{body}");
    let state: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(state["venue"], "bybit", "{state}");
    assert_eq!(
        state["orders_total"], 1,
        "one order, never doubled: {state}"
    );
    assert_eq!(state["orders"][0]["client_id"], "hand-1", "{state}");
    assert_eq!(state["orders"][0]["status"], "filled", "{state}");
    assert_eq!(state["positions"]["BTCUSDT"]["size"], "0.01", "{state}");
    assert!(state["equity"].as_str().is_some(), "{state}");
    // The fill is in the store (so `pnl` counts its position and fee, as unattributed), once,
    // however often the order is asked for again.
    let status = Command::new(BIN)
        .args(["--config", config.to_str().unwrap()])
        .args([
            "order",
            "status",
            "--account",
            "byb",
            "--symbol",
            "BTCUSDT",
            "--client-id",
            "hand-1",
        ])
        .env("SIMTEST_API_KEY", "sim-test-key")
        .env("SIMTEST_API_SECRET", "sim-test-secret")
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let fills = runtime.block_on(async {
        let store = tradeengine_store::open_sqlite_in(&dir.path().join("data"))
            .await
            .unwrap();
        let byb = tradeengine_model::AccountName::new("byb").unwrap();
        store.fills(Some(&byb), 10).await.unwrap()
    });
    assert_eq!(fills.len(), 1, "{fills:?}");
    assert_eq!(fills[0].client_order_id.as_str(), "hand-1");
    assert_eq!(fills[0].qty, rust_decimal::Decimal::new(1, 2));
    assert!(fills[0].fee > rust_decimal::Decimal::ZERO, "{fills:?}");
}
