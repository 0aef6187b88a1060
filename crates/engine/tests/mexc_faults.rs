//! Every simulator fault against the engine's cycle on MEXC, with the order-path invariants of
//! ARCHITECTURE.md checked after each: no `externalOid` accepted twice, nothing left unsettled, and
//! the position at its target within one cycle of the fault clearing.

mod sims;

use std::time::Duration;

use rust_decimal_macros::dec;
use sims::Rig;
use tradeengine_venue_sim::{Fault, SimOptions, VenueId};

async fn rig() -> Rig {
    let rig = Rig::start(
        VenueId::Mexc,
        SimOptions::new(VenueId::Mexc),
        &["BTCUSDT", "ETHUSDT"],
        1,
    )
    .await;
    rig.target("BTCUSDT", dec!(0.2)).await;
    rig.target("ETHUSDT", dec!(-0.15)).await;
    rig
}

#[tokio::test]
async fn server_errors_are_retried_with_the_same_external_oid() {
    let mut rig = rig().await;
    rig.sim
        .faults()
        .inject(rig.order_fault_path(), 2, Fault::Status(503));
    let report = rig.cycle().await;
    assert_eq!(report.filled, 2, "{report:?}");
    rig.assert_converged().await;
    assert_eq!(rig.sim.orders().len(), 2);
    assert_eq!(rig.order_requests(), 4);
    assert_eq!(rig.sim.client_id_submissions().len(), 2);
}

#[tokio::test]
async fn rate_limits_are_waited_out() {
    let mut rig = rig().await;
    rig.sim.faults().inject(
        rig.order_fault_path(),
        1,
        Fault::RateLimit {
            retry_after: Duration::from_millis(300),
        },
    );
    let report = rig.cycle().await;
    assert_eq!(report.filled, 2, "{report:?}");
    rig.assert_converged().await;
}

#[tokio::test]
async fn a_timeout_after_acceptance_is_settled_without_a_resend() {
    let mut rig = rig().await;
    rig.sim.faults().inject(
        rig.order_fault_path(),
        1,
        Fault::TimeoutAfterAccept {
            hold: Duration::from_millis(1500),
        },
    );
    rig.cycle().await;
    rig.assert_converged().await;
    assert!(rig.sim.client_id_submissions().values().all(|n| *n == 1));
}

#[tokio::test]
async fn a_connection_dropped_after_acceptance_is_settled() {
    let mut rig = rig().await;
    rig.sim
        .faults()
        .inject(rig.order_fault_path(), 1, Fault::DropAfterAccept);
    rig.cycle().await;
    rig.assert_converged().await;
    assert!(rig.sim.client_id_submissions().values().all(|n| *n == 1));
}

#[tokio::test]
async fn a_connection_dropped_before_acceptance_converges_next_cycle() {
    let mut rig = rig().await;
    rig.sim
        .faults()
        .inject(rig.order_fault_path(), 1, Fault::DropBeforeAccept);
    let first = rig.cycle().await;
    assert!(!first.symbol_errors.is_empty(), "{first:?}");
    rig.cycle().await;
    rig.assert_converged().await;
    assert!(rig.sim.client_id_submissions().values().all(|n| *n == 1));
}

#[tokio::test]
async fn a_partial_fill_is_topped_up_next_cycle() {
    let mut rig = rig().await;
    rig.sim.faults().partial_fill_next(dec!(0.5));
    rig.cycle().await;
    rig.cycle().await;
    rig.assert_converged().await;
}

#[tokio::test]
async fn clock_skew_is_corrected_within_the_cycle() {
    for skew in [20_000, -20_000] {
        let mut rig = rig().await;
        rig.sim.faults().set_clock_skew_ms(skew);
        rig.cycle().await;
        rig.assert_converged().await;
    }
}

#[tokio::test]
async fn a_slow_read_fails_the_cycle_and_the_next_one_converges() {
    let mut rig = rig().await;
    rig.sim.faults().inject(
        rig.positions_path(),
        1,
        Fault::Delay(Duration::from_millis(1200)),
    );
    assert!(rig.try_cycle().await.is_err());
    assert_eq!(rig.order_requests(), 0);
    rig.cycle().await;
    rig.assert_converged().await;
}

#[tokio::test]
async fn a_dropped_private_stream_does_not_stop_reconciliation() {
    let mut rig = rig().await;
    rig.drop_streams_once_connected().await;
    rig.cycle().await;
    rig.assert_converged().await;
    rig.target("BTCUSDT", dec!(-0.1)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    rig.cycle().await;
    rig.assert_converged().await;
    assert!(rig.sim.counters().stream_connections() >= 2);
}
