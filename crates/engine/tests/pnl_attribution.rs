#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! P&L by source, live: two sources trade one paper account; the books rebuilt from the store
//! give each source its weighted share of the position, the sources plus unattributed equal the
//! account's P&L from its stored fills exactly, and a reopened store gives the same books.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use tradeengine_core::attribution::{Bucket, GroupBy};
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::pnl;
use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::{
    AccountName, Intent, Side, Signal, SignalId, SourceId, Symbol, SystemClock, TargetIntent,
};
use tradeengine_store::Store;

const CONFIG: &str = r#"
[engine]
drift_check_interval_secs = 1
data_dir = "DATA"
hot_reload = false
[[accounts]]
name = "main"
venue = "paper"
[sources.tv]
type = "rest"
[sources.ops]
type = "rest"
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = { tv = 0.6, ops = 0.4 }
"#;

fn signal(key: &str, source: &str, depth: Decimal) -> Signal {
    Signal {
        id: SignalId::new(key).unwrap(),
        source: SourceId::new(source).unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        intent: Intent::Target(TargetIntent {
            depth,
            leverage: None,
            reference_price: None,
        }),
        emitted_at: None,
        received_at: chrono::Utc::now(),
        idempotency_key: key.to_owned(),
        raw: serde_json::json!({}),
    }
}

/// Waits until the account's position from its stored fills equals its latest stored target
/// and that target is `want_sign` (+1 long, −1 short); returns the books then.
async fn settled(store: &dyn Store, account: &AccountName, want_sign: i32) -> pnl::Books {
    let start = Instant::now();
    loop {
        let target = store.targets(account).await.unwrap().into_iter().next();
        let books = pnl::rebuild(store, Some(account), None).await.unwrap();
        let held = books
            .ledger
            .book(account, &Symbol::new("BTCUSDT").unwrap())
            .map(|b| b.account().qty);
        if let (Some(t), Some(q)) = (target, held)
            && t.quantity == q
            && !q.is_zero()
            && (q.is_sign_positive() == (want_sign > 0))
        {
            return books;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for the position to settle"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The account's P&L straight from its stored fills, marked at `mark`.
async fn pnl_from_fills(store: &dyn Store, account: &AccountName, mark: Decimal) -> Decimal {
    let fills = store
        .fills_in_order(Some(account), 0, 10_000)
        .await
        .unwrap();
    let (mut qty, mut cash) = (Decimal::ZERO, Decimal::ZERO);
    for f in fills {
        let q = match f.fill.side {
            Side::Buy => f.fill.qty,
            Side::Sell => -f.fill.qty,
        };
        qty += q;
        cash -= q * f.fill.price.get() + f.fill.fee;
    }
    cash + qty * mark
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_source_owns_its_weighted_share_and_the_books_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let config = load_str(
        &CONFIG.replace("DATA", &dir.path().display().to_string()),
        None,
        &[],
        &Overrides::default(),
    )
    .unwrap();
    let engine = RunningEngine::start(
        config,
        store.clone(),
        StartOptions {
            clock: Arc::new(SystemClock),
            live_confirmed: false,
            config_path: None,
            env_overrides: Default::default(),
        },
    )
    .await
    .unwrap();
    let main = AccountName::new("main").unwrap();
    let btc = Symbol::new("BTCUSDT").unwrap();
    let (tv, ops) = (
        Bucket::Source(SourceId::new("tv").unwrap()),
        Bucket::Source(SourceId::new("ops").unwrap()),
    );

    // Both long the same depth: tv holds 0.6 of the position, ops 0.4.
    let half = Decimal::new(5, 1);
    engine
        .intake
        .submit(signal("tv-1", "tv", half))
        .await
        .unwrap();
    engine
        .intake
        .submit(signal("ops-1", "ops", half))
        .await
        .unwrap();
    let books = settled(&*store, &main, 1).await;
    let book = books.ledger.book(&main, &btc).unwrap();
    let (tq, oq) = (
        book.bucket(&tv).unwrap().qty,
        book.bucket(&ops).unwrap().qty,
    );
    assert!(tq > Decimal::ZERO && oq > Decimal::ZERO);
    // 3 : 2 up to the step rounding, which is unattributed.
    let step = Decimal::new(1, 3);
    assert!((tq * Decimal::from(2) - oq * Decimal::from(3)).abs() <= step * Decimal::from(3));

    // tv turns short and outweighs ops: the account goes short; ops keeps its long sleeve.
    engine
        .intake
        .submit(signal("tv-2", "tv", -Decimal::ONE))
        .await
        .unwrap();
    let books = settled(&*store, &main, -1).await;
    let book = books.ledger.book(&main, &btc).unwrap();
    assert!(book.bucket(&tv).unwrap().qty < Decimal::ZERO);
    assert!(book.bucket(&ops).unwrap().qty > Decimal::ZERO);
    engine.shutdown().await;

    let mark = books.marks[&btc];
    let report = pnl::report(&*store, Some(&main), GroupBy::Source, None)
        .await
        .unwrap();
    let names: Vec<&str> = report.lines.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["ops", "tv", "unattributed"]);
    let sum: Decimal = report.lines.iter().map(|l| l.pnl).sum();
    assert_eq!(sum, report.total.pnl);
    assert_eq!(
        report.total.pnl,
        pnl_from_fills(&*store, &main, mark.get()).await
    );
    let fees: Decimal = report.lines.iter().map(|l| l.fees).sum();
    assert_eq!(fees, report.total.fees);

    // The books survive a restart: a reopened store rebuilds the same report.
    drop(store);
    let reopened = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let again = pnl::report(&*reopened, Some(&main), GroupBy::Source, None)
        .await
        .unwrap();
    assert_eq!(again, report);
}
