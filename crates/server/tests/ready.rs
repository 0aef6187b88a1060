#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! `/ready` names the account that is not reconciled and why: an account whose
//! order entry is failing is not ready, with its error beside its name.

mod common;

use std::sync::Arc;

use axum::body::Body;
use http_body_util::BodyExt;
use tower::ServiceExt;
use tradeengine_engine::state::AccountView;
use tradeengine_engine::{SharedState, SignalIntake};
use tradeengine_model::{AccountName, SystemClock};
use tradeengine_server::AppState;

async fn ready(app: &axum::Router) -> (u16, serde_json::Value) {
    let req = axum::http::Request::get("/ready")
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn an_account_with_failing_order_entry_is_not_ready_and_named_with_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let config = common::demo_config_in(dir.path());
    let names: Vec<String> = config.accounts.iter().map(|a| a.name.clone()).collect();
    let state = SharedState::new(config);
    let app = tradeengine_server::router(AppState {
        engine: state.clone(),
        intake: SignalIntake::new(state.clone(), store.clone(), Arc::new(SystemClock)),
        store,
        auth: common::auth(None, None, true),
        started_at: chrono::Utc::now(),
        metrics: None,
    });
    let healthy = AccountView {
        reconciled: true,
        ..AccountView::default()
    };
    for n in &names {
        let view = healthy.clone();
        state
            .update_account_view(&AccountName::new(n).unwrap(), |v| *v = view)
            .await;
    }
    let (status, body) = ready(&app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["account_errors"], serde_json::json!({}));
    assert!(body.get("symbol_problems").is_none(), "{body}");

    // Reconciled but a symbol kept off target (the pre-trade gate refuses it every cycle):
    // still ready, and the symbol is named.
    let stuck = AccountView {
        reconciled: true,
        symbol_errors: vec!["BTCUSDT: risk: max_gross_exposure 297150 > 3 × equity".into()],
        ..AccountView::default()
    };
    state
        .update_account_view(&AccountName::new(&names[0]).unwrap(), |v| *v = stuck)
        .await;
    let (status, body) = ready(&app).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["symbol_problems"][&names[0]][0]
            .as_str()
            .unwrap()
            .contains("max_gross_exposure"),
        "{body}"
    );
    state
        .update_account_view(&AccountName::new(&names[0]).unwrap(), |v| {
            *v = healthy.clone()
        })
        .await;

    let failing = AccountView {
        reconciled: false,
        last_error: Some("order entry failing: BTCUSDT: bybit: Retryable (code http_503)".into()),
        ..AccountView::default()
    };
    state
        .update_account_view(&AccountName::new(&names[0]).unwrap(), |v| *v = failing)
        .await;
    let (status, body) = ready(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], false);
    assert_eq!(
        body["accounts_not_reconciled"],
        serde_json::json!([names[0]])
    );
    let reason = body["account_errors"][&names[0]].as_str().unwrap();
    assert!(reason.starts_with("order entry failing"), "{body}");

    // Reconciled, but another engine took the account's lease over: not ready, and says why.
    let taken = AccountView {
        reconciled: true,
        lease_lost: Some("lease taken over by another engine; restart this one".into()),
        ..AccountView::default()
    };
    state
        .update_account_view(&AccountName::new(&names[0]).unwrap(), |v| *v = taken)
        .await;
    let (status, body) = ready(&app).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["lease_lost"].as_str().unwrap().contains("taken over"),
        "{body}"
    );
}

/// A healthy engine is ready as soon as its first cycle has read the venue, not one drift
/// interval later: the configuration here checks drift once an hour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_engine_is_ready_after_its_first_cycle_not_its_first_interval() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let config = common::config_in(common::TV_CONFIG, dir.path());
    assert_eq!(config.engine.drift_check_interval_secs, 3600);
    let engine = common::start(
        config,
        store.clone(),
        &[("TV_TEST_SECRET", "tv-not-real-01")],
    )
    .await;
    let app = tradeengine_server::router(common::app(
        &engine,
        store,
        common::auth(None, None, true),
        None,
    ));
    let started = std::time::Instant::now();
    loop {
        let (status, body) = ready(&app).await;
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "not ready 15 s after start: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    engine.shutdown().await;
}
