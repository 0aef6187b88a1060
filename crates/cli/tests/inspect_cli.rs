#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! `positions` and `orders` refuse an account the configuration does not name (non-zero exit,
//! the name in the message) rather than print an empty table; `status --bind ADDR` reads the
//! engine at ADDR, not at `[engine] bind`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");

fn cli(config: &std::path::Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["--config", config.to_str().unwrap()])
        .args(args)
        .env_remove("TRADEENGINE_READ_TOKEN")
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

/// A configuration with one paper account `a` whose `[engine] bind` is `bind`, its store made.
async fn setup(dir: &std::path::Path, bind: &str) -> std::path::PathBuf {
    let config = dir.join("t.toml");
    std::fs::write(
        &config,
        format!(
            "[engine]\ndata_dir = \"{}\"\nbind = \"{bind}\"\n[[accounts]]\nname = \"a\"\nvenue = \"paper\"\n",
            dir.display()
        ),
    )
    .unwrap();
    drop(tradeengine_store::open_sqlite_in(dir).await.unwrap());
    config
}

#[tokio::test]
async fn positions_and_orders_refuse_an_unknown_account() {
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), "127.0.0.1:8080").await;
    for command in ["positions", "orders"] {
        let out = cli(&config, &[command, "--account", "nosuch"]);
        assert!(!out.status.success(), "{command}: {}", text(&out));
        assert!(text(&out).contains("nosuch"), "{command}: {}", text(&out));
        // The configured account is fine.
        let out = cli(&config, &[command, "--account", "a"]);
        assert!(out.status.success(), "{command}: {}", text(&out));
    }
}

/// A stand-in engine API: `/ready` says ready, anything else 404. Serves until the test ends.
fn fake_engine() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request_line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            // Drain the headers.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let (status, body) = if request_line.starts_with("GET /ready ") {
                ("200 OK", r#"{"ready":true}"#)
            } else {
                ("404 Not Found", r#"{"error":"not here"}"#)
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

#[tokio::test]
async fn status_bind_reads_the_engine_at_that_address() {
    let dir = tempfile::tempdir().unwrap();
    // `[engine] bind` names a port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = closed.local_addr().unwrap().to_string();
    drop(closed);
    let config = setup(dir.path(), &nowhere).await;
    // The store's engine runs (status asks an API only for the engine its store says runs: an
    // engine of another store at the same address is not this one).
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    store
        .audit(
            tradeengine_store::AuditKind::EngineStarted,
            None,
            None,
            serde_json::json!({"mode": "paper", "accounts": ["a"]}),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    drop(store);
    let engine = fake_engine();

    let out = cli(&config, &["status"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !text(&out).contains("ready: yes"),
        "no engine at [engine] bind: {}",
        text(&out)
    );
    let out = cli(&config, &["status", "--bind", &engine]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("ready: yes"),
        "read the engine at --bind {engine}: {}",
        text(&out)
    );
}

/// An engine answering at `[engine] bind` while this store's engine is stopped is another
/// engine (started with another data dir): status does not show its readiness or prices as
/// this one's (red team: "ready: yes" and "prices: live" for a stopped engine).
#[tokio::test]
async fn status_of_a_stopped_engine_does_not_read_another_engine_at_its_address() {
    let dir = tempfile::tempdir().unwrap();
    let engine = fake_engine();
    let config = setup(dir.path(), &engine).await;
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let now = chrono::Utc::now();
    for kind in [
        tradeengine_store::AuditKind::EngineStarted,
        tradeengine_store::AuditKind::EngineStopped,
    ] {
        store
            .audit(kind, None, None, serde_json::json!({"mode": "paper"}), now)
            .await
            .unwrap();
    }
    drop(store);
    let out = cli(&config, &["status"]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("engine: stopped"), "{shown}");
    assert!(!shown.contains("ready: yes"), "{shown}");
    assert!(
        shown.contains("the engine using this store is not running"),
        "{shown}"
    );
}
