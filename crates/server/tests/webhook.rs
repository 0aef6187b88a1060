#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! TradingView webhooks through the real HTTP server: accepted alerts are durable before the 200;
//! a wrong secret gets 401, is audited and never reaches a sleeve; unknown symbols get 422;
//! repeats are duplicates; a flat that arrives late within a close/open pair is superseded.

mod common;

use std::net::SocketAddr;

use tradeengine_model::{SourceId, Symbol};
use tradeengine_server::api::auth::ApiAuth;
use tradeengine_store::AuditKind;

const SECRET: &str = "test-secret-not-real-0001";

fn post(addr: SocketAddr, path: &str, body: &str) -> (u16, serde_json::Value) {
    common::request(addr, "POST", path, &[], "text/plain", body)
}

fn alert(direction: &str, size: &str, extra: &str) -> String {
    format!(
        r#"{{"secret":"{SECRET}","symbol":"BINANCE:BTCUSDT.P","direction":"{direction}","action":"buy","size":"{size}"{extra}}}"#
    )
}

/// A paper engine with the TradingView source, served on a free port.
struct Served {
    _dir: tempfile::TempDir,
    store: std::sync::Arc<dyn tradeengine_store::Store>,
    engine: tradeengine_engine::RunningEngine,
    stop: tokio_util::sync::CancellationToken,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Served {
    /// Stops the server and the engine; the data dir, for a restart on it.
    async fn shut(self) -> tempfile::TempDir {
        self.stop.cancel();
        let _ = self.server.await;
        self.engine.shutdown().await;
        drop(self.store);
        self._dir
    }
}

async fn serve_engine() -> Served {
    serve_engine_in(tempfile::tempdir().unwrap()).await
}

/// [`serve_engine`] on the data dir `dir` (a restart when an engine used it before).
async fn serve_engine_in(dir: tempfile::TempDir) -> Served {
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let config = common::config_in(common::TV_CONFIG, dir.path());
    let engine = common::start(config, store.clone(), &[("TV_TEST_SECRET", SECRET)]).await;
    let app = common::app(&engine, store.clone(), ApiAuth::default(), None);
    let (addr, stop, server) = common::serve(app).await;
    Served {
        _dir: dir,
        store,
        engine,
        stop,
        addr,
        server,
    }
}

/// The TradingView source's sleeve exposure for BTCUSDT, if it has a sleeve.
async fn sleeve(
    state: &tradeengine_engine::SharedState,
) -> Option<tradeengine_model::SleeveOrigin> {
    state
        .sleeve(&(
            SourceId::new("tradingview").unwrap(),
            Symbol::new("BTCUSDT").unwrap(),
        ))
        .await
        .map(|s| s.exposure)
}

/// [`sleeve`] as text, for checking the signed depth it holds.
async fn sleeve_text(state: &tradeengine_engine::SharedState) -> String {
    format!("{:?}", sleeve(state).await)
}

async fn post_alert(addr: SocketAddr, body: String) -> (u16, serde_json::Value) {
    tokio::task::spawn_blocking(move || post(addr, "/webhook/tradingview", &body))
        .await
        .unwrap()
}

/// A sender whose clock runs ahead (inside the allowed skew) does not block the alerts after
/// it: an alert counts as sent no later than it arrived, so a correctly timed close goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_stamped_in_the_future_does_not_supersede_the_next_one() {
    let rig = serve_engine().await;
    let now = chrono::Utc::now().timestamp();
    let ahead = alert("short", "30/100", &format!(r#","timenow":{}"#, now + 20));
    let (_, body) = post_alert(rig.addr, ahead).await;
    assert_eq!(body["status"], "accepted", "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let close = alert("flat", "0", &format!(r#","timenow":{}"#, now + 1));
    let (_, body) = post_alert(rig.addr, close).await;
    assert_eq!(body["status"], "accepted", "the close is not lost: {body}");
    assert!(
        !sleeve_text(&rig.engine.state).await.contains("-0.3"),
        "closed"
    );
    // A genuinely late alert (sent before the close arrived) is still superseded.
    let late = alert("long", "30/100", &format!(r#","timenow":{}"#, now - 60));
    let (_, body) = post_alert(rig.addr, late).await;
    assert_eq!(body["status"], "superseded", "{body}");
    rig.shut().await;
}

/// The late-alert rule holds across a restart: the alert applied before it is kept in the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_sent_before_the_applied_one_is_superseded_after_a_restart() {
    let rig = serve_engine().await;
    let now = chrono::Utc::now().timestamp();
    let newer = alert("short", "30/100", &format!(r#","timenow":{now}"#));
    let (_, body) = post_alert(rig.addr, newer).await;
    assert_eq!(body["status"], "accepted", "{body}");
    let dir = rig.shut().await;

    let rig = serve_engine_in(dir).await;
    let older = alert("long", "30/100", &format!(r#","timenow":{}"#, now - 60));
    let (status, body) = post_alert(rig.addr, older).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "superseded", "{body}");
    assert_eq!(body["basis"], "sent_before_applied", "{body}");
    assert!(
        sleeve_text(&rig.engine.state).await.contains("-0.3"),
        "the short applied before the restart stays"
    );
    // A newer alert still moves it.
    let newest = alert("flat", "0", &format!(r#","timenow":{}"#, now + 1));
    let (_, body) = post_alert(rig.addr, newest).await;
    assert_eq!(body["status"], "accepted", "{body}");
    rig.shut().await;
}

// One scenario whose steps build on each other's state, so it stays one sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_paths() {
    let Served {
        _dir,
        store,
        engine,
        stop,
        addr,
        server,
    } = serve_engine().await;

    // Accepted, mapped through [mapping.tradingview], and stored before the answer.
    let (status, body) = tokio::task::spawn_blocking(move || {
        post(addr, "/webhook/tradingview", &alert("long", "40/100", ""))
    })
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "accepted");
    assert_eq!(
        store.recent_signals(10, 0).await.unwrap().len(),
        1,
        "durable before the 200"
    );
    assert!(sleeve(&engine.state).await.is_some());

    // Wrong secret: 401, nothing stored, the refusal audited; the stored body holds no secret.
    let wrong = alert("short", "100/100", "").replace(SECRET, "guess");
    let (status, _) =
        tokio::task::spawn_blocking(move || post(addr, "/webhook/tradingview", &wrong))
            .await
            .unwrap();
    assert_eq!(status, 401);
    assert_eq!(store.recent_signals(10, 0).await.unwrap().len(), 1);
    let events = store.audit_events(0, 1000).await.unwrap();
    assert!(events.iter().any(|e| e.kind == AuditKind::SignalRefused));
    let all = serde_json::to_string(&events).unwrap();
    assert!(
        !all.contains(SECRET) && !all.contains("guess"),
        "secrets never reach the audit trail"
    );

    // Unknown symbol: 422 with the reason.
    let unknown = alert("long", "10/100", "").replace("BINANCE:BTCUSDT.P", "DOGEUSDT");
    let (status, body) =
        tokio::task::spawn_blocking(move || post(addr, "/webhook/tradingview", &unknown))
            .await
            .unwrap();
    assert_eq!(status, 422, "{body}");

    // Depth above the cap: 422.
    let (status, _) = tokio::task::spawn_blocking(move || {
        post(addr, "/webhook/tradingview", &alert("long", "300/100", ""))
    })
    .await
    .unwrap();
    assert_eq!(status, 422);

    // The same event id twice: the second is a duplicate.
    let with_id = alert("long", "20/100", r#","event_id":"e-1""#);
    let again = with_id.clone();
    let (s1, _) = tokio::task::spawn_blocking(move || post(addr, "/webhook/tradingview", &with_id))
        .await
        .unwrap();
    let (s2, b2) = tokio::task::spawn_blocking(move || post(addr, "/webhook/tradingview", &again))
        .await
        .unwrap();
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(b2["status"], "duplicate");

    // Close/open pair with explicit sequence numbers, arriving out of order: the open (seq 2)
    // lands first, the close (seq 1) a moment later is superseded and the sleeve stays open.
    let open = alert("short", "30/100", r#","signal_seq":"2""#);
    let close = alert("flat", "0/100", r#","signal_seq":"1""#);
    let (_, b_open) =
        tokio::task::spawn_blocking(move || post(addr, "/webhook/tradingview", &open))
            .await
            .unwrap();
    assert_eq!(b_open["status"], "accepted");
    let (_, b_close) =
        tokio::task::spawn_blocking(move || post(addr, "/webhook/tradingview", &close))
            .await
            .unwrap();
    assert_eq!(b_close["status"], "superseded", "{b_close}");
    let exposure = format!("{:?}", sleeve(&engine.state).await);
    assert!(exposure.contains("-0.3"), "the short stays: {exposure}");

    // Unknown route source: 404.
    let (status, _) = tokio::task::spawn_blocking(move || post(addr, "/webhook/nope", "{}"))
        .await
        .unwrap();
    assert_eq!(status, 404);

    stop.cancel();
    let _ = server.await;
    engine.shutdown().await;
    assert!(store.verify_audit().await.unwrap().is_ok());
}

/// An alert sent before the one already applied (its own time, or a lower `signal_seq` when
/// neither carries a time) is superseded however late it arrives and whichever sides the two
/// are: a late alert must not undo a newer one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_sent_before_the_applied_one_is_superseded() {
    let rig = serve_engine().await;
    let now = chrono::Utc::now().timestamp();
    let newer = alert("short", "30/100", &format!(r#","timenow":{now}"#));
    let older = alert("long", "30/100", &format!(r#","timenow":{}"#, now - 60));
    let (status, body) = post_alert(rig.addr, newer).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("accepted")),
        "{body}"
    );
    let (status, body) = post_alert(rig.addr, older).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "superseded", "{body}");
    assert_eq!(body["basis"], "sent_before_applied", "{body}");
    assert!(
        sleeve_text(&rig.engine.state).await.contains("-0.3"),
        "the short stays"
    );

    // Without times, by a numeric signal_seq: 7 short applied, then 6 long is late.
    let (_, body) = post_alert(rig.addr, alert("short", "20/100", r#","signal_seq":"7""#)).await;
    assert_eq!(body["status"], "accepted", "{body}");
    let (_, body) = post_alert(rig.addr, alert("long", "20/100", r#","signal_seq":"6""#)).await;
    assert_eq!(body["status"], "superseded", "{body}");
    assert!(
        sleeve_text(&rig.engine.state).await.contains("-0.2"),
        "the short stays"
    );
    // A newer one still moves the sleeve.
    let (_, body) = post_alert(rig.addr, alert("long", "20/100", r#","signal_seq":"8""#)).await;
    assert_eq!(body["status"], "accepted", "{body}");
    assert!(
        sleeve_text(&rig.engine.state).await.contains("0.2"),
        "now long"
    );
    assert!(
        !sleeve_text(&rig.engine.state).await.contains("-0.2"),
        "now long"
    );

    // Each superseded alert is a visible refusal.
    let refused = rig.store.refused_signals(None, 100).await.unwrap();
    assert_eq!(
        refused
            .iter()
            .filter(|r| r.reason.contains("sent before"))
            .count(),
        2,
        "{refused:?}"
    );
    rig.shut().await;
}

/// An untimed alert applied after a timed one does not reset the late-alert rule: an alert sent
/// before the timed one is still superseded (a rehearsal saw it applied, undoing newer alerts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untimed_alert_in_between_keeps_late_alerts_out() {
    let rig = serve_engine().await;
    let now = chrono::Utc::now().timestamp();
    let (_, body) = post_alert(
        rig.addr,
        alert("long", "30/100", &format!(r#","timenow":{now}"#)),
    )
    .await;
    assert_eq!(body["status"], "accepted", "{body}");
    let late = alert("short", "30/100", &format!(r#","timenow":{}"#, now - 100));
    let (_, body) = post_alert(rig.addr, late.clone()).await;
    assert_eq!(body["status"], "superseded", "{body}");
    let (_, body) = post_alert(rig.addr, alert("long", "20/100", "")).await;
    assert_eq!(body["status"], "accepted", "{body}");
    // The late short again: still sent before the timed long.
    let (_, body) = post_alert(rig.addr, late).await;
    assert_eq!(body["status"], "superseded", "{body}");
    assert_eq!(body["basis"], "sent_before_applied", "{body}");
    assert!(
        !sleeve_text(&rig.engine.state).await.contains("-0.3"),
        "the late short was not applied"
    );
    rig.shut().await;
}

/// A flat the close/open pair rule set aside can be sent again: once outside the pair window it
/// is judged afresh and closes the sleeve, instead of being answered "duplicate" (it was never
/// applied) while the position stays open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_superseded_exit_sent_again_later_is_applied() {
    let rig = serve_engine().await;
    let (_, body) = post_alert(rig.addr, alert("short", "30/100", "")).await;
    assert_eq!(body["status"], "accepted", "{body}");
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    // Open before the pair: a long then a flat 2 s apart resolve as close-then-open.
    let (_, body) = post_alert(rig.addr, alert("long", "30/100", "")).await;
    assert_eq!(body["status"], "accepted", "{body}");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let exit = alert("flat", "0", "");
    let (_, body) = post_alert(rig.addr, exit.clone()).await;
    assert_eq!(body["status"], "superseded", "{body}");
    // Sent again within the pair window: set aside again, not a duplicate.
    let (_, body) = post_alert(rig.addr, exit.clone()).await;
    assert_eq!(body["status"], "superseded", "{body}");
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let (_, body) = post_alert(rig.addr, exit).await;
    assert_eq!(body["status"], "accepted", "the exit goes through: {body}");
    assert!(
        !sleeve_text(&rig.engine.state).await.contains("0.3"),
        "closed: {}",
        sleeve_text(&rig.engine.state).await
    );
    rig.shut().await;
}

/// A flat sent (by its own `timenow`) after the long before it is that long's close, even
/// within the 5 s pair window while a position was open: the pair rule's guess ("the close of
/// a reversal that arrived late") is for alerts the senders' clocks cannot order. A
/// rehearsal's close was answered `superseded` and the position stayed open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flat_timed_after_the_entry_closes_it_within_the_pair_window() {
    let rig = serve_engine().await;
    let now = chrono::Utc::now().timestamp();
    // Open before the pair.
    let (_, body) = post_alert(
        rig.addr,
        alert("short", "30/100", &format!(r#","timenow":{}"#, now - 20)),
    )
    .await;
    assert_eq!(body["status"], "accepted", "{body}");
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let (_, body) = post_alert(
        rig.addr,
        alert("long", "20/100", &format!(r#","timenow":{}"#, now - 10)),
    )
    .await;
    assert_eq!(body["status"], "accepted", "{body}");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let (_, body) = post_alert(
        rig.addr,
        alert("flat", "0", &format!(r#","timenow":{}"#, now - 5)),
    )
    .await;
    assert_eq!(body["status"], "accepted", "the close is applied: {body}");
    let held = sleeve_text(&rig.engine.state).await;
    assert!(!held.contains("0.2"), "closed: {held}");
    rig.shut().await;
}

/// `exit_long` closes a long only: sent while the source is short it is refused (visible, with
/// the reason) and the short stays; `exit_short` then closes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sided_exit_never_closes_the_other_side() {
    let rig = serve_engine().await;
    let (_, body) = post_alert(rig.addr, alert("short", "30/100", "")).await;
    assert_eq!(body["status"], "accepted", "{body}");
    let exit = |action: &str| {
        format!(r#"{{"secret":"{SECRET}","symbol":"BINANCE:BTCUSDT.P","action":"{action}"}}"#)
    };
    let (status, body) = post_alert(rig.addr, exit("exit_long")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "refused", "{body}");
    assert!(
        body["reason"].as_str().unwrap().contains("holds short"),
        "{body}"
    );
    assert!(
        sleeve_text(&rig.engine.state).await.contains("-0.3"),
        "the short stays"
    );
    let refused = rig.store.refused_signals(None, 100).await.unwrap();
    assert!(
        refused.iter().any(|r| r.reason.contains("exit_long")),
        "{refused:?}"
    );
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let (_, body) = post_alert(rig.addr, exit("exit_short")).await;
    assert_eq!(body["status"], "accepted", "{body}");
    assert!(
        !sleeve_text(&rig.engine.state).await.contains("-0.3"),
        "closed: {}",
        sleeve_text(&rig.engine.state).await
    );
    rig.shut().await;
}

/// A reused `event_id` with a different body is a new alert (templates reuse
/// `{{strategy.order.id}}`); the same body under the same id is still a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_event_id_with_another_body_is_a_new_alert() {
    let rig = serve_engine().await;
    let long = alert("long", "30/100", r#","event_id":"Long""#);
    let (_, body) = post_alert(rig.addr, long.clone()).await;
    assert_eq!(body["status"], "accepted", "{body}");
    let (_, body) = post_alert(rig.addr, long).await;
    assert_eq!(body["status"], "duplicate", "the same alert again: {body}");
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let (_, body) = post_alert(rig.addr, alert("flat", "0", r#","event_id":"Exit""#)).await;
    assert_eq!(body["status"], "accepted", "{body}");
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let again = alert("long", "20/100", r#","event_id":"Long""#);
    let (_, body) = post_alert(rig.addr, again).await;
    assert_eq!(
        body["status"], "accepted",
        "a new entry under the old id: {body}"
    );
    assert!(
        sleeve_text(&rig.engine.state).await.contains("0.2"),
        "long again"
    );
    rig.shut().await;
}
