#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The real binary and the store: a second `run` in the same folder, or on the same SQLite
//! database from another folder, exits 2 naming the engine that holds it; read-only commands never create or damage a database; `audit verify`
//! prints the head, checks `--expect-head` and the engine's anchor, so deleting the newest
//! events fails it; the data dir and its files are private.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");

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

[sources.demo]
type = "demo"

[sources.demo.settings]
seed = 11
interval_secs = 1
max_steps = 3

[[symbols]]
symbol = "BTCUSDT"
leverage = 3
weights = {{ demo = 1.0 }}
"#
    )
}

fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["--config", "tradeengine.toml"])
        .args(args)
        .current_dir(dir)
        .env("TRADEENGINE_LOG", "warn")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn health(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if write!(
        s,
        "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .is_err()
    {
        return false;
    }
    let mut t = String::new();
    s.read_to_string(&mut t).is_ok() && t.starts_with("HTTP/1.1 200")
}

struct Engine(Child);

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(dir: &Path, bind: Option<u16>) -> Command {
    let mut c = Command::new(BIN);
    c.args(["--config", "tradeengine.toml", "run"]);
    if let Some(port) = bind {
        c.args(["--bind", &format!("127.0.0.1:{port}")]);
    }
    c.current_dir(dir).env("TRADEENGINE_LOG", "warn");
    c
}

/// `run` in `dir` (output discarded), once its `/health` answers on `port`.
fn start_engine(dir: &Path, port: u16) -> Engine {
    let engine = Engine(
        run(dir, None)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while !health(port) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "engine never came up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    engine
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_second_engine_in_the_same_folder_exits_2_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(dir.path().join("tradeengine.toml"), config(port)).unwrap();
    let first = start_engine(dir.path(), port);
    let second = run(dir.path(), Some(free_port())).output().unwrap();
    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    let said = text(&second);
    assert!(said.contains("another engine already runs"), "{said}");
    assert!(said.contains(&format!("pid {}", first.0.id())), "{said}");

    // 15.11: the data dir and everything the engine wrote in it are private.
    let data = dir.path().join("data");
    assert_eq!(mode(&data), 0o700);
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }
    // A read-only command works alongside the running engine.
    let orders = cli(dir.path(), &["orders", "--json"]);
    assert!(orders.status.success(), "{}", text(&orders));
}

/// Two engines with different data dirs given the same SQLite database file: the second exits
/// 2 naming the first, as for the same folder (each would read the other's orders as its own).
#[test]
fn a_second_engine_on_the_same_database_file_exits_2_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(dir.path().join("tradeengine.toml"), config(port)).unwrap();
    let first = start_engine(dir.path(), port);
    let database = dir.path().join("data").join("tradeengine.sqlite");
    let url = format!("sqlite://{}", database.display());
    let mut second = Engine(
        run(dir.path(), Some(free_port()))
            .args(["--data-dir", "other", "--database-url", &url])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // A second engine that starts runs until stopped: wait for its exit, bounded.
    let start = Instant::now();
    while second.0.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the second engine started on the same database"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut said = String::new();
    let out = second.0.stdout.take().unwrap();
    let err = second.0.stderr.take().unwrap();
    for mut pipe in [Box::new(out) as Box<dyn Read>, Box::new(err)] {
        pipe.read_to_string(&mut said).unwrap();
    }
    let status = second.0.wait().unwrap();
    assert_eq!(status.code(), Some(2), "{said}");
    assert!(said.contains("another engine already runs"), "{said}");
    assert!(said.contains("database"), "{said}");
    assert!(said.contains(&format!("pid {}", first.0.id())), "{said}");
}

#[test]
fn read_only_commands_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tradeengine.toml"), config(free_port())).unwrap();
    for args in [
        &["orders"][..],
        &["positions"][..],
        &["signals"][..],
        &["audit", "verify"][..],
    ] {
        let out = cli(dir.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("no database at"),
            "{args:?}: {}",
            text(&out)
        );
    }
    assert!(
        !dir.path().join("data").exists(),
        "a read-only command created the data dir"
    );
}

/// The database file moved away from an engine's data dir (here after a crash): `status`, `kill`, `risk` and
/// `positions` exit 2 naming the missing database, and neither create a new one nor touch the
/// write-ahead log beside it (creating one there reset the log: the engine's newest orders and
/// audit events were lost for good, and `kill` engaged a switch in a store no engine used).
#[test]
fn control_commands_never_create_a_database_beside_a_lost_one() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(dir.path().join("tradeengine.toml"), config(port)).unwrap();
    let engine = start_engine(dir.path(), port);
    let data = dir.path().join("data");
    let db = data.join("tradeengine.sqlite");
    let wal = data.join("tradeengine.sqlite-wal");
    // Killed (as a crash would), so that nothing but the commands below can touch the log.
    drop(engine);
    std::fs::rename(&db, dir.path().join("aside.sqlite")).unwrap();
    let wal_before = std::fs::read(&wal).unwrap();
    assert!(
        !wal_before.is_empty(),
        "the engine's commits are in the log"
    );
    for args in [
        &["status"][..],
        &["kill", "--reason", "test"][..],
        &["risk", "reset", "--account", "paper"][..],
        &[
            "positions",
            "adopt",
            "--account",
            "paper",
            "--symbol",
            "BTCUSDT",
        ][..],
    ] {
        let out = cli(dir.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("no database at"),
            "{args:?}: {}",
            text(&out)
        );
        assert!(!db.exists(), "{args:?} created a database");
    }
    let wal_after = std::fs::read(&wal).unwrap_or_default();
    assert!(
        wal_after == wal_before,
        "the write-ahead log was touched: {} bytes before, {} after",
        wal_before.len(),
        wal_after.len()
    );
}

/// A `run` that fails to start (here a webhook secret variable that is not set) leaves no
/// data dir behind when it made it: an empty store there was later taken for an engine's.
#[test]
fn a_run_that_fails_to_start_leaves_no_data_dir_it_made() {
    let dir = tempfile::tempdir().unwrap();
    let toml = config(free_port()).replace(
        "[sources.demo]",
        "[sources.tv]\ntype = \"tradingview\"\n[sources.tv.settings]\nsecret_env = \"TE_TEST_SECRET_NOT_SET\"\n\n[sources.demo]",
    );
    std::fs::write(dir.path().join("tradeengine.toml"), toml).unwrap();
    let out = run(dir.path(), Some(free_port()))
        .env_remove("TE_TEST_SECRET_NOT_SET")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("TE_TEST_SECRET_NOT_SET"),
        "{}",
        text(&out)
    );
    assert!(
        !dir.path().join("data").exists(),
        "the failed run left its data dir"
    );
}

/// `status` shows the mode the running engine runs in, not the one the file was edited to
/// since: a file edited to dry-run while the engine still trades read "nothing sent".
#[test]
fn status_shows_the_running_engines_mode_after_the_file_changed() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let file = dir.path().join("tradeengine.toml");
    std::fs::write(&file, config(port)).unwrap();
    let _engine = start_engine(dir.path(), port);
    let edited = config(port).replace("mode = \"paper\"", "mode = \"dry-run\"");
    assert_ne!(edited, config(port));
    std::fs::write(&file, edited).unwrap();
    let out = cli(dir.path(), &["status"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("(mode paper)"), "{said}");
    assert!(
        said.contains("WARNING: the running engine runs in mode paper; the configuration file now says dry-run"),
        "{said}"
    );
}

/// `status --data-dir` without the engine's configuration names the accounts the store's engine
/// trades that the configuration used (here the embedded demo's) does not have: it showed the
/// demo's account with "positions: none" while the engine's own account held positions.
#[test]
fn status_without_the_engines_configuration_names_the_accounts_it_cannot_show() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let toml = config(port).replace("name = \"paper\"", "name = \"mine\"");
    std::fs::write(dir.path().join("tradeengine.toml"), toml).unwrap();
    let _engine = start_engine(dir.path(), port);
    let elsewhere = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = Command::new(BIN)
        .args(["--data-dir", data.to_str().unwrap(), "status"])
        .current_dir(elsewhere.path())
        .env("TRADEENGINE_LOG", "warn")
        .output()
        .unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("WARNING: the engine on this store trades account(s) mine"),
        "{said}"
    );
}

#[test]
fn audit_verify_prints_the_head_and_detects_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(dir.path().join("tradeengine.toml"), config(port)).unwrap();
    // A short run: the demo source sends a few signals, the engine stops cleanly on SIGTERM
    // (here: kill after the signals, then the anchor is what the periodic writer left).
    let mut engine = run(dir.path(), None)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let anchor = dir.path().join("data").join("audit-anchor.json");
    let start = Instant::now();
    while !anchor.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no anchor written"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &engine.id().to_string()])
        .status();
    let _ = engine.wait();

    let ok = cli(dir.path(), &["audit", "verify"]);
    assert!(ok.status.success(), "{}", text(&ok));
    let said = text(&ok);
    assert!(said.contains("matches the engine's anchor"), "{said}");
    let head = said
        .lines()
        .find_map(|l| l.strip_prefix("audit head: "))
        .unwrap()
        .trim()
        .to_string();
    let (seq, _) = head.split_once(':').unwrap();
    let seq: i64 = seq.parse().unwrap();
    assert!(seq > 1, "{head}");
    let expect = cli(dir.path(), &["audit", "verify", "--expect-head", &head]);
    assert!(expect.status.success(), "{}", text(&expect));

    // Delete the newest event behind the engine's back.
    let db = dir.path().join("data").join("tradeengine.sqlite");
    let status = Command::new("sqlite3")
        .arg(&db)
        .arg("DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events);")
        .status();
    if !status.is_ok_and(|s| s.success()) {
        // No sqlite3 CLI here: delete through the store's own driver instead.
        delete_newest(&db);
    }
    let plain = cli(dir.path(), &["audit", "verify"]);
    assert_eq!(plain.status.code(), Some(1), "{}", text(&plain));
    assert!(text(&plain).contains("deleted"), "{}", text(&plain));
    let expected = cli(
        dir.path(),
        &["audit", "verify", "--no-anchor", "--expect-head", &head],
    );
    assert_eq!(expected.status.code(), Some(1), "{}", text(&expected));
    // Without any kept head the truncated chain verifies, and the output says what that means.
    let blind = cli(dir.path(), &["audit", "verify", "--no-anchor"]);
    assert!(blind.status.success(), "{}", text(&blind));
    assert!(
        text(&blind).contains("cannot be detected"),
        "{}",
        text(&blind)
    );
}

fn delete_newest(db: &Path) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query("DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
}
