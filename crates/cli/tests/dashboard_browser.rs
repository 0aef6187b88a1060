#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The dashboard in a real headless Chromium against the running paper demo: after its scripts
//! run, the page shows the demo's account, its positions with targets, the per-source
//! contributions and the equity chart's label. Skips (loudly) without Chromium on a laptop;
//! fails under CI=true, where `.ci/run` installs it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tradeengine");

fn chromium() -> Option<&'static str> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

#[test]
fn dashboard_renders_the_demo() {
    let Some(browser) = chromium() else {
        if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0") {
            panic!("Chromium is required in CI (apt-get install chromium)");
        }
        eprintln!(
            "\n*** SKIPPING dashboard browser test: no Chromium (apt-get install chromium) ***\n"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BIN)
        .args(["run", "--bind", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .env("TRADEENGINE_LOG", "warn")
        .env("TRADEENGINE_READ_TOKEN", "dash-read-token-not-real")
        .env("TRADEENGINE_CONTROL_TOKEN", "dash-control-token-not-real")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the demo's first fill, so there is something to show.
    let start = Instant::now();
    loop {
        let out = Command::new(BIN)
            .args(["orders", "--json", "--state", "filled"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout).contains("client_order_id") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no demo fill within 30 s"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let url = format!("http://127.0.0.1:{port}/#token=dash-read-token-not-real");
    let profile = dir.path().join("chrome-profile");
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.display()),
            "--virtual-time-budget=8000",
            "--dump-dom",
            &url,
        ])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("PAPER"), "mode badge");
    assert!(dom.contains("<td>paper</td>"), "the account row: {dom}");
    assert!(
        dom.contains("BTCUSDT") && dom.contains("ETHUSDT"),
        "positions and contributions"
    );
    assert!(
        dom.contains("= blended"),
        "per-source contributions rendered"
    );
    assert!(dom.contains("USDT ("), "equity chart label rendered");
    assert!(
        !dom.contains("bearer token is required"),
        "the token from the URL fragment was used"
    );
}
