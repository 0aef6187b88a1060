#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! `tradeengine signals --refused`: the refusals in the store, newest first, with the reason
//! label, the reason and the (redacted, bounded) body; `--source` filters, `--json` gives the
//! rows whole. Read-only, like `signals`.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");

const CONFIG: &str = r#"
[engine]
mode = "paper"
data_dir = "data"
hot_reload = false

[[accounts]]
name = "paper"
venue = "paper"

[sources.tradingview]
type = "tradingview"

[sources.tradingview.settings]
secret_env = "TE_TEST_TV_SECRET"

[[symbols]]
symbol = "BTCUSDT"
leverage = 3
weights = { tradingview = 1.0 }
"#;

fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["--config", "tradeengine.toml"])
        .args(args)
        .current_dir(dir)
        .env("TRADEENGINE_LOG", "warn")
        .env("TE_TEST_TV_SECRET", "not-a-real-secret-0003")
        .output()
        .unwrap()
}

// One scenario whose steps build on each other's state, so it stays one sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_refused_lists_what_was_refused_and_why() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tradeengine.toml"), CONFIG).unwrap();
    // No database yet: refused, and none created, as for `signals`.
    let none = cli(dir.path(), &["signals", "--refused"]);
    assert!(!none.status.success());
    assert!(
        !dir.path()
            .join("data")
            .join(tradeengine_store::SQLITE_FILE_NAME)
            .exists()
    );

    let store = tradeengine_store::open_sqlite_in(&dir.path().join("data"))
        .await
        .unwrap();
    let at = |s: i64| chrono::DateTime::from_timestamp(1_780_000_000 + s, 0).unwrap();
    let detail = serde_json::json!({"status": 422});
    for (i, (source, code, reason, body)) in [
        (
            "tradingview",
            "leverage_cap",
            "leverage 100 exceeds the cap of 20",
            r#"{"leverage":"100","passphrase":"[redacted]"}"#,
        ),
        ("rest", "auth", "invalid token", "{}"),
        (
            "tradingview",
            "malformed",
            "body is not valid JSON: EOF",
            "{\"size\": \n",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let r = tradeengine_store::NewRefusal {
            source,
            idempotency_key: None,
            code,
            reason,
            detail: &detail,
            body: Some(body),
            audit: false,
            at: at(i as i64),
        };
        store.record_refused_signal(&r).await.unwrap();
    }
    drop(store);

    let out = cli(dir.path(), &["signals", "--refused"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "a header and three rows:\n{text}");
    assert!(
        lines[0].contains("source") && lines[0].contains("code") && lines[0].contains("reason")
    );
    assert!(lines[1].contains("malformed"), "newest first:\n{text}");
    assert!(!lines[1].contains('\n'), "bodies print on one line");
    assert!(
        lines[2].contains("rest")
            && lines[2].contains("auth")
            && lines[2].contains("invalid token")
    );
    assert!(lines[3].contains("leverage_cap") && lines[3].contains("exceeds the cap of 20"));
    assert!(lines[3].contains(r#""leverage":"100""#), "{text}");

    let out = cli(
        dir.path(),
        &["signals", "--refused", "--source", "rest", "--json"],
    );
    assert!(out.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["code"], "auth");
    assert_eq!(rows[0]["body"], "{}");

    // `--source` only makes sense with `--refused`.
    let out = cli(dir.path(), &["signals", "--source", "rest"]);
    assert!(!out.status.success());
}
