#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The dashboard in a real headless Chromium, driven over WebDriver (Debian's `chromedriver`),
//! against the running paper demo: the page shows the demo's account, its positions with
//! targets, the per-source contributions; its charts (the vendored Lightweight Charts) are drawn
//! and their canvas pixels change as live events arrive; the symbol's history (target, actual,
//! each source's part) starts before the page opened, from the store; P&L by source is drawn
//! over time; a TradingView alert's fill appears as a marker on the price chart without a
//! reload, and the depth, position and P&L charts are redrawn with it; the page fits a phone's
//! width. Screenshots at
//! desktop and phone sizes are written to `target/tmp/dashboard/` (`desktop.png`, `phone.png`).
//! Then the operator's path through the kill switch: without the control token nothing is
//! sent; with it, the confirm dialog is accepted, and the REST API and the page both show the
//! switch engaged.
//!
//! Before the browser, the same running demo's probes (`/ready` = store reachable and every
//! enabled account reconciled), `/metrics` and `/api/openapi.json` are checked over HTTP.
//!
//! Skips (loudly) without Chromium and chromedriver on a laptop; fails under CI=true, where
//! `.ci/run` installs them. No timed assertions: every wait is "until it shows, or give up".

mod webdriver;

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use webdriver::*;
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_renders_the_demo_and_the_kill_switch_works() {
    let Some((browser, chromedriver)) = tools() else {
        if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0") {
            panic!(
                "Chromium and chromedriver are required in CI (apt-get install chromium chromium-driver)"
            );
        }
        eprintln!(
            "\n*** SKIPPING dashboard browser test: no Chromium/chromedriver (apt-get install chromium chromium-driver) ***\n"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _engine = Reaped(
        Command::new(BIN)
            .args(["run", "--bind", &format!("127.0.0.1:{port}")])
            .current_dir(dir.path())
            .env("TRADEENGINE_LOG", "warn")
            .env("TRADEENGINE_READ_TOKEN", READ_TOKEN)
            .env("TRADEENGINE_CONTROL_TOKEN", CONTROL_TOKEN)
            .env("TRADEENGINE_TV_SECRET", TV_SECRET)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    let engine = format!("http://127.0.0.1:{port}");
    let status = || async {
        let r = http
            .get(format!("{engine}/api/v1/status"))
            .bearer_auth(READ_TOKEN)
            .send()
            .await
            .ok()?;
        r.json::<Value>().await.ok()
    };
    // Wait for the demo's first fill, so there is something to show.
    let mut filled = false;
    for _ in 0..150 {
        let out = Command::new(BIN)
            .args(["orders", "--json", "--state", "filled"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout).contains("client_order_id") {
            filled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(filled, "no demo fill within 30 s");
    assert!(status().await.is_some(), "the API answers");

    // The rest of the operator surface on the same running demo, without a token: probes,
    // metrics and the OpenAPI document.
    let get = |path: &'static str| {
        let http = http.clone();
        let url = format!("{engine}{path}");
        async move {
            let r = http.get(url).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    assert_eq!(get("/health").await.0, 200);
    let mut ready = (0, String::new());
    for _ in 0..150 {
        ready = get("/ready").await;
        if ready.0 == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let body: Value = serde_json::from_str(&ready.1).unwrap();
    assert_eq!(ready.0, 200, "{body}");
    assert_eq!(
        body,
        json!({"ready": true, "store": true, "accounts_not_reconciled": [], "account_errors": {}, "accounts_connecting": {}})
    );
    let (code, metrics) = get("/metrics").await;
    assert_eq!(code, 200);
    for name in [
        "tradeengine_account_equity{account=\"paper\"}",
        "tradeengine_account_unrealised_pnl{account=\"paper\"}",
        "tradeengine_account_reconciled{account=\"paper\"} 1",
        "tradeengine_account_risk_state{account=\"paper\"} 0",
        "tradeengine_target_drift{account=\"paper\",symbol=\"BTCUSDT\"}",
        "tradeengine_symbol_price{symbol=\"BTCUSDT\"}",
        "tradeengine_signals_total{",
        "tradeengine_signal_lag_seconds_bucket{",
        "tradeengine_order_round_trip_seconds_bucket{venue=\"paper\"",
        "tradeengine_orders_total{venue=\"paper\",outcome=\"filled\"}",
        "tradeengine_cycles_total{",
        "tradeengine_kill_switch_engaged 0",
    ] {
        assert!(
            metrics.contains(name),
            "{name} missing from /metrics:\n{metrics}"
        );
    }
    let (code, openapi) = get("/api/openapi.json").await;
    assert_eq!(code, 200);
    let openapi: Value = serde_json::from_str(&openapi).unwrap();
    for path in [
        "/api/v1/kill",
        "/api/v1/weights",
        "/api/v1/events",
        "/api/v1/history",
        "/api/v1/pnl/history",
        "/metrics",
        "/ready",
    ] {
        assert!(
            openapi["paths"].get(path).is_some(),
            "{path} in the OpenAPI document"
        );
    }

    let driver_port = free_port();
    let _chromedriver = Reaped(
        Command::new(chromedriver)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let driver_base = format!("http://127.0.0.1:{driver_port}");
    let mut session = None;
    let profile = dir.path().join("chrome-profile");
    let caps = json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "unhandledPromptBehavior": "ignore",
        "goog:chromeOptions": {
            "binary": browser,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     "--window-size=1280,1600",
                     format!("--user-data-dir={}", profile.display())]
        }
    }}});
    for _ in 0..100 {
        if let Ok(r) = http
            .post(format!("{driver_base}/session"))
            .json(&caps)
            .send()
            .await
        {
            let v: Value = r.json().await.unwrap();
            session = Some(
                v["value"]["sessionId"]
                    .as_str()
                    .unwrap_or_else(|| panic!("no session: {v}"))
                    .to_string(),
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let session = session.expect("chromedriver did not start");
    let d = Driver {
        http: http.clone(),
        base: format!("{driver_base}/session/{session}"),
    };
    d.post(
        "/url",
        json!({"url": format!("{engine}/#token={READ_TOKEN}")}),
    )
    .await;

    // What the trader sees.
    d.until(
        "the demo account",
        r##"return document.querySelector("#accounts").innerHTML.includes("<td>paper</td>")"##,
    )
    .await;
    assert_eq!(d.text("#mode").await, "PAPER");
    d.until(
        "positions for both symbols",
        r##"const t = document.querySelector("#positions").innerText; return t.includes("BTCUSDT") && t.includes("ETHUSDT")"##,
    )
    .await;
    d.until(
        "per-source contributions",
        r##"return document.querySelector("#symbols").innerText.includes("= blended")"##,
    )
    .await;
    // The live stream is open, and the charts are drawn by the vendored library.
    d.until(
        "the live event stream",
        r##"return document.querySelector("#stream").innerText === "live""##,
    )
    .await;
    d.until(
        "the equity chart with its axes",
        r##"return document.querySelectorAll("#equity-chart canvas").length > 2 && document.querySelector("#equity-label").innerText.includes("max drawdown")"##,
    )
    .await;
    d.until(
        "a price line on the price chart",
        &pixels("price-chart").replace("();", "()[1] > 200;"),
    )
    .await;
    // Pixels change as prices arrive on the stream, without a reload.
    let before = d.script(&pixels("price-chart")).await;
    d.until(
        "the price chart redrawn by live prices",
        &pixels_changed("price-chart", &before),
    )
    .await;
    // The P&L by source chart is drawn from the engine's books, with the account's total.
    d.until(
        "the P&L by source chart",
        r##"return "account" in window.dashState.pnlSeries && document.querySelector("#pnl").innerText.includes("account (total)")"##,
    )
    .await;
    d.until(
        "lines on the P&L chart",
        &pixels("pnl-chart").replace("();", "()[1] > 200;"),
    )
    .await;

    // A TradingView alert: its fill appears as a marker on the price chart, live.
    d.script(r##"document.querySelector('#symbol-tabs button[data-s="BTCUSDT"]').click(); return true;"##)
        .await;
    // The symbol's history comes from the store, not from when the page opened: the sources'
    // parts and the actual position (only GET /api/v1/history gives them) start before it.
    d.until(
        "the symbol's history from the store",
        r##"const S = window.dashState, opened = performance.timeOrigin / 1000;
            const parts = ((S.contrib.BTCUSDT || {}).paper) || {};
            const first = (m) => Math.min(...m.keys());
            return S.history["paper|BTCUSDT"] > 0 && Object.values(parts).some((m) => m.size && first(m) < opened)
              && S.actual.BTCUSDT && S.actual.BTCUSDT.paper && S.actual.BTCUSDT.paper.size > 0
              && first(S.actual.BTCUSDT.paper) < opened"##,
    )
    .await;
    d.until(
        "the sources' parts on the depth chart",
        &pixels("depth-chart").replace("();", "()[1] > 200;"),
    )
    .await;
    let depth_before = d.script(&pixels("depth-chart")).await;
    let position_before = d.script(&pixels("position-chart")).await;
    let pnl_before = d.script(&pixels("pnl-chart")).await;
    let fills_before = d
        .script(r##"return (window.dashState.fills["BTCUSDT"] || []).length"##)
        .await
        .as_u64()
        .unwrap();
    let short = d
        .script(r##"const p = window.dashState.positions.find((p) => p.symbol === "BTCUSDT"); return !p || Number(p.size) >= 0;"##)
        .await
        == Value::Bool(true);
    let (direction, action) = if short {
        ("short", "sell")
    } else {
        ("long", "buy")
    };
    let alert = format!(
        r#"{{"secret":"{TV_SECRET}","symbol":"BTCUSDT","direction":"{direction}","action":"{action}","size":"100/100"}}"#
    );
    let answer = http
        .post(format!("{engine}/webhook/tradingview"))
        .header("Content-Type", "application/json")
        .body(alert)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "alert: {}", answer.status());
    d.until(
        "the alert's fill as a marker on the price chart",
        // A flip is two fills (a reduce-only close, then the open), so count, don't add one.
        &format!(
            r##"const n = window.dashState.fills["BTCUSDT"].length;
                return n > {fills_before} && window.dashState.current === "BTCUSDT"
                && document.querySelector("#price-label").innerText.includes(n + " fill(s)")"##
        ),
    )
    .await;
    // Each fill once: the page's fills (from /api/v1/fills and the stream's history) are the
    // store's.
    let stored: Vec<Value> = http
        .get(format!("{engine}/api/v1/fills?account=paper&limit=500"))
        .bearer_auth(READ_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored_btc = stored.iter().filter(|f| f["symbol"] == "BTCUSDT").count();
    let shown = d
        .script(r##"return window.dashState.fills["BTCUSDT"].length"##)
        .await;
    assert_eq!(
        shown.as_u64(),
        Some(stored_btc as u64),
        "fills shown vs stored"
    );
    // The alert moved the target, the tradingview source's part, the position and the P&L:
    // each chart is redrawn from the new data, live.
    for (chart, before) in [
        ("depth-chart", &depth_before),
        ("position-chart", &position_before),
        ("pnl-chart", &pnl_before),
    ] {
        d.until(
            &format!("{chart} redrawn after the alert"),
            &pixels_changed(chart, before),
        )
        .await;
    }
    // The P&L table is the engine's report, to the digit.
    let report: Value = http
        .get(format!("{engine}/api/v1/pnl?account=paper"))
        .bearer_auth(READ_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(report["total"]["pnl"].is_string(), "{report}");
    d.until(
        "the P&L table's sources",
        &format!(
            r##"const t = document.querySelector("#pnl").innerText; return {}.every((n) => t.includes(n))"##,
            Value::Array(
                report["lines"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l["name"].clone())
                    .collect()
            )
        ),
    )
    .await;

    // Screenshots, desktop and phone, as the test's artefacts; the page fits a phone's width.
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    std::fs::create_dir_all(&shots).unwrap();
    d.script("window.scrollTo(0, 0); return true;").await;
    screenshot(&d, &shots.join("desktop.png")).await;
    d.post("/window/rect", json!({"width": 390, "height": 844}))
        .await;
    d.until(
        "the page at phone width without sideways scrolling",
        r##"return window.innerWidth < 500 && document.documentElement.scrollWidth <= window.innerWidth + 1"##,
    )
    .await;
    d.until(
        "the price chart redrawn at phone width",
        r##"const c = document.querySelector("#price-chart canvas"); return c && c.clientWidth < 500 && c.clientWidth > 200;"##,
    )
    .await;
    screenshot(&d, &shots.join("phone.png")).await;
    d.post("/window/rect", json!({"width": 1280, "height": 1600}))
        .await;

    let page = d.script("return document.body.innerText").await;
    let page = page.as_str().unwrap();
    assert!(
        !page.contains("bearer token is required"),
        "the token from the URL fragment was used: {page}"
    );
    assert!(!page.contains(READ_TOKEN), "the token is never shown");
    d.until(
        "the kill switch released",
        r##"return document.querySelector("#kill-state").innerText === "released""##,
    )
    .await;

    // Without the control token, the button sends nothing (and asks for the token).
    let freeze = d.element("#freeze").await;
    d.post(&format!("/element/{freeze}/click"), json!({})).await;
    d.until(
        "the request for the control token",
        r##"return document.querySelector("#kill-result").innerText.includes("control token")"##,
    )
    .await;
    let s = status().await.unwrap();
    assert!(s["kill_switch"]["stored"].is_null(), "nothing engaged: {s}");

    // With it: confirm dialog, accepted; the switch is engaged.
    let token_box = d.element("#control-token").await;
    d.post(
        &format!("/element/{token_box}/value"),
        json!({"text": CONTROL_TOKEN}),
    )
    .await;
    d.post(&format!("/element/{freeze}/click"), json!({})).await;
    let mut dialog = Value::Null;
    for _ in 0..100 {
        let r = http
            .get(format!("{}/alert/text", d.base))
            .send()
            .await
            .unwrap();
        if r.status().is_success() {
            dialog = r.json::<Value>().await.unwrap()["value"].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        dialog
            .as_str()
            .is_some_and(|t| t.contains("Engage the kill switch (freeze)")),
        "confirm dialog: {dialog}"
    );
    d.post("/alert/accept", json!({})).await;

    // Through the REST API: engaged, as a freeze, from the dashboard.
    let mut engaged = Value::Null;
    for _ in 0..100 {
        let s = status().await.unwrap();
        if !s["kill_switch"]["stored"].is_null() {
            engaged = s["kill_switch"]["stored"].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(engaged["action"], "freeze", "{engaged}");
    assert_eq!(engaged["reason"], "dashboard", "{engaged}");
    // And on the page: the header badge and the section's state.
    d.until(
        "the engaged kill switch",
        r##"return !document.querySelector("#kill").hidden && document.querySelector("#kill-state").innerText.startsWith("ENGAGED")"##,
    )
    .await;
    let typed = d
        .script(r##"return document.querySelector("#control-token").value"##)
        .await;
    assert_eq!(typed, "", "the control token is cleared after use");
    let _ = d.call(reqwest::Method::DELETE, "", None).await;
}
