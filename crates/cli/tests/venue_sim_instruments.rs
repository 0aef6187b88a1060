#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! `tradeengine venue-sim VENUE --instruments N`: every simulator lists N synthetic instruments
//! besides its defaults, in its own public listing reply, and lists none when N is left out.

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
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
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

fn start(venue: &str, port: u16, extra: &[&str]) -> Sim {
    let mut cmd = Command::new(BIN);
    cmd.args(["venue-sim", venue, "--port", &port.to_string()]);
    cmd.args(extra);
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
            "the {venue} simulator never listened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    sim
}

/// Each venue's public instrument listing: (venue, method, path, body).
const LISTINGS: &[(&str, &str, &str, &str)] = &[
    (
        "bybit",
        "GET",
        "/v5/market/instruments-info?category=linear",
        "",
    ),
    ("binance", "GET", "/fapi/v1/exchangeInfo", ""),
    ("blofin", "GET", "/api/v1/market/instruments", ""),
    ("kucoin", "GET", "/api/v1/contracts/active", ""),
    ("mexc", "GET", "/api/v1/contract/detail", ""),
    ("hyperliquid", "POST", "/info", r#"{"type":"meta"}"#),
];

#[test]
fn every_simulator_lists_the_synthetic_instruments_asked_for() {
    for (venue, method, path, body) in LISTINGS {
        let port = free_port();
        let _sim = start(venue, port, &["--instruments", "40"]);
        let (status, listing) = http(port, method, path, body);
        assert_eq!(status, 200, "{venue}: {listing}");
        // Each venue spells the symbol its own way (S040USDT, S040_USDT, S040USDTM, S040-USDT,
        // the coin S040): the synthetic coin is in every spelling.
        assert!(listing.contains("S001"), "{venue}: {listing}");
        assert!(listing.contains("S040"), "{venue}: {listing}");
        assert!(!listing.contains("S041"), "{venue}: {listing}");
        // The venue's own instruments are still listed.
        assert!(listing.contains("ETH"), "{venue}: {listing}");
    }
}

#[test]
fn without_the_flag_only_the_default_instruments_are_listed() {
    let port = free_port();
    let _sim = start("hyperliquid", port, &[]);
    let (status, listing) = http(port, "POST", "/info", r#"{"type":"meta"}"#);
    assert_eq!(status, 200, "{listing}");
    assert!(listing.contains("BTC"), "{listing}");
    assert!(!listing.contains("S001"), "{listing}");
}

#[test]
fn a_count_out_of_range_is_refused_before_anything_listens() {
    let out = Command::new(BIN)
        .args(["venue-sim", "bybit", "--instruments", "100000"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--instruments"), "{err}");
}
