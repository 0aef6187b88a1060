//! The cluster test's pieces: PostgreSQL schemas, engine configs, `tradeengine run` nodes,
//! HTTP calls to them and the simulators' positions.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use sqlx::AssertSqlSafe;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tradeengine_venue_sim::SimHandle;

pub const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");
pub const REST_TOKEN: &str = "cluster-rest-token-not-real-0001";
pub const READ_TOKEN: &str = "cluster-read-token-not-real-0001";
pub const ACCOUNTS: usize = 6;
pub const TTL_SECS: u64 = 3;

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A schema of its own in the test PostgreSQL; `None` (after a loud warning) when PostgreSQL is
/// unreachable outside CI.
pub async fn pg_schema(tag: &str) -> Option<(String, PgConnectOptions)> {
    let base = std::env::var("TRADEENGINE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let admin = match PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&base)
        .await
    {
        Ok(p) => p,
        Err(e) => {
            let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
            assert!(!ci, "PostgreSQL unreachable under CI: {e}");
            eprintln!(
                "\n!!!!!!!! WARNING: PostgreSQL unreachable ({e}); SKIPPING this test !!!!!!!!\n"
            );
            return None;
        }
    };
    let schema = format!("te_cluster_{tag}_{}", std::process::id());
    for sql in [
        format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        format!("CREATE SCHEMA {schema}"),
    ] {
        sqlx::query(AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .unwrap();
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let options = PgConnectOptions::from_str(&base)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    Some((url, options))
}

pub fn config(node: usize, port: u16, url: &str, sims: &[SimHandle]) -> String {
    config_with(node, port, url, sims, "first")
}

pub fn config_with(node: usize, port: u16, url: &str, sims: &[SimHandle], spread: &str) -> String {
    let mut text = format!(
        r#"
[engine]
mode = "testnet"
drift_check_interval_secs = 1
data_dir = "data"
bind = "127.0.0.1:{port}"
database_url = "{url}"
hot_reload = false
cluster = true
node_id = "n{node}"
lease_ttl_secs = {TTL_SECS}
accounts = "{spread}"

[sources.ops]
type = "rest"

[sources.ops.settings]
token_env = "TE_CLUSTER_REST"

[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = {{ ops = 1.0 }}
"#
    );
    for (i, sim) in sims.iter().enumerate() {
        text.push_str(&format!(
            r#"
[[accounts]]
name = "a{i}"
venue = "bybit"
base_url = "{}"
ws_url = "off"
credentials = "env:TE_A{i}"
"#,
            sim.base_url()
        ));
    }
    text
}

/// One engine process in its own folder (its own data dir), logging to `engine.log` there.
pub struct Node {
    pub dir: PathBuf,
    pub port: u16,
    pub child: Child,
}

impl Node {
    pub fn start(dir: PathBuf, port: u16, text: &str, sims: &[SimHandle]) -> Self {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("tradeengine.toml"), text).unwrap();
        let log = std::fs::File::create(dir.join("engine.log")).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["--config", "tradeengine.toml", "run"])
            .current_dir(&dir)
            .env("TRADEENGINE_LOG", "info")
            .env("TRADEENGINE_READ_TOKEN", READ_TOKEN)
            .env("TE_CLUSTER_REST", REST_TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        for (i, sim) in sims.iter().enumerate() {
            cmd.env(format!("TE_A{i}_API_KEY"), &sim.options().api_key)
                .env(format!("TE_A{i}_API_SECRET"), &sim.options().api_secret);
        }
        let child = cmd.spawn().unwrap();
        Self { dir, port, child }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn ready(&self) -> Option<serde_json::Value> {
        let (code, body) = http(self.port, "GET", "/ready", None, "");
        (code == 200).then_some(body)
    }

    /// The accounts this process says it trades (empty when it does not answer).
    pub fn holds(&self) -> BTreeSet<String> {
        let (_, body) = http(self.port, "GET", "/ready", None, "");
        body["holds_accounts"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("engine.log")).unwrap_or_default()
    }

    pub fn signal(&self, id: &str, side: &str, exposure: &str) -> serde_json::Value {
        let body = format!(
            r#"{{"v":1,"id":"{id}","symbol":"BTCUSDT","mode":"target","target":{{"side":"{side}","exposure":{exposure},"unit":"equity_fraction"}}}}"#
        );
        let (code, answer) = http(
            self.port,
            "POST",
            "/api/v1/signals",
            Some(REST_TOKEN),
            &body,
        );
        assert_eq!(code, 200, "signal {id} to port {}: {answer}", self.port);
        answer
    }
}

impl Drop for Node {
    /// SIGTERM first (a clean stop flushes the log), SIGKILL after 5 s.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn http(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, serde_json::Value) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, serde_json::Value::Null);
    };
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if s.write_all(request.as_bytes()).is_err() {
        return (0, serde_json::Value::Null);
    }
    let mut text = String::new();
    if s.read_to_string(&mut text).is_err() {
        return (0, serde_json::Value::Null);
    }
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    (
        code,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

pub fn wait_until(what: &str, nodes: &[&Node], timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        if start.elapsed() > timeout {
            for n in nodes {
                eprintln!(
                    "---- log of the process on port {} ----\n{}",
                    n.port,
                    n.log()
                );
            }
            panic!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn signs(sims: &[SimHandle]) -> Vec<i32> {
    sims.iter()
        .map(|s| {
            let p = s.position("BTCUSDT");
            if p > Decimal::ZERO {
                1
            } else if p < Decimal::ZERO {
                -1
            } else {
                0
            }
        })
        .collect()
}

pub fn signal_stop(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

/// The boot number of the process that planned a stored order (`<instance>-<boot>-<n>`).
pub fn boot_of(plan_id: &str) -> u64 {
    let boot = plan_id.split('-').nth(1).unwrap();
    u64::from_str_radix(boot, 36).unwrap()
}
