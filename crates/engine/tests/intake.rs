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
    buy_from("bus", key, qty)
}

fn buy_from(source: &str, key: &str, qty: Decimal) -> Signal {
    Signal {
        id: SignalId::new(key).unwrap(),
        source: SourceId::new(source).unwrap(),
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
        .sleeve(&key)
        .await
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

/// Brokers and webhook senders redeliver refused signals as they do accepted ones: a refusal is
/// keyed by (source, idempotency key) too, answered `Duplicate` on redelivery and audited once.
#[tokio::test]
async fn a_refused_signal_delivered_again_is_recorded_once() {
    use tradeengine_store::AuditKind;
    let dir = tempfile::tempdir().unwrap();
    let intake = intake(dir.path()).await;
    let refusals = || async {
        let events = intake.store().audit_events(0, 1000).await.unwrap();
        events
            .iter()
            .filter(|e| e.kind == AuditKind::SignalRefused)
            .count()
    };
    // `tv` may not add to an open sleeve: the second buy is refused.
    let open = buy_from("tv", "open-1", Decimal::new(1, 2));
    let add = buy_from("tv", "add-1", Decimal::new(1, 2));
    assert!(matches!(
        intake.submit(open.clone()).await.unwrap(),
        IntakeOutcome::Applied(_)
    ));
    assert!(matches!(
        intake.submit(add.clone()).await.unwrap(),
        IntakeOutcome::Refused(_)
    ));
    assert_eq!(refusals().await, 1);
    for _ in 0..3 {
        assert_eq!(
            intake.submit(add.clone()).await.unwrap(),
            IntakeOutcome::Duplicate
        );
    }
    // Several redeliveries in one batch are still one record.
    let again = futures::future::join_all((0..4).map(|_| intake.submit(add.clone()))).await;
    assert!(
        again
            .into_iter()
            .all(|o| o.unwrap() == IntakeOutcome::Duplicate)
    );
    // The accepted signal delivered again: the sleeve it opened would refuse it now, but it was
    // decided already.
    assert_eq!(intake.submit(open).await.unwrap(), IntakeOutcome::Duplicate);
    assert_eq!(refusals().await, 1);
    assert_eq!(
        exposure(&intake, "tv").await,
        SleeveOrigin::Base(Decimal::new(1, 2))
    );
    assert!(intake.store().verify_audit().await.unwrap().is_ok());
}

/// A size no account could carry is refused, visibly, before it reaches a sleeve: a target
/// depth past the whole account (and every account's `max_depth`), and an order whose value at the mark is past that
/// depth at the largest leverage on the largest account (a fat-fingered `size: 1e9` base units
/// was taken, and the gross-exposure fit then closed every other symbol to make room for it).
#[tokio::test]
async fn a_size_no_account_could_carry_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let text = format!(
        "{CONFIG}\n[risk]\nmax_depth = 1\nmax_leverage = 10\n[[accounts]]\nname = \"paper\"\nvenue = \"paper\"\n"
    );
    let config = load_str(&text, None, &[], &Overrides::default()).unwrap();
    let state = SharedState::new(config);
    let intake = SignalIntake::new(state.clone(), store.clone(), Arc::new(SystemClock));

    let err = intake
        .submit(target("t5", Decimal::from(5)))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at most 1"), "{err}");
    assert!(matches!(
        intake.submit(target("t1", Decimal::ONE)).await.unwrap(),
        IntakeOutcome::Applied(_)
    ));

    // Base units need a mark and an account value to be judged: 10 000 × 1 × 10 = 100 000.
    let btc = Symbol::new("BTCUSDT").unwrap();
    state
        .publish_prices(
            &[(
                btc,
                tradeengine_model::Price::new(Decimal::from(60_000)).unwrap(),
            )]
            .into(),
        )
        .await;
    state
        .update_account_view(
            &tradeengine_model::AccountName::new("paper").unwrap(),
            |v| v.value = Some(Decimal::from(10_000)),
        )
        .await;
    let err = intake
        .submit(buy("b-huge", Decimal::from(1_000_000_000)))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at most 100000"), "{err}");
    assert!(matches!(
        intake.submit(buy("b-ok", Decimal::ONE)).await.unwrap(),
        IntakeOutcome::Applied(_)
    ));
    // Both refusals are visible with their reason.
    let refused = store.refused_signals(None, 10).await.unwrap();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(
        refused.iter().all(|r| r.reason.contains("risk cap")),
        "{refused:?}"
    );
}

/// Pipelined group commit (a batch decided while the one before it commits): 64 callers each
/// send a chain of adds one after the other, as a broker delivers a source's messages in order,
/// so batches commit back to back. Every `Applied` answer is stored, each chain in its order,
/// the sleeve counts every add once, the audit chain verifies, and after a restart every signal
/// delivered again is a duplicate that changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_batches_store_every_answer_in_order_and_a_restart_knows_them() {
    use tradeengine_store::AuditKind;
    const CHAINS: usize = 64;
    const LEN: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    {
        let intake = intake(dir.path()).await;
        let tasks: Vec<_> = (0..CHAINS)
            .map(|c| {
                let intake = intake.clone();
                tokio::spawn(async move {
                    for i in 0..LEN {
                        let key = format!("c{c}-{i}");
                        let o = intake.submit(buy(&key, Decimal::ONE)).await.unwrap();
                        assert!(matches!(o, IntakeOutcome::Applied(_)), "{key}: {o:?}");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            exposure(&intake, "bus").await,
            SleeveOrigin::Base(Decimal::from(CHAINS * LEN))
        );
        let events = intake.store().audit_events(0, 10_000).await.unwrap();
        let mut next = [0usize; CHAINS];
        let mut accepted = 0;
        for e in events
            .iter()
            .filter(|e| e.kind == AuditKind::SignalAccepted)
        {
            let key = e.payload["idempotency_key"].as_str().unwrap();
            let (c, i) = key[1..].split_once('-').unwrap();
            let (c, i): (usize, usize) = (c.parse().unwrap(), i.parse().unwrap());
            assert_eq!(i, next[c], "chain {c} stored out of order");
            next[c] += 1;
            accepted += 1;
        }
        assert_eq!(accepted, CHAINS * LEN);
        assert!(intake.store().verify_audit().await.unwrap().is_ok());
    }
    let intake = intake(dir.path()).await;
    intake.restore().await.unwrap();
    let again = futures::future::join_all(
        (0..CHAINS).map(|c| intake.submit(buy(&format!("c{c}-{}", c % LEN), Decimal::ONE))),
    )
    .await;
    assert!(
        again
            .into_iter()
            .all(|o| o.unwrap() == IntakeOutcome::Duplicate)
    );
    assert_eq!(
        exposure(&intake, "bus").await,
        SleeveOrigin::Base(Decimal::from(CHAINS * LEN))
    );
}

/// A redelivery that arrives while its first delivery's batch is still committing lands in the
/// next batch, which was decided on the committing batch's sleeves: the store names it a
/// duplicate, the next batch is decided again without it, and the sleeve counts it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_behind_its_committing_batch_counts_once() {
    let dir = tempfile::tempdir().unwrap();
    let intake = intake(dir.path()).await;
    for round in 0..20 {
        let batch: Vec<_> = (0..30)
            .map(|k| {
                let intake = intake.clone();
                // Every key sent three times, spread over the round.
                let key = format!("r{round}-{}", k % 10);
                tokio::spawn(async move { intake.submit(buy(&key, Decimal::ONE)).await })
            })
            .collect();
        let mut applied = 0;
        for t in batch {
            if let IntakeOutcome::Applied(_) = t.await.unwrap().unwrap() {
                applied += 1;
            }
        }
        assert_eq!(applied, 10, "round {round}");
    }
    assert_eq!(
        exposure(&intake, "bus").await,
        SleeveOrigin::Base(Decimal::from(200))
    );
    assert!(intake.store().verify_audit().await.unwrap().is_ok());
}
