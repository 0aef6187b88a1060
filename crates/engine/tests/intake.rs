#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The intake: exactly once into sleeves under concurrent and repeated delivery, order kept
//! within a batch, and durability before the answer.

use std::sync::Arc;

use rust_decimal::Decimal;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::{IntakeOutcome, SharedState, SignalIntake};
use tradeengine_model::{
    Intent, OrderAction, OrderIntent, OrderSize, Signal, SignalId, SleeveOrigin, SourceId, Symbol,
    SystemClock, TargetIntent,
};

const CONFIG: &str = r#"
[sources.tv]
type = "rest"
[sources.bus]
type = "rest"
allow_add = true
[[symbols]]
symbol = "BTCUSDT"
weights = { tv = 0.5, bus = 0.5 }
"#;

fn target(key: &str, depth: Decimal) -> Signal {
    Signal {
        id: SignalId::new(key).unwrap(),
        source: SourceId::new("tv").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        intent: Intent::Target(TargetIntent {
            depth,
            leverage: None,
            reference_price: None,
        }),
        emitted_at: None,
        received_at: chrono::Utc::now(),
        idempotency_key: key.to_string(),
        raw: serde_json::json!({}),
    }
}

fn buy(key: &str, qty: Decimal) -> Signal {
    Signal {
        id: SignalId::new(key).unwrap(),
        source: SourceId::new("bus").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        intent: Intent::Order(OrderIntent {
            action: OrderAction::Buy,
            size: Some(OrderSize::Base(qty)),
            confidence: None,
            stop_loss: None,
            take_profit: None,
            leverage: None,
            reference_price: None,
        }),
        emitted_at: None,
        received_at: chrono::Utc::now(),
        idempotency_key: key.to_string(),
        raw: serde_json::json!({}),
    }
}

async fn intake(dir: &std::path::Path) -> SignalIntake {
    let store = tradeengine_store::open_sqlite_in(dir).await.unwrap();
    let config = load_str(CONFIG, None, &[], &Overrides::default()).unwrap();
    SignalIntake::new(SharedState::new(config), store, Arc::new(SystemClock))
}

async fn exposure(intake: &SignalIntake, source: &str) -> SleeveOrigin {
    let key = (
        SourceId::new(source).unwrap(),
        Symbol::new("BTCUSDT").unwrap(),
    );
    intake
        .state()
        .sleeves
        .read()
        .await
        .get(&key)
        .map(|s| s.exposure)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_redeliveries_count_once() {
    let dir = tempfile::tempdir().unwrap();
    let intake = intake(dir.path()).await;
    // 200 tasks deliver 20 distinct add-orders, each ten times, all at once.
    let mut tasks = Vec::new();
    for round in 0..10 {
        for k in 0..20 {
            let intake = intake.clone();
            let _ = round;
            tasks.push(tokio::spawn(async move {
                intake.submit(buy(&format!("m-{k}"), Decimal::ONE)).await
            }));
        }
    }
    let mut applied = 0;
    let mut duplicates = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            IntakeOutcome::Applied(_) => applied += 1,
            IntakeOutcome::Duplicate => duplicates += 1,
            IntakeOutcome::Refused(r) => panic!("refused: {r}"),
        }
    }
    assert_eq!((applied, duplicates), (20, 180));
    // 20 adds of 1 base unit each, counted once each.
    assert_eq!(
        exposure(&intake, "bus").await,
        SleeveOrigin::Base(Decimal::from(20))
    );
    assert_eq!(
        intake.store().recent_signals(1000, 0).await.unwrap().len(),
        20
    );
    assert!(intake.store().verify_audit().await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_target_wins_and_a_restart_remembers_what_was_stored() {
    let dir = tempfile::tempdir().unwrap();
    {
        let intake = intake(dir.path()).await;
        for (i, d) in [Decimal::new(3, 1), Decimal::new(-2, 1), Decimal::new(5, 1)]
            .into_iter()
            .enumerate()
        {
            intake.submit(target(&format!("t-{i}"), d)).await.unwrap();
        }
        assert_eq!(
            exposure(&intake, "tv").await,
            SleeveOrigin::Depth(Decimal::new(5, 1))
        );
    }
    // A new process: sleeves come back from the store, and a redelivery changes nothing.
    let intake = intake(dir.path()).await;
    assert_eq!(intake.restore().await.unwrap(), 1);
    assert_eq!(
        exposure(&intake, "tv").await,
        SleeveOrigin::Depth(Decimal::new(5, 1))
    );
    assert_eq!(
        intake
            .submit(target("t-1", Decimal::new(-2, 1)))
            .await
            .unwrap(),
        IntakeOutcome::Duplicate
    );
    assert_eq!(
        exposure(&intake, "tv").await,
        SleeveOrigin::Depth(Decimal::new(5, 1))
    );
}

#[tokio::test]
async fn unknown_symbol_is_refused_before_anything_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let intake = intake(dir.path()).await;
    let mut s = target("x", Decimal::ONE);
    s.symbol = Symbol::new("DOGEUSDT").unwrap();
    assert!(intake.submit(s).await.is_err());
    assert!(
        intake
            .store()
            .recent_signals(10, 0)
            .await
            .unwrap()
            .is_empty()
    );
}
