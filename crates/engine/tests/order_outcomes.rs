//! An order's final state comes from the venue, a failing order entry is an account error with
//! back-off, and a venue's business rejection backs the symbol off: each against the venue
//! simulators, asserting what the venue received (POSTs) and what the store holds.

#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)

mod sims;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sims::{ACCOUNT, Rig};
use tokio_util::sync::CancellationToken;
use tradeengine_engine::plan_ids::PlanIds;
use tradeengine_engine::worker::AccountWorker;
use tradeengine_model::{AccountName, OrderState, SystemClock};
use tradeengine_store::{AuditKind, OrderFilter, OrderUpdate, StoredOrder};
use tradeengine_venue_sim::{Fault, SimOptions, VenueId};

const ALL: [VenueId; 5] = [
    VenueId::Bybit,
    VenueId::Binance,
    VenueId::Blofin,
    VenueId::Kucoin,
    VenueId::Mexc,
];

fn account() -> AccountName {
    AccountName::new(ACCOUNT).unwrap()
}

async fn orders(rig: &Rig) -> Vec<StoredOrder> {
    rig.store
        .orders(&OrderFilter {
            account: Some(account()),
            ..OrderFilter::default()
        })
        .await
        .unwrap()
}

async fn events(rig: &Rig, kind: AuditKind) -> usize {
    rig.store
        .audit_events(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == kind)
        .count()
}

/// A second worker on the rig's venue, store and state: what a restart starts (a new boot,
/// so new plan ids), or the worker whose `run` loop a test drives.
async fn fresh_worker(rig: &Rig) -> AccountWorker {
    AccountWorker::new(
        account(),
        rig.venue.clone(),
        rig.store.clone(),
        Arc::new(SystemClock),
        rig.state.clone(),
        Arc::new(PlanIds::start(&*rig.store).await.unwrap()),
    )
}

async fn view(rig: &Rig) -> tradeengine_engine::state::AccountView {
    rig.state.account_view(&account()).await.unwrap_or_default()
}

/// The venue-rejection episodes the worker wrote to the store.
async fn published(rig: &Rig) -> serde_json::Value {
    rig.store
        .get_state(&tradeengine_engine::worker::rejections::state_key(
            &account(),
        ))
        .await
        .unwrap()
        .unwrap_or_default()
}

/// Waits (bounded) until `f` holds, polling every 5 ms; the instant it was seen.
async fn wait_for(what: &str, limit: Duration, mut f: impl AsyncFnMut() -> bool) -> Instant {
    let deadline = Instant::now() + limit;
    loop {
        if f().await {
            return Instant::now();
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_fill_answered_5xx_on_every_attempt_is_stored_filled_on_every_venue() {
    for (i, venue) in ALL.into_iter().enumerate() {
        let code = if i % 2 == 0 { 503 } else { 504 };
        let mut rig = Rig::start(venue, SimOptions::new(venue), &["BTCUSDT"], 1).await;
        rig.target("BTCUSDT", dec!(0.2)).await;
        // Every attempt: the venue takes the order (the first fills, the retries are refused as
        // duplicates) and answers 5xx.
        rig.sim
            .faults()
            .inject(rig.order_fault_path(), 3, Fault::StatusAfterAccept(code));
        let report = rig.cycle().await;
        assert_eq!(
            (report.filled, report.rejected),
            (1, 0),
            "{venue:?}: {report:?}"
        );
        // One POST: after the 5xx the engine asks the venue by client id before any retry,
        // finds the filled order and sends nothing again (Binance keeps client ids unique only
        // among open orders, so a re-sent id after a fill would double the position there).
        let posts = rig.order_requests();
        assert_eq!(posts, 1, "{venue:?}: {posts} POSTs");
        rig.sim.faults().clear();
        assert_eq!(rig.sim.orders().len(), 1, "{venue:?}");
        let held = rig.sim.position("BTCUSDT");
        assert!(held > Decimal::ZERO, "{venue:?}: the venue filled it");
        let stored = orders(&rig).await;
        assert_eq!(stored.len(), 1, "{venue:?}: {stored:?}");
        assert_eq!(stored[0].state, OrderState::Filled, "{venue:?}: {stored:?}");
        assert_eq!(stored[0].filled_qty, held, "{venue:?}");
        let fills = rig.store.fills(Some(&account()), 10).await.unwrap();
        assert_eq!(fills.len(), 1, "{venue:?}");
        assert_eq!(fills[0].qty, held, "{venue:?}");
        // Nothing is sent again: the position is where the target wants it.
        rig.cycle().await;
        assert_eq!(rig.order_requests(), posts, "{venue:?}: nothing re-sent");
        rig.assert_converged().await;
    }
}

#[tokio::test]
async fn a_failed_look_up_leaves_the_order_unknown_never_rejected() {
    let venue = VenueId::Bybit;
    let mut rig = Rig::start(venue, SimOptions::new(venue), &["BTCUSDT"], 1).await;
    rig.target("BTCUSDT", dec!(0.2)).await;
    rig.sim
        .faults()
        .inject(rig.order_fault_path(), 3, Fault::StatusAfterAccept(503));
    for path in ["/v5/order/realtime", "/v5/order/history"] {
        rig.sim.faults().inject(path, 100, Fault::Status(503));
    }
    let report = rig.cycle().await;
    assert_eq!(report.rejected, 0, "{report:?}");
    let stored = orders(&rig).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].state, OrderState::Unknown, "{stored:?}");
    // While it is unsettled, nothing new is planned for the symbol.
    rig.cycle().await;
    // One POST: the look-up after the 5xx failed, so nothing was re-sent on a guess.
    assert_eq!(rig.order_requests(), 1);
    assert_eq!(orders(&rig).await[0].state, OrderState::Unknown);
    // The venue answers again: the order is settled from its report, filled.
    rig.sim.faults().clear();
    rig.cycle().await;
    let stored = orders(&rig).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].state, OrderState::Filled, "{stored:?}");
    assert_eq!(stored[0].filled_qty, rig.sim.position("BTCUSDT"));
    assert_eq!(rig.order_requests(), 1, "nothing re-sent");
    // The session's counts (status, API, stop summary) include the order settled late.
    let v = view(&rig).await;
    assert_eq!((v.orders_filled, v.orders_rejected), (1, 0), "{v:?}");
    rig.assert_converged().await;
}

/// The panic button does not wait for an order the venue cannot confirm: while the look-ups
/// of an old order fail, a flatten still closes the symbol's position with a reduce-only
/// order (it cannot overshoot, whatever the old order does).
#[tokio::test]
async fn a_flatten_closes_a_symbol_whose_old_order_cannot_be_confirmed() {
    use tradeengine_engine::killswitch::{self, KillAction, new_switch};
    let venue = VenueId::Bybit;
    let mut rig = Rig::start(venue, SimOptions::new(venue), &["BTCUSDT"], 1).await;
    rig.target("BTCUSDT", dec!(0.2)).await;
    rig.sim
        .faults()
        .inject(rig.order_fault_path(), 1, Fault::StatusAfterAccept(503));
    for path in ["/v5/order/realtime", "/v5/order/history"] {
        rig.sim.faults().inject(path, 1_000, Fault::Status(503));
    }
    rig.cycle().await;
    assert_eq!(orders(&rig).await[0].state, OrderState::Unknown);
    let held = rig.sim.position("BTCUSDT");
    assert!(held > Decimal::ZERO, "the venue filled the first order");
    let switch = new_switch(KillAction::Flatten, None, "test", &SystemClock);
    killswitch::engage(&*rig.store, &switch).await.unwrap();
    rig.state
        .refresh_kill(&*rig.store, std::path::Path::new("/nonexistent-kill-dir"))
        .await;
    rig.cycle().await;
    assert_eq!(rig.sim.position("BTCUSDT"), Decimal::ZERO, "flattened");
    // The old order is still unconfirmed: only the flatten went out.
    let stored = orders(&rig).await;
    assert!(
        stored.iter().any(|o| o.state == OrderState::Unknown),
        "{stored:?}"
    );
    assert_eq!(rig.order_requests(), 2);
}

#[tokio::test]
async fn the_start_up_repair_corrects_an_order_an_older_version_stored_as_rejected() {
    let venue = VenueId::Bybit;
    let mut rig = Rig::start(venue, SimOptions::new(venue), &["BTCUSDT"], 1).await;
    rig.target("BTCUSDT", dec!(0.2)).await;
    rig.sim
        .faults()
        .inject(rig.order_fault_path(), 3, Fault::StatusAfterAccept(503));
    for path in ["/v5/order/realtime", "/v5/order/history"] {
        rig.sim.faults().inject(path, 100, Fault::Status(503));
    }
    rig.cycle().await;
    // What the previous version stored: `rejected`, nothing filled, the 503 as the error.
    let order = orders(&rig).await.remove(0);
    rig.store
        .update_order(
            &order.client_order_id,
            &OrderUpdate {
                error: Some("bybit: Retryable (code http_503): HTTP 503: venue error: {}".into()),
                ..OrderUpdate::new(OrderState::Rejected, chrono::Utc::now())
            },
        )
        .await
        .unwrap();
    assert!(
        rig.store
            .fills(Some(&account()), 10)
            .await
            .unwrap()
            .is_empty()
    );
    rig.sim.faults().clear();
    // A restart: the new worker's first cycle asks the venue and corrects the record.
    let mut worker = fresh_worker(&rig).await;
    worker.cycle().await.unwrap();
    let stored = orders(&rig).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].state, OrderState::Filled, "{stored:?}");
    let held = rig.sim.position("BTCUSDT");
    assert_eq!(stored[0].filled_qty, held);
    let fills = rig.store.fills(Some(&account()), 10).await.unwrap();
    assert_eq!(fills.len(), 1);
    assert_eq!(fills[0].qty, held);
    assert_eq!(rig.order_requests(), 1, "nothing re-sent");
}

#[tokio::test]
async fn an_order_entry_outage_backs_the_account_off_and_shows_in_its_view() {
    let venue = VenueId::Bybit;
    let rig = Rig::start(venue, SimOptions::new(venue), &["BTCUSDT"], 1).await;
    // Order entry answers 503 without acting, for as long as the test wants.
    rig.sim
        .faults()
        .inject(rig.order_fault_path(), 10_000, Fault::Status(503));
    let worker = fresh_worker(&rig).await;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(worker.run(shutdown.clone()));
    rig.target("BTCUSDT", dec!(0.2)).await;
    // Each plan is three attempts. With back-off the plans start 1 s, then 2 s apart at least
    // (without it, ~0.75 s: the follow-up of a cycle that sent something).
    let posts = |n: u64| {
        let rig = &rig;
        move || {
            let seen = rig.order_requests() >= n;
            async move { seen }
        }
    };
    let limit = Duration::from_secs(15);
    let third = wait_for("plan 1", limit, async || posts(3)().await).await;
    let fourth = wait_for("plan 2", limit, async || posts(4)().await).await;
    // Plan 2 started: cycle 1 is over and its view written.
    let failing = view(&rig).await;
    let sixth = wait_for("plan 2 done", limit, async || posts(6)().await).await;
    let seventh = wait_for("plan 3", limit, async || posts(7)().await).await;
    assert!(
        fourth - third >= Duration::from_millis(950),
        "first back-off {:?}",
        fourth - third
    );
    assert!(
        seventh - sixth >= Duration::from_millis(1950),
        "second back-off {:?}",
        seventh - sixth
    );
    // The account says so while it lasts: its error, and not reconciled.
    let now = view(&rig).await;
    for v in [&failing, &now] {
        let error = v.last_error.clone().unwrap_or_default();
        assert!(
            error.contains("order entry failing") && error.contains("503"),
            "{v:?}"
        );
        assert!(!v.reconciled, "{v:?}");
    }
    assert_eq!(rig.sim.orders().len(), 0, "the venue never acted");
    // The outage ends: the next attempt trades and the account is healthy again.
    rig.sim.faults().clear();
    wait_for("recovery", limit, async || {
        let v = view(&rig).await;
        v.reconciled && v.last_error.is_none() && rig.sim.position("BTCUSDT") > Decimal::ZERO
    })
    .await;
    shutdown.cancel();
    task.await.unwrap();
    let rejected: Vec<_> = orders(&rig)
        .await
        .into_iter()
        .filter(|o| o.state == OrderState::Filled)
        .collect();
    assert_eq!(rejected.len(), 1, "one order filled after the outage");
}

#[tokio::test]
async fn a_business_rejection_backs_the_symbol_off_and_is_audited_once_per_episode() {
    for venue in [VenueId::Mexc, VenueId::Kucoin] {
        let mut rig = Rig::start(venue, SimOptions::new(venue), &["BTCUSDT"], 1).await;
        rig.target("BTCUSDT", dec!(0.5)).await;
        rig.sim
            .faults()
            .inject(rig.order_fault_path(), 1_000, Fault::Reject);
        let report = rig.cycle().await;
        assert_eq!(report.rejected, 1, "{venue:?}: {report:?}");
        assert_eq!(rig.order_requests(), 1, "{venue:?}");
        assert_eq!(events(&rig, AuditKind::VenueRejected).await, 1, "{venue:?}");
        let v = view(&rig).await;
        let episode = v.venue_rejections.values().next().cloned().unwrap();
        assert_eq!(episode.attempts, 1, "{venue:?}: {v:?}");
        // Also in the store, for `tradeengine status`.
        assert_eq!(published(&rig).await["BTCUSDT"]["attempts"], 1, "{venue:?}");
        assert!(
            report.order_entry_error.is_none(),
            "{venue:?}: a refusal is not an outage"
        );
        // Right away: held, nothing sent.
        let held = rig.cycle().await;
        assert_eq!(rig.order_requests(), 1, "{venue:?}: {held:?}");
        assert!(
            held.symbol_errors
                .iter()
                .any(|e| e.to_string().contains("refused by the venue")),
            "{venue:?}: {held:?}"
        );
        // After the first back-off (1 s): tried again, refused again, not audited again.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        rig.cycle().await;
        assert_eq!(rig.order_requests(), 2, "{venue:?}");
        assert_eq!(events(&rig, AuditKind::VenueRejected).await, 1, "{venue:?}");
        assert_eq!(
            view(&rig)
                .await
                .venue_rejections
                .values()
                .next()
                .unwrap()
                .attempts,
            2
        );
        // The wait doubled: 1.1 s later it is still held.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        rig.cycle().await;
        assert_eq!(rig.order_requests(), 2, "{venue:?}: second back-off is 2 s");
        // A new target ends the episode at once: tried now (refused: a new episode).
        rig.target("BTCUSDT", dec!(0.4)).await;
        rig.cycle().await;
        assert_eq!(rig.order_requests(), 3, "{venue:?}");
        assert_eq!(events(&rig, AuditKind::VenueRejected).await, 2, "{venue:?}");
        // The venue stops refusing: after the back-off the symbol trades and the episode ends.
        rig.sim.faults().clear();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        rig.cycle().await;
        assert!(view(&rig).await.venue_rejections.is_empty(), "{venue:?}");
        assert_eq!(published(&rig).await, serde_json::json!({}), "{venue:?}");
        rig.assert_converged().await;
        let rejected = orders(&rig)
            .await
            .into_iter()
            .filter(|o| o.state == OrderState::Rejected)
            .count();
        assert_eq!(rejected, 3, "{venue:?}: one order per attempt, no more");
    }
}

#[tokio::test]
async fn an_opening_target_past_the_free_margin_is_cut_not_refused() {
    for venue in [VenueId::Mexc, VenueId::Kucoin] {
        // Two symbols at 0.8 of the account each, at leverage 1: 1.6 × the account's margin.
        let mut rig = Rig::start(venue, SimOptions::new(venue), &["BTCUSDT", "ETHUSDT"], 1).await;
        rig.target("BTCUSDT", dec!(0.8)).await;
        rig.target("ETHUSDT", dec!(0.8)).await;
        let report = rig.cycle().await;
        assert_eq!(report.rejected, 0, "{venue:?}: {report:?}");
        assert_eq!(report.filled, 2, "{venue:?}: {report:?}");
        // One request or two: both orders may go in one batch.
        let entered = rig.order_requests();
        assert!((1..=2).contains(&entered), "{venue:?}: {entered}");
        let btc = rig.sim.position("BTCUSDT");
        let eth = rig.sim.position("ETHUSDT");
        // BTC fits; ETH gets what is left above the 5 % reserve.
        assert!(btc > dec!(1.3), "{venue:?}: {btc}");
        assert!(eth > Decimal::ZERO && eth < dec!(26), "{venue:?}: {eth}");
        let used = btc * dec!(60000) + eth * dec!(3000);
        assert!(
            used <= rig.sim.equity() * dec!(0.95) + dec!(100),
            "{venue:?}: {used} of {}",
            rig.sim.equity()
        );
        // And it stays put: no top-up every cycle, nothing refused.
        for _ in 0..3 {
            rig.cycle().await;
        }
        assert_eq!(rig.order_requests(), entered, "{venue:?}");
        let rejected = orders(&rig)
            .await
            .into_iter()
            .filter(|o| o.state == OrderState::Rejected)
            .count();
        assert_eq!(rejected, 0, "{venue:?}");
    }
}

#[tokio::test]
async fn the_running_worker_retries_a_refused_symbol_on_its_back_off_schedule() {
    // The case: MEXC answering "insufficient balance" to every order. Before, a new
    // refused order every ~0.75 s (25 in 18 s); now 1 s, then 2 s, then 4 s apart — and the
    // worker wakes for each retry by itself (its drift check here is an hour away).
    let venue = VenueId::Mexc;
    let rig = Rig::start(venue, SimOptions::new(venue), &["BTCUSDT"], 1).await;
    rig.sim
        .faults()
        .inject(rig.order_fault_path(), 10_000, Fault::Reject);
    let worker = fresh_worker(&rig).await;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(worker.run(shutdown.clone()));
    rig.target("BTCUSDT", dec!(0.5)).await;
    let limit = Duration::from_secs(15);
    let mut at = Vec::new();
    for n in 1..=3u64 {
        at.push(
            wait_for("a refused attempt", limit, async || {
                rig.order_requests() >= n
            })
            .await,
        );
    }
    shutdown.cancel();
    task.await.unwrap();
    assert!(
        at[1] - at[0] >= Duration::from_millis(950),
        "{:?}",
        at[1] - at[0]
    );
    assert!(
        at[2] - at[1] >= Duration::from_millis(1950),
        "{:?}",
        at[2] - at[1]
    );
    assert_eq!(events(&rig, AuditKind::VenueRejected).await, 1);
    let v = view(&rig).await;
    assert_eq!(
        v.venue_rejections.values().next().map(|e| e.attempts),
        Some(3),
        "{v:?}"
    );
}
