#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Secrets never reach a log line, an API response, the database or the data directory
//! (ARCHITECTURE.md, "Secrets stay secret").
//!
//! The real binary runs with recognisable fake secrets: exchange key, secret and passphrase
//! (from the encrypted credentials file), the file's passphrase, the webhook secret, the REST
//! source token, the API read/control tokens, the Telegram bot token and a notification
//! webhook's URL. Every log line is captured at `trace`, every
//! HTTP endpoint is called (with the right, the wrong and no token, and bodies that carry
//! secrets), an order trades on the Bybit simulator, then every table of the SQLite store is
//! dumped and every file in the data directory read raw. The failure paths run too: the venue
//! rejecting the key, a key with withdrawal permission, a pasted key in the configuration and a
//! TOML syntax error on the line holding a secret. None of the strings may appear anywhere.

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use tradeengine_venue_sim::{SimHandle, SimOptions, VenueId, serve};

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");

const KEY: &str = "FAKEKEY-LEAKCHECK-0001";
const SECRET: &str = "FAKESECRET-LEAKCHECK-0001";
const VENUE_PASS: &str = "FAKEVENUEPASS-LEAKCHECK-0001";
const FILE_PASS: &str = "FAKEFILEPASS-LEAKCHECK-0001";
const TV_SECRET: &str = "FAKEWEBHOOK-LEAKCHECK-0001";
const REST_TOKEN: &str = "FAKERESTTOKEN-LEAKCHECK-0001";
const READ_TOKEN: &str = "FAKEREADTOKEN-LEAKCHECK-0001";
const CONTROL_TOKEN: &str = "FAKECONTROLTOKEN-LEAKCHECK-0001";
/// Wrong guesses are secrets too: a mistyped real token must not be echoed.
const WRONG: &str = "FAKEWRONG-LEAKCHECK-0001";
const DB_PASS: &str = "FAKEDBPASS-LEAKCHECK-0001";
const NATS_PASS: &str = "FAKENATSPASS-LEAKCHECK-0001";
const NATS_TOKEN: &str = "FAKENATSTOKEN-LEAKCHECK-0001";
/// The Telegram bot token and a notification webhook URL's token part (both channels point at
/// a closed port, so their failures are logged).
const BOT_TOKEN: &str = "123456:FAKEBOTTOKEN-LEAKCHECK-0001";
const HOOK_TOKEN: &str = "FAKEHOOKTOKEN-LEAKCHECK-0001";

const ALL: &[&str] = &[
    KEY,
    SECRET,
    VENUE_PASS,
    FILE_PASS,
    TV_SECRET,
    REST_TOKEN,
    READ_TOKEN,
    CONTROL_TOKEN,
    WRONG,
    DB_PASS,
    NATS_PASS,
    NATS_TOKEN,
    BOT_TOKEN,
    HOOK_TOKEN,
];

/// Every secret that occurs in `haystack`.
fn leaks(haystack: &[u8]) -> Vec<&'static str> {
    let text = String::from_utf8_lossy(haystack);
    ALL.iter().copied().filter(|s| text.contains(s)).collect()
}

fn assert_clean(what: &str, haystack: &[u8]) {
    let found = leaks(haystack);
    assert!(
        found.is_empty(),
        "{what} contains {found:?}:\n{}",
        String::from_utf8_lossy(haystack)
    );
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn config(port: u16, sim: &str, credentials: &str) -> String {
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

[[accounts]]
name = "sim"
venue = "bybit"
mode = "testnet"
base_url = "{sim}"
credentials = "{credentials}"

[sources.tv]
type = "tradingview"

[sources.tv.settings]
secret_env = "TE_LEAK_TV_SECRET"

[sources.ops]
type = "rest"

[sources.ops.settings]
token_env = "TE_LEAK_REST_TOKEN"

[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = {{ tv = 0.5, ops = 0.5 }}

[api]
read_token_env = "TE_LEAK_READ_TOKEN"
control_token_env = "TE_LEAK_CONTROL_TOKEN"

[notifications.telegram]
chat_ids = [1]
bot_token_env = "TE_LEAK_BOT_TOKEN"
api_url = "http://127.0.0.1:9"
poll_timeout_secs = 1

[notifications.webhook]
url_env = "TE_LEAK_HOOK_URL"
"#
    )
}

fn engine_command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(["--config", "tradeengine.toml", "--log-format", "json"])
        .args(args)
        .current_dir(dir)
        .env("TRADEENGINE_LOG", "trace")
        .env("TRADEENGINE_CREDENTIALS_PASSPHRASE", FILE_PASS)
        .env("TE_LEAK_TV_SECRET", TV_SECRET)
        .env("TE_LEAK_REST_TOKEN", REST_TOKEN)
        .env("TE_LEAK_READ_TOKEN", READ_TOKEN)
        .env("TE_LEAK_CONTROL_TOKEN", CONTROL_TOKEN)
        .env("TE_LEAK_BOT_TOKEN", BOT_TOKEN)
        .env(
            "TE_LEAK_HOOK_URL",
            format!("http://127.0.0.1:9/services/{HOOK_TOKEN}"),
        )
        .stdin(Stdio::null());
    c
}

/// Writes the exchange keys into `dir/creds.age` through the CLI, checking its output.
fn store_keys(dir: &Path) {
    let out = Command::new(BIN)
        .args([
            "credentials",
            "set",
            "--account",
            "sim",
            "--file",
            "creds.age",
        ])
        .args(["--from-env", "TE_LEAK", "--work-factor", "10"])
        .current_dir(dir)
        .env("TRADEENGINE_CREDENTIALS_PASSPHRASE", FILE_PASS)
        .env("TE_LEAK_API_KEY", KEY)
        .env("TE_LEAK_API_SECRET", SECRET)
        .env("TE_LEAK_API_PASSPHRASE", VENUE_PASS)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_clean("credentials set stdout", &out.stdout);
    assert_clean("credentials set stderr", &out.stderr);
}

async fn sim(key: &str, withdrawals: bool) -> SimHandle {
    let mut o = SimOptions::new(VenueId::Bybit);
    o.api_key = key.into();
    o.api_secret = SECRET.into();
    o.withdrawals_enabled = withdrawals;
    serve(VenueId::Bybit, "127.0.0.1:0".parse().unwrap(), o)
        .await
        .unwrap()
}

/// One raw HTTP/1.1 exchange; the whole answer (status line, headers, body).
fn http(port: u16, method: &str, path: &str, token: Option<&str>, body: &str) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let _ = write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text
}

fn status(answer: &str) -> u16 {
    answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out waiting for {what}");
}

/// Every request the API serves, each with no token, a wrong token, the read and the control
/// token; bodies carrying secrets where a body is read. Returns every answer, concatenated.
fn call_everything(port: u16) -> String {
    let mut answers = String::new();
    let gets = [
        "/health",
        "/ready",
        "/metrics",
        "/",
        "/api/v1/status",
        "/api/v1/accounts",
        "/api/v1/positions",
        "/api/v1/symbols",
        "/api/v1/signals",
        "/api/v1/orders",
        "/api/v1/fills",
        "/api/v1/equity",
        "/api/v1/audit",
        "/account",
        "/price/BTCUSDT",
    ];
    let tokens = [
        None,
        Some(WRONG),
        Some(READ_TOKEN),
        Some(CONTROL_TOKEN),
        Some(REST_TOKEN),
    ];
    for path in gets {
        for t in tokens {
            answers.push_str(&http(port, "GET", path, t, ""));
        }
    }
    let canonical = format!(
        r#"{{"v":1,"id":"leak-1","symbol":"BTCUSDT","mode":"target","target":{{"side":"long","exposure":0.2,"unit":"equity_fraction"}},"note":"{WRONG}"}}"#
    );
    let bodies = [
        ("POST", "/api/v1/signals", canonical.clone()),
        ("POST", "/api/v1/signals", format!(r#"{{"token":"{WRONG}""#)),
        (
            "POST",
            "/trade",
            format!(r#"{{"signals":[{{"secret":"{WRONG}"}}]}}"#),
        ),
        ("DELETE", "/order/BTCUSDT/nope", String::new()),
        (
            "POST",
            "/api/v1/kill",
            r#"{"reason":"leak check"}"#.to_string(),
        ),
        ("DELETE", "/api/v1/kill", String::new()),
    ];
    for (method, path, body) in &bodies {
        for t in tokens {
            answers.push_str(&http(port, method, path, t, body));
        }
    }
    // Webhooks: right secret, wrong secret, a secret in a malformed body, no secret.
    for body in [
        format!(
            r#"{{"secret":"{TV_SECRET}","symbol":"BTCUSDT","direction":"long","action":"buy","size":"0.2"}}"#
        ),
        format!(
            r#"{{"secret":"{WRONG}","symbol":"BTCUSDT","direction":"long","action":"buy","size":"0.2"}}"#
        ),
        format!(r#"{{"secret":"{TV_SECRET}","symbol":"#),
        format!(r#"{{"secret":"{TV_SECRET}","symbol":"NOPE","direction":"sideways"}}"#),
        r#"{"symbol":"BTCUSDT","direction":"long"}"#.to_string(),
    ] {
        answers.push_str(&http(port, "POST", "/webhook/tv", None, &body));
        answers.push_str(&http(port, "POST", "/webhook/nope", None, &body));
    }
    answers
}

/// `SELECT` of every column of every table of the SQLite store, as text.
async fn dump_database(path: &Path) -> String {
    use sqlx::Row;
    let url = format!("sqlite://{}?mode=ro", path.display());
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert!(tables.len() >= 5, "tables: {tables:?}");
    let mut dump = String::new();
    for t in tables {
        let cols: Vec<String> = // Table and column names come from sqlite_master: the test's own store.
        sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA table_info(\"{t}\")")))
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>("name"))
            .collect();
        for c in cols {
            // As bytes: blob columns need not be UTF-8.
            let values: Vec<Option<Vec<u8>>> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT CAST(\"{c}\" AS BLOB) FROM \"{t}\""
            )))
            .fetch_all(&mut conn)
            .await
            .unwrap();
            for v in values.into_iter().flatten() {
                dump.push_str(&format!("{t}.{c}: {}\n", String::from_utf8_lossy(&v)));
            }
        }
    }
    dump
}

/// Every byte of every file under `dir`.
fn read_tree(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            read_tree(&p, out);
        } else {
            out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
}

fn finish(mut child: Child) {
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-INT", &pid]).status();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(40) {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the engine did not stop on SIGINT");
}

fn run_to_exit(dir: &Path) -> Output {
    engine_command(dir, &["run"]).output().unwrap()
}

// One scenario whose steps build on each other's state, so it stays one sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_logs_api_or_database() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    store_keys(d);
    let creds = "file:creds.age";

    // 1. The venue rejects the key (the simulator knows another one).
    let other = sim("sim-some-other-key", false).await;
    std::fs::write(
        d.join("tradeengine.toml"),
        config(free_port(), &other.base_url(), creds),
    )
    .unwrap();
    let out = run_to_exit(d);
    assert!(!out.status.success(), "a rejected key must stop the start");
    assert_clean("rejected-key stdout", &out.stdout);
    assert_clean("rejected-key stderr", &out.stderr);

    // 2. The key can withdraw: refused, and the refusal names no secret.
    let withdraw = sim(KEY, true).await;
    std::fs::write(
        d.join("tradeengine.toml"),
        config(free_port(), &withdraw.base_url(), creds),
    )
    .unwrap();
    let out = run_to_exit(d);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("withdrawal permission"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_clean("withdrawal-key stderr", &out.stderr);

    // 3. Wrong configurations: a pasted key, a pasted secret on a line TOML cannot parse, an
    //    unknown key holding a secret.
    let venue = sim(KEY, false).await;
    let port = free_port();
    let good = config(port, &venue.base_url(), creds);
    for broken in [
        good.replace(creds, KEY),
        good.replace(&format!("\"{creds}\""), SECRET),
        good.replace(
            "venue = \"bybit\"",
            &format!("venue = \"bybit\"\napi_secret = \"{SECRET}\""),
        ),
    ] {
        std::fs::write(d.join("tradeengine.toml"), broken).unwrap();
        for args in [&["run"][..], &["config", "check"], &["config", "show"]] {
            let out = engine_command(d, args).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
            assert_clean("config error stdout", &out.stdout);
            assert_clean("config error stderr", &out.stderr);
        }
    }

    // 4. A full run: paper + the simulator, every endpoint, a trade on the simulator.
    std::fs::write(d.join("tradeengine.toml"), &good).unwrap();
    let log_path = d.join("engine.log");
    let child = engine_command(d, &["run"])
        .stdout(Stdio::from(File::create(d.join("engine.out")).unwrap()))
        .stderr(Stdio::from(File::create(&log_path).unwrap()))
        .spawn()
        .unwrap();
    wait_until("the API", Duration::from_secs(60), || {
        status(&http(port, "GET", "/health", None, "")) == 200
    });
    wait_until("every account reconciled", Duration::from_secs(60), || {
        status(&http(port, "GET", "/ready", None, "")) == 200
    });
    let mut answers = call_everything(port);
    // The canonical target and the webhook move the simulator's BTCUSDT position.
    let traded = {
        let start = Instant::now();
        loop {
            if venue.position("BTCUSDT") > Decimal::ZERO {
                break true;
            }
            if start.elapsed() > Duration::from_secs(30) {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    answers.push_str(&call_everything(port));
    finish(child);
    assert!(traded, "no order reached the simulator");
    assert_eq!(
        status(&http(port, "GET", "/health", None, "")),
        0,
        "the engine is still serving"
    );

    for expected in ["HTTP/1.1 200", "HTTP/1.1 401", "HTTP/1.1 403"] {
        assert!(
            answers.contains(expected),
            "no {expected} among the answers"
        );
    }
    assert_clean("API answers", answers.as_bytes());
    let log = std::fs::read(&log_path).unwrap();
    assert!(
        String::from_utf8_lossy(&log).lines().count() > 50,
        "the log should have captured the run at trace level"
    );
    assert_clean("engine log", &log);
    assert_clean(
        "engine stdout",
        &std::fs::read(d.join("engine.out")).unwrap(),
    );

    let db = std::fs::read_dir(d.join("data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "sqlite"))
        .unwrap_or_else(|| panic!("no SQLite store in the data dir"));
    let dump = dump_database(&db).await;
    assert!(dump.contains("orders."), "the dump should hold orders");
    assert_clean("database dump", dump.as_bytes());

    let mut files = Vec::new();
    read_tree(&d.join("data"), &mut files);
    files.push((
        "creds.age".into(),
        std::fs::read(d.join("creds.age")).unwrap(),
    ));
    for (name, bytes) in files {
        assert_clean(&name, &bytes);
    }
}

/// `config show` (database password from the environment, `secret = "…"` in the
/// file, NATS URL credentials) and a NATS source reconnecting to a server that is not there
/// (a warning per attempt, the client library's own lines at trace) name no secret.
#[test]
fn config_show_and_nats_reconnects_name_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (port, closed) = (free_port(), free_port());
    std::fs::write(
        d.join("tradeengine.toml"),
        format!(
            r#"
[engine]
data_dir = "data"
bind = "127.0.0.1:{port}"
hot_reload = false
[[accounts]]
name = "paper"
venue = "paper"
[sources.tv]
type = "tradingview"
[sources.tv.settings]
secret = "{TV_SECRET}"
[sources.bus]
type = "nats"
[sources.bus.settings]
url = "nats://natsuser:{NATS_PASS}@127.0.0.1:{closed},nats://{NATS_TOKEN}@127.0.0.1:{closed}"
[[symbols]]
symbol = "BTCUSDT"
weights = {{ tv = 0.5, bus = 0.5 }}
"#
        ),
    )
    .unwrap();
    let db_url = format!("postgres://te:{DB_PASS}@127.0.0.1:1/te");
    for args in [&["config", "show"][..], &["config", "check"]] {
        let out = engine_command(d, args)
            .env("TRADEENGINE_ENGINE__DATABASE_URL", &db_url)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert_clean("config output", &out.stdout);
        assert_clean("config stderr", &out.stderr);
        if args[1] == "show" {
            let shown = String::from_utf8_lossy(&out.stdout);
            assert!(
                shown.contains("postgres://te:***@127.0.0.1:1/te"),
                "{shown}"
            );
            assert!(shown.contains("nats://natsuser:***@127.0.0.1"), "{shown}");
        }
    }

    let log_path = d.join("engine.log");
    let child = engine_command(d, &["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::from(File::create(&log_path).unwrap()))
        .spawn()
        .unwrap();
    let reconnects = || {
        std::fs::read_to_string(&log_path)
            .unwrap_or_default()
            .matches("reconnecting")
            .count()
    };
    wait_until(
        "two NATS reconnect warnings",
        Duration::from_secs(30),
        || reconnects() >= 2,
    );
    finish(child);
    assert_clean("engine log", &std::fs::read(&log_path).unwrap());
}
