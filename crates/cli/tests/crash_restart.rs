#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! `kill -9` during the paper demo, then restart: no order is duplicated, positions reconcile to
//! target, and the audit chain verifies (ARCHITECTURE.md, "Converges after a crash").
//!
//! The engine runs as a real child process against a SQLite store and the paper venue in a temp
//! dir. It is killed with SIGKILL twice, at different points after orders have started filling,
//! and restarted each time. At the end:
//! - every client order id is unique and every order is in a final state;
//! - the sum of filled quantities per symbol equals the position the paper venue holds, so no
//!   order was applied twice or lost;
//! - every position equals its target;
//! - `tradeengine audit verify` exits 0.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");
/// The API needs a token, on loopback too.
const READ_TOKEN: &str = "crash-read-token-not-real";

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn config(port: u16) -> String {
    format!(
        r#"
[engine]
mode = "paper"
drift_check_interval_secs = 1
data_dir = "data"
bind = "127.0.0.1:{port}"
hot_reload = false

[[accounts]]
name = "paper"
venue = "paper"
min_order_notional = 5

[accounts.paper]
starting_balance = 10000
seed = 3

[sources.demo]
type = "demo"

[sources.demo.settings]
seed = 11
interval_secs = 1
max_steps = 12

[[symbols]]
symbol = "BTCUSDT"
leverage = 3
weights = {{ demo = 1.0 }}

[[symbols]]
symbol = "ETHUSDT"
leverage = 2
weights = {{ demo = 1.0 }}
"#
    )
}

fn start(dir: &Path) -> Child {
    Command::new(BIN)
        .args(["--config", "tradeengine.toml", "run"])
        .current_dir(dir)
        .env("TRADEENGINE_LOG", "warn")
        .env("TRADEENGINE_READ_TOKEN", READ_TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn cli_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(BIN)
        .args(["--config", "tradeengine.toml"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn http_get(port: u16, path: &str) -> Option<serde_json::Value> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {READ_TOKEN}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let body = text.split("\r\n\r\n").nth(1)?;
    serde_json::from_str(body).ok()
}

fn filled_orders(dir: &Path) -> usize {
    // Read-only commands refuse until the engine has created and migrated the database.
    let ready = Command::new(BIN)
        .args([
            "--config",
            "tradeengine.toml",
            "orders",
            "--json",
            "--limit",
            "1",
        ])
        .current_dir(dir)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        return 0;
    }
    cli_json(
        dir,
        &["orders", "--json", "--limit", "1000", "--state", "filled"],
    )
    .as_array()
    .map(Vec::len)
    .unwrap_or(0)
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("timed out waiting for {what}");
}

fn dec(v: &serde_json::Value) -> Decimal {
    match v {
        serde_json::Value::String(s) => s.parse().unwrap(),
        serde_json::Value::Number(n) => n.to_string().parse().unwrap(),
        _ => Decimal::ZERO,
    }
}

// One scenario whose steps build on each other's state, so it stays one sequence.
#[test]
fn kill_9_and_restart_neither_duplicates_nor_loses_orders() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(dir.path().join("tradeengine.toml"), config(port)).unwrap();

    // First run: kill -9 as soon as orders have filled.
    let mut child = start(dir.path());
    wait_until("first fills", Duration::from_secs(30), || {
        filled_orders(dir.path()) >= 1
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let after_first = filled_orders(dir.path());

    // Second run: kill -9 again a moment after more orders went out.
    let mut child = start(dir.path());
    wait_until("more fills", Duration::from_secs(30), || {
        filled_orders(dir.path()) > after_first
    });
    std::thread::sleep(Duration::from_millis(400));
    child.kill().unwrap();
    child.wait().unwrap();

    // Third run: let the script finish and the account reach its targets.
    let mut child = start(dir.path());
    wait_until(
        "demo script done and positions at target",
        Duration::from_secs(60),
        || {
            let signals = cli_json(dir.path(), &["signals", "--json", "--limit", "100"]);
            let done = signals.as_array().is_some_and(|s| s.len() >= 12);
            let Some(rows) = http_get(port, "/api/v1/positions") else {
                return false;
            };
            let rows = rows.as_array().cloned().unwrap_or_default();
            done && !rows.is_empty() && rows.iter().all(|r| dec(&r["size"]) == dec(&r["target"]))
        },
    );
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful stop exits 0, got {exit:?}");

    let orders = cli_json(dir.path(), &["orders", "--json", "--limit", "1000"]);
    let orders = orders.as_array().unwrap();
    assert!(!orders.is_empty());
    let mut ids = BTreeSet::new();
    let mut filled: BTreeMap<String, Decimal> = BTreeMap::new();
    for o in orders {
        let id = o["client_order_id"].as_str().unwrap().to_string();
        assert!(ids.insert(id.clone()), "client order id {id} used twice");
        let state = o["state"].as_str().unwrap();
        assert!(
            ["filled", "rejected", "cancelled"].contains(&state),
            "order {id} left in state {state}"
        );
        let sign = if o["side"] == "buy" {
            Decimal::ONE
        } else {
            Decimal::NEGATIVE_ONE
        };
        *filled
            .entry(o["symbol"].as_str().unwrap().to_string())
            .or_default() += sign * dec(&o["filled_qty"]);
    }

    let positions = cli_json(dir.path(), &["positions", "--json"]);
    let mut held: BTreeMap<String, Decimal> = BTreeMap::new();
    for row in positions.as_array().unwrap() {
        held.insert(
            row["position"]["symbol"].as_str().unwrap().to_string(),
            dec(&row["position"]["size"]),
        );
    }
    for (symbol, qty) in &filled {
        assert_eq!(
            held.get(symbol).copied().unwrap_or_default(),
            *qty,
            "{symbol}: fills add up to {qty} but the venue holds {:?}",
            held.get(symbol)
        );
    }

    let verify = Command::new(BIN)
        .args(["--config", "tradeengine.toml", "audit", "verify"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );

    // The status view reads the same store: the engine is stopped and the trades are counted.
    let status = Command::new(BIN)
        .args(["--config", "tradeengine.toml", "status"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{text}");
    assert!(text.contains("engine: stopped"), "{text}");
    // With the engine gone, prices are the last fills, and the view says so.
    assert!(text.contains("prices: last fill"), "{text}");
    if text.contains("(last fill)") {
        assert!(text.contains("unrealised P&L"), "{text}");
    }
    assert!(
        text.contains(&format!(
            "trades (all sessions): {} filled",
            orders.iter().filter(|o| o["state"] == "filled").count()
        )),
        "{text}"
    );
}
