#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The REST API: scopes (no token → 401, read token cannot act → 403, control token acts), every
//! read endpoint answers JSON, paging limits are checked, and the kill switch over HTTP engages
//! and releases.

mod common;

use common::json_request as call;

const READ: &str = "read-token-not-real";
const CONTROL: &str = "control-token-not-real";

// One scenario whose steps build on each other's state, so it stays one sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_reads_and_kill_switch() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let config = common::demo_config_in(dir.path());
    let engine = common::start(config, store.clone(), &common::DEMO_ENV).await;
    let auth = common::auth(Some(READ), Some(CONTROL), true);
    let app = common::app(&engine, store.clone(), auth, None);
    let (addr, stop, server) = common::serve(app).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    let result = tokio::task::spawn_blocking(move || {
        // Probes are open; the API is not.
        assert_eq!(call(addr, "GET", "/health", None, "").0, 200);
        assert_eq!(call(addr, "GET", "/api/v1/positions", None, "").0, 401);
        assert_eq!(
            call(addr, "GET", "/api/v1/positions", Some("wrong"), "").0,
            401
        );
        for path in [
            "/api/v1/status",
            "/api/v1/accounts",
            "/api/v1/positions",
            "/api/v1/symbols",
            "/api/v1/signals?limit=5",
            "/api/v1/orders?limit=5",
            "/api/v1/fills",
            "/api/v1/pnl",
            "/api/v1/pnl?by=symbol&account=paper&since=2026-01-01T00:00:00Z",
            "/api/v1/equity?account=paper",
            "/api/v1/audit?after=0&limit=10",
        ] {
            let (status, body) = call(addr, "GET", path, Some(READ), "");
            assert_eq!(status, 200, "{path}: {body}");
        }
        let (_, pnl) = call(addr, "GET", "/api/v1/pnl", Some(READ), "");
        assert!(
            pnl["lines"].is_array() && pnl["total"]["pnl"].is_string(),
            "{pnl}"
        );
        assert_eq!(
            call(addr, "GET", "/api/v1/pnl?by=bogus", Some(READ), "").0,
            400
        );
        let (_, symbols) = call(addr, "GET", "/api/v1/symbols", Some(READ), "");
        assert_eq!(symbols.as_array().map(Vec::len), Some(2));
        assert_eq!(
            call(addr, "GET", "/api/v1/orders?limit=0", Some(READ), "").0,
            400
        );
        assert_eq!(
            call(addr, "GET", "/api/v1/orders?state=bogus", Some(READ), "").0,
            400
        );

        // A read token cannot act; a control token can.
        let kill = r#"{"action":"freeze","reason":"test"}"#;
        assert_eq!(call(addr, "POST", "/api/v1/kill", Some(READ), kill).0, 403);
        let (status, body) = call(addr, "POST", "/api/v1/kill", Some(CONTROL), kill);
        assert_eq!(status, 200, "{body}");
        let (_, st) = call(addr, "GET", "/api/v1/status", Some(CONTROL), "");
        assert_eq!(st["kill_switch"]["stored"]["action"], "freeze");
        assert_eq!(
            call(
                addr,
                "POST",
                "/api/v1/kill",
                Some(CONTROL),
                r#"{"accounts":["ghost"]}"#
            )
            .0,
            422
        );
        // An engage adds to what is engaged, never lifts it: a flatten of one account beside
        // a freeze of every account cannot be one switch, so it is refused and changes nothing.
        let (status, body) = call(
            addr,
            "POST",
            "/api/v1/kill",
            Some(CONTROL),
            r#"{"action":"flatten","accounts":["paper"]}"#,
        );
        assert_eq!(status, 409, "{body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("freezes every account"),
            "{body}"
        );
        let (_, st) = call(addr, "GET", "/api/v1/status", Some(CONTROL), "");
        assert_eq!(st["kill_switch"]["stored"]["action"], "freeze");
        // An empty list is no account at all: refused, not "engaged".
        let (status, body) = call(
            addr,
            "POST",
            "/api/v1/kill",
            Some(CONTROL),
            r#"{"action":"flatten","accounts":[]}"#,
        );
        assert_eq!(status, 422, "{body}");
        // A flatten of every account strengthens the freeze; a freeze after it keeps it.
        let (status, body) = call(
            addr,
            "POST",
            "/api/v1/kill",
            Some(CONTROL),
            r#"{"action":"flatten","reason":"worse"}"#,
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["engaged"]["action"], "flatten", "{body}");
        let (status, body) = call(addr, "POST", "/api/v1/kill", Some(CONTROL), kill);
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["engaged"]["action"], "flatten",
            "still flattening: {body}"
        );
        let (_, st) = call(addr, "GET", "/api/v1/status", Some(CONTROL), "");
        assert_eq!(st["kill_switch"]["stored"]["action"], "flatten");
        let (status, body) = call(addr, "DELETE", "/api/v1/kill", Some(CONTROL), "");
        assert_eq!(
            (status, body["released"].clone()),
            (200, serde_json::json!(true))
        );

        // The portfolio risk reset: control scope, a known account, audited.
        let reset = "/api/v1/accounts/paper/risk/reset";
        assert_eq!(call(addr, "POST", reset, Some(READ), "").0, 403);
        assert_eq!(
            call(
                addr,
                "POST",
                "/api/v1/accounts/ghost/risk/reset",
                Some(CONTROL),
                ""
            )
            .0,
            404
        );
        let (status, body) = call(
            addr,
            "POST",
            reset,
            Some(CONTROL),
            r#"{"reason":"checked"}"#,
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["previous_state"], "active");
        let (_, audit) = call(
            addr,
            "GET",
            "/api/v1/audit?after=0&limit=1000",
            Some(READ),
            "",
        );
        let text = audit.to_string();
        assert!(
            text.contains("risk_state_changed") && text.contains("api: checked"),
            "{text}"
        );
        // Accounts show their risk state once a cycle ran.
        let (_, st) = call(addr, "GET", "/api/v1/status", Some(READ), "");
        assert_eq!(st["accounts"]["paper"]["risk_state"], "active", "{st}");
    })
    .await;
    stop.cancel();
    let _ = server.await;
    engine.shutdown().await;
    result.unwrap();
}
