//! Every simulator fault against the engine's cycle on every venue, with the order-path
//! invariants of ARCHITECTURE.md checked after each (`Rig::assert_converged`): no client order
//! id accepted twice at the venue, nothing left unsettled, and the position at its target within
//! one cycle of the fault clearing.
//!
//! Hyperliquid's simulator does not partially fill (it places every order as a limit, and the
//! simulated partial fill applies to market orders only), so that cell waits on the simulator.
//! Every Hyperliquid read is a `POST /info`, so a delay cannot be aimed at its positions read:
//! the slow-read cell does not apply (a delay on whichever `/info` comes first is covered by
//! the adapter's `latency_beyond_the_timeout_is_a_retryable_read`). Clock skew is no fault on
//! Hyperliquid (it signs a nonce, not a timestamp inside a window),
//! and the dropped private stream does not apply to it (its adapter has no stream).

use std::time::Duration;

use rust_decimal_macros::dec;
use tradeengine_venue_sim::{Fault, SimOptions};

use crate::cells;
use crate::sims::Rig;
use crate::venues::Row;

/// Two symbols with targets set, the next cycle to trade both. Where the order path also carries
/// the leverage setting (Hyperliquid's `/exchange`), a first cycle opens smaller positions so the
/// fault lands on an order, not on the leverage set before it: the scenario is then the move.
async fn rig(row: &Row) -> Rig {
    let mut rig = Rig::start(row.id, SimOptions::new(row.id), &["BTCUSDT", "ETHUSDT"], 1).await;
    if !row.order_path_is_orders_only {
        rig.target("BTCUSDT", dec!(0.1)).await;
        rig.target("ETHUSDT", dec!(-0.05)).await;
        rig.cycle().await;
        rig.assert_converged().await;
    }
    rig.target("BTCUSDT", dec!(0.2)).await;
    rig.target("ETHUSDT", dec!(-0.15)).await;
    rig
}

/// Orders the venue holds beyond the warm-up's.
fn new_orders(rig: &Rig, before: usize) -> usize {
    rig.sim.orders().len() - before
}

fn nothing_resent(rig: &Rig) {
    let submissions = rig.sim.client_id_submissions();
    assert!(submissions.values().all(|n| *n == 1), "{submissions:?}");
}

async fn server_errors_are_retried_with_the_same_client_id(row: &Row) {
    let mut rig = rig(row).await;
    let before = rig.sim.orders().len();
    rig.sim
        .faults()
        .inject(rig.order_fault_path(), 2, Fault::Status(503));
    let report = rig.cycle().await;
    assert_eq!(report.filled, 2, "{report:?}");
    rig.assert_converged().await;
    // The two refused attempts were re-sent under the same ids: two orders exist, and no id
    // beyond the plan's two.
    assert_eq!(new_orders(&rig, before), 2);
    assert_eq!(rig.sim.client_id_submissions().len(), before + 2);
    if row.order_path_is_orders_only {
        assert_eq!(rig.order_requests(), 4, "two refused, two placed");
    }
}

cells!(server_errors_are_retried_with_the_same_client_id: bybit, binance, blofin, kucoin, mexc, hyperliquid);

async fn rate_limits_are_waited_out(row: &Row) {
    let mut rig = rig(row).await;
    let before = rig.sim.orders().len();
    let retry_after = Duration::from_millis(300);
    rig.sim
        .faults()
        .inject(rig.order_fault_path(), 1, Fault::RateLimit { retry_after });
    let report = rig.cycle().await;
    assert_eq!(report.filled, 2, "{report:?}");
    rig.assert_converged().await;
    assert_eq!(new_orders(&rig, before), 2);
}

cells!(rate_limits_are_waited_out: bybit, binance, blofin, kucoin, mexc, hyperliquid);

async fn a_timeout_after_acceptance_is_settled_by_client_id_without_a_resend(row: &Row) {
    let mut rig = rig(row).await;
    let before = rig.sim.orders().len();
    rig.sim.faults().inject(
        rig.order_fault_path(),
        1,
        Fault::TimeoutAfterAccept {
            hold: Duration::from_millis(1500),
        },
    );
    // Settled by asking the venue for the client id within the same cycle.
    rig.cycle().await;
    // The lost answer was an order's: it was carried out in that cycle.
    assert_eq!(rig.sim.faults().pending(), 0);
    rig.assert_converged().await;
    rig.cycle().await;
    rig.assert_converged().await;
    assert_eq!(new_orders(&rig, before), 2, "one order per leg, not two");
    nothing_resent(&rig);
}

cells!(a_timeout_after_acceptance_is_settled_by_client_id_without_a_resend: bybit, binance, blofin, kucoin, mexc, hyperliquid);

async fn a_connection_dropped_after_acceptance_is_settled_by_client_id(row: &Row) {
    let mut rig = rig(row).await;
    let before = rig.sim.orders().len();
    rig.sim
        .faults()
        .inject(rig.order_fault_path(), 1, Fault::DropAfterAccept);
    rig.cycle().await;
    rig.assert_converged().await;
    assert_eq!(new_orders(&rig, before), 2);
    nothing_resent(&rig);
}

cells!(a_connection_dropped_after_acceptance_is_settled_by_client_id: bybit, binance, blofin, kucoin, mexc, hyperliquid);

async fn a_connection_dropped_before_acceptance_converges_next_cycle(row: &Row) {
    let mut rig = rig(row).await;
    rig.sim
        .faults()
        .inject(rig.order_fault_path(), 1, Fault::DropBeforeAccept);
    let first = rig.cycle().await;
    assert!(
        !first.symbol_errors.is_empty(),
        "the lost order is reported: {first:?}"
    );
    // The next cycle learns the venue never had it, and plans afresh under a new id.
    rig.cycle().await;
    rig.assert_converged().await;
    nothing_resent(&rig);
}

cells!(a_connection_dropped_before_acceptance_converges_next_cycle: bybit, binance, blofin, kucoin, mexc, hyperliquid);

async fn a_partial_fill_is_topped_up_next_cycle(row: &Row) {
    let mut rig = rig(row).await;
    rig.sim.faults().partial_fill_next(dec!(0.5));
    rig.cycle().await;
    rig.cycle().await;
    rig.assert_converged().await;
}

cells!(a_partial_fill_is_topped_up_next_cycle: bybit, binance, blofin, kucoin, mexc);

async fn clock_skew_is_corrected_within_the_cycle(row: &Row) {
    let skew = row.skew_ms.unwrap();
    for skew in [skew, -skew] {
        let mut rig = rig(row).await;
        rig.sim.faults().set_clock_skew_ms(skew);
        rig.cycle().await;
        rig.assert_converged().await;
    }
}

cells!(clock_skew_is_corrected_within_the_cycle: bybit, binance, blofin, kucoin, mexc);

async fn a_slow_read_fails_the_cycle_and_the_next_one_converges(row: &Row) {
    let mut rig = rig(row).await;
    rig.sim.faults().inject(
        rig.positions_path(),
        1,
        Fault::Delay(Duration::from_millis(1200)),
    );
    assert!(rig.try_cycle().await.is_err());
    assert!(
        rig.sim.orders().is_empty(),
        "nothing planned on a failed read"
    );
    if row.order_path_is_orders_only {
        assert_eq!(rig.order_requests(), 0);
    }
    rig.cycle().await;
    rig.assert_converged().await;
}

cells!(a_slow_read_fails_the_cycle_and_the_next_one_converges: bybit, binance, blofin, kucoin, mexc);

async fn a_dropped_private_stream_does_not_stop_reconciliation(row: &Row) {
    assert!(row.has_stream);
    let mut rig = rig(row).await;
    rig.drop_streams_once_connected().await;
    rig.cycle().await;
    rig.assert_converged().await;
    rig.target("BTCUSDT", dec!(-0.1)).await;
    rig.cycle().await;
    rig.assert_converged().await;
    // The adapter reconnects on its own schedule: wait for it (bounded), no fixed sleep.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while rig.sim.counters().stream_connections() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(rig.sim.counters().stream_connections() >= 2, "reconnected");
}

cells!(a_dropped_private_stream_does_not_stop_reconciliation: bybit, binance, blofin, kucoin, mexc, hyperliquid);
