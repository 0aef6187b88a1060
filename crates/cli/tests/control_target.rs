#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The CLI reaches the engine it means and the API is closed by default.
//!
//! The real binary runs an engine from one folder with a configuration whose paths are
//! relative; every other command runs from *another* folder. A control command that finds no
//! configuration and no data dir fails with exit code 2 and creates nothing; given the
//! configuration it acts on the engine's data dir (not the shell's), names it, and reports that
//! the running engine acknowledged. `status` shows the switch; `kill --release` previews and
//! refuses without a terminal or `--yes`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tradeengine_engine::killswitch;
use tradeengine_store::AuditKind;

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");
const READ: &str = "fake-read-token-control-target-01";
const CONTROL: &str = "fake-control-token-control-target-01";

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A paper engine; every path relative (to the file's folder). `[api]` names no variable, as
/// `config import` writes it.
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

[accounts.paper]
starting_balance = 10000

[[symbols]]
symbol = "BTCUSDT"

[api]
"#
    )
}

/// The binary in `cwd`, with no inherited configuration or token variables.
fn cli(cwd: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .current_dir(cwd)
        .env_remove("TRADEENGINE_CONFIG")
        .env_remove("TRADEENGINE_READ_TOKEN")
        .env_remove("TRADEENGINE_CONTROL_TOKEN")
        .stdin(Stdio::null());
    c
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn http(port: u16, method: &str, path: &str, token: Option<&str>) -> u16 {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let _ = write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0)
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// Starts `cmd` with its stderr in `log` (a file: a pipe nobody reads could fill and block it).
fn spawn(mut cmd: Command, log: &Path) -> Child {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
        .spawn()
        .unwrap()
}

/// Stops the engine this test started (SIGTERM by its pid) and returns its stderr.
fn stop(mut child: Child, log: &Path) -> String {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.wait();
    std::fs::read_to_string(log).unwrap_or_default()
}

#[test]
fn a_control_command_without_configuration_or_data_dir_fails_and_creates_nothing() {
    let elsewhere = tempfile::tempdir().unwrap();
    for args in [
        &["kill", "--flatten"][..],
        &["kill", "--release", "--yes"],
        &["risk", "reset", "--account", "paper"],
        &["status"],
    ] {
        let out = cli(elsewhere.path(), args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("nothing to"),
            "{args:?}: {}",
            text(&out)
        );
        assert!(!text(&out).contains("ENGAGED"), "{}", text(&out));
    }
    assert_eq!(
        std::fs::read_dir(elsewhere.path()).unwrap().count(),
        0,
        "a command other than run created something"
    );

    // A configuration whose data dir does not exist yet: refused, and still nothing created.
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("tradeengine.toml"), config(free_port())).unwrap();
    let cfg = home.path().join("tradeengine.toml");
    let out = cli(
        elsewhere.path(),
        &["--config", cfg.to_str().unwrap(), "kill"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(&home.path().join("data").display().to_string()),
        "the message names the data dir it looked for: {}",
        text(&out)
    );
    assert!(!home.path().join("data").exists());
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);

    // `--data-dir` named the folder: the message does not blame the file for it.
    let out = cli(
        elsewhere.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--data-dir",
            "nosuch",
            "kill",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("nosuch"), "{}", text(&out));
    assert!(
        !text(&out).contains("names does not exist"),
        "{}",
        text(&out)
    );
}

// One scenario whose steps build on each other's state, so it stays one sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_from_another_folder_reach_the_running_engine() {
    let home = tempfile::tempdir().unwrap();
    let shell = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = home.path().join("tradeengine.toml");
    std::fs::write(&cfg, config(port)).unwrap();
    let cfg = cfg.to_str().unwrap().to_string();

    // The engine starts from `shell`, with no token variable set.
    let log = home.path().join("engine.log");
    let engine = spawn(cli(shell.path(), &["--config", &cfg, "run"]), &log);
    wait_until("the engine", || http(port, "GET", "/health", None) == 200);
    assert!(
        home.path().join("data/tradeengine.sqlite").exists(),
        "the data dir follows the configuration file"
    );
    assert_eq!(std::fs::read_dir(shell.path()).unwrap().count(), 0);
    // 14.7: `[api]` without names means the default variables, which are not set: the API is
    // closed, on loopback too.
    assert_eq!(http(port, "GET", "/api/v1/positions", None), 401);
    assert_eq!(http(port, "GET", "/api/v1/status", Some("guess")), 401);

    // kill from a third folder, the configuration named by the variable `run` also reads.
    let out = cli(
        elsewhere.path(),
        &["kill", "--flatten", "--reason", "drill"],
    )
    .env("TRADEENGINE_CONFIG", &cfg)
    .output()
    .unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("ENGAGED"), "{said}");
    assert!(
        said.contains(&format!(
            "acted on: data dir {}",
            home.path().join("data").display()
        )),
        "{said}"
    );
    assert!(
        said.contains("a running engine (pid") && said.contains("acknowledged"),
        "{said}"
    );
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);

    let out = cli(elsewhere.path(), &["--config", &cfg, "status"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("kill switch: ENGAGED: FLATTEN every account"),
        "{}",
        text(&out)
    );

    // Release: a preview, then a refusal without a terminal or --yes; the switch stays.
    let out = cli(elsewhere.path(), &["--config", &cfg, "kill", "--release"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("release preview"), "{}", text(&out));
    assert!(text(&out).contains("--yes"), "{}", text(&out));
    let out = cli(elsewhere.path(), &["--config", &cfg, "status"])
        .output()
        .unwrap();
    assert!(
        text(&out).contains("kill switch: ENGAGED"),
        "{}",
        text(&out)
    );

    let out = cli(
        elsewhere.path(),
        &["--config", &cfg, "kill", "--release", "--yes"],
    )
    .output()
    .unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("kill switch released"), "{said}");
    assert!(said.contains("acknowledged the release"), "{said}");

    let out = cli(
        elsewhere.path(),
        &["--config", &cfg, "risk", "reset", "--account", "paper"],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("acted on: data dir"), "{}", text(&out));

    let banner = stop(engine, &log);
    assert!(
        banner.contains(
            "API tokens: read TRADEENGINE_READ_TOKEN NOT SET (refused), control TRADEENGINE_CONTROL_TOKEN NOT SET (refused)"
        ),
        "{banner}"
    );

    // What the store holds: the switch engaged (flatten, every account) then released.
    let store = tradeengine_store::open_sqlite_in(&home.path().join("data"))
        .await
        .unwrap();
    assert_eq!(killswitch::read_stored(&*store).await.unwrap(), None);
    let events = store.audit_events(0, 1000).await.unwrap();
    let kills: Vec<_> = events
        .iter()
        .filter(|e| e.kind == AuditKind::KillSwitch)
        .collect();
    assert_eq!(kills.len(), 2, "{kills:?}");
    assert_eq!(
        kills[0].payload["engaged"]["action"],
        serde_json::json!("flatten")
    );
    assert!(kills[1].payload.get("released").is_some());
}

#[test]
fn default_api_tokens_apply_when_the_api_table_names_none() {
    let home = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(home.path().join("tradeengine.toml"), config(port)).unwrap();
    let log = home.path().join("engine.log");
    let mut cmd = cli(home.path(), &["run"]);
    cmd.env("TRADEENGINE_READ_TOKEN", READ)
        .env("TRADEENGINE_CONTROL_TOKEN", CONTROL);
    let engine = spawn(cmd, &log);
    wait_until("the engine", || http(port, "GET", "/health", None) == 200);
    let answers = [
        http(port, "GET", "/api/v1/positions", None),
        http(port, "GET", "/api/v1/positions", Some(READ)),
        http(port, "GET", "/api/v1/positions", Some(CONTROL)),
        http(port, "POST", "/api/v1/kill", Some(READ)),
    ];
    let banner = stop(engine, &log);
    assert_eq!(answers, [401, 200, 200, 403], "{banner}");
    assert!(
        banner
            .contains("API tokens: read TRADEENGINE_READ_TOKEN, control TRADEENGINE_CONTROL_TOKEN"),
        "{banner}"
    );
    assert!(
        !banner.contains(READ) && !banner.contains(CONTROL),
        "{banner}"
    );
}

/// A position the engine holds because nobody asked it to manage it is left alone by a release,
/// and the preview says so instead of showing a target of 0 and a close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_release_preview_shows_held_positions_as_left_alone() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("tradeengine.toml"), config(free_port())).unwrap();
    let cfg = home.path().join("tradeengine.toml");
    let store = tradeengine_store::open_sqlite_in(&home.path().join("data"))
        .await
        .unwrap();
    let account = tradeengine_model::AccountName::new("paper").unwrap();
    let eth = tradeengine_model::Symbol::new("ETHUSDT").unwrap();
    let mut held = tradeengine_model::Position::flat(eth.clone());
    held.size = tradeengine_model::Quantity::new(rust_decimal::Decimal::new(5, 1));
    store
        .record_positions(&account, &[held], chrono::Utc::now())
        .await
        .unwrap();
    store
        .put_state(
            &tradeengine_engine::worker::unknown::view_key(&account),
            &serde_json::json!({"ETHUSDT": {"status": "held", "size": "0.5"}}),
        )
        .await
        .unwrap();
    // What the worker keeps while the switch holds: the targets a release trades to, the held
    // symbol among them at 0 (as a rehearsal saw it).
    store
        .put_state(
            &killswitch::release_targets_key(&account),
            &serde_json::json!({"targets": {"ETHUSDT": "0"}, "at": chrono::Utc::now()}),
        )
        .await
        .unwrap();
    let clock = tradeengine_model::SystemClock;
    let switch = killswitch::new_switch(killswitch::KillAction::Freeze, None, "test", &clock);
    killswitch::engage(&*store, &switch).await.unwrap();
    drop(store);
    let out = cli(
        home.path(),
        &["--config", cfg.to_str().unwrap(), "kill", "--release"],
    )
    .output()
    .unwrap();
    let said = text(&out);
    assert!(said.contains("release preview"), "{said}");
    let row = said
        .lines()
        .find(|l| l.contains("ETHUSDT"))
        .unwrap_or_else(|| panic!("no ETHUSDT row: {said}"));
    assert!(row.contains("nothing (held"), "{row}");
    assert!(!row.contains("SELL"), "{row}");
}

/// A freeze the engine holds beside a stored flatten of other accounts shows in `status`, and
/// `kill --release` says it becomes a stored freeze (the release still counts as acknowledged
/// when the engine stores it at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_release_show_a_freeze_the_engine_holds_beside_the_switch() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("tradeengine.toml"), config(free_port())).unwrap();
    let cfg = home.path().join("tradeengine.toml");
    let store = tradeengine_store::open_sqlite_in(&home.path().join("data"))
        .await
        .unwrap();
    let other = tradeengine_model::AccountName::new("other").unwrap();
    let paper = tradeengine_model::AccountName::new("paper").unwrap();
    let clock = tradeengine_model::SystemClock;
    let switch = killswitch::new_switch(
        killswitch::KillAction::Flatten,
        Some(vec![other]),
        "test",
        &clock,
    );
    killswitch::engage(&*store, &switch).await.unwrap();
    let outcome = killswitch::freeze_account(
        &*store,
        &paper,
        "another trader moved BTCUSDT",
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(outcome, killswitch::FreezeOutcome::NotStored);
    drop(store);
    let out = cli(home.path(), &["--config", cfg.to_str().unwrap(), "status"])
        .output()
        .unwrap();
    let said = text(&out);
    let line = said
        .lines()
        .find(|l| l.contains("FROZEN by the engine"))
        .unwrap_or_else(|| panic!("no held freeze in status: {said}"));
    assert!(
        line.contains("paper") && line.contains("another trader moved BTCUSDT"),
        "{line}"
    );
    let out = cli(
        home.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "kill",
            "--release",
            "--yes",
        ],
    )
    .output()
    .unwrap();
    let said = text(&out);
    assert!(
        said.contains("the engine froze paper itself") && said.contains("release again"),
        "{said}"
    );
}

/// The kill file is not the stored switch: a release with a `flatten` file says the stored
/// switch was not engaged and that the file still flattens (it said "not engaged" and called
/// the file a freeze). And an engage never lifts what is engaged: a flatten of one account
/// beside a freeze of every account is refused with exit 2 and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_names_a_flatten_file_and_an_engage_never_lifts_the_switch() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("tradeengine.toml"), config(free_port())).unwrap();
    let data = home.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    drop(tradeengine_store::open_sqlite_in(&data).await.unwrap());
    std::fs::write(data.join("KILL"), "flatten\n").unwrap();
    let out = cli(home.path(), &["kill", "--release", "--yes"])
        .output()
        .unwrap();
    let said = text(&out);
    assert!(
        said.contains("stored kill switch was not engaged"),
        "{said}"
    );
    assert!(said.contains("FLATTENING"), "{said}");
    std::fs::remove_file(data.join("KILL")).unwrap();

    // Freeze every account (no engine runs: stored, not acknowledged, exit 3).
    let out = cli(home.path(), &["kill", "--reason", "first"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let out = cli(home.path(), &["kill", "--flatten", "--account", "paper"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("freezes every account"),
        "{}",
        text(&out)
    );
    let out = cli(home.path(), &["status"]).output().unwrap();
    assert!(
        text(&out).contains("FREEZE"),
        "still the freeze: {}",
        text(&out)
    );
}
