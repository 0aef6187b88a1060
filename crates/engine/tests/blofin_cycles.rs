//! The engine's reconciliation cycle and the simulator faults against the BloFin simulator
//! (contract sizing, `BTC-USDT` names, net mode), with the order-path invariants of ARCHITECTURE.md
//! checked after each: no client order id accepted twice, nothing left unsettled, positions at
//! target.
//!
//! BloFin documents no minimum order value, so the minimum-notional cases of `venue_cycles.rs`
//! do not apply; the smallest order is one lot (`minSize` contracts).

mod sims;

use std::time::Duration;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sims::Rig;
use tradeengine_model::Side;
use tradeengine_venue_sim::{Fault, SimOptions, VenueId};

const VENUE: VenueId = VenueId::Blofin;

async fn two_symbols() -> Rig {
    let rig = Rig::start(VENUE, SimOptions::new(VENUE), &["BTCUSDT", "ETHUSDT"], 1).await;
    rig.target("BTCUSDT", dec!(0.2)).await;
    rig.target("ETHUSDT", dec!(-0.15)).await;
    rig
}

#[tokio::test]
async fn several_symbols_reach_their_targets_in_contracts_and_a_quiet_cycle_sends_nothing() {
    let mut rig = Rig::start(
        VENUE,
        SimOptions::new(VENUE),
        &["BTCUSDT", "ETHUSDT", "SOLUSDT"],
        1,
    )
    .await;
    rig.target("BTCUSDT", dec!(0.2)).await;
    rig.target("ETHUSDT", dec!(-0.1)).await;
    rig.target("SOLUSDT", dec!(0.05)).await;
    let report = rig.cycle().await;
    assert_eq!((report.sent, report.filled), (3, 3), "{report:?}");
    rig.assert_converged().await;
    // 0.2 × 100 000 / 60 000 = 0.3333… BTC = 333.3 contracts of 0.001 (lot 0.1).
    assert_eq!(rig.sim.position("BTCUSDT"), dec!(0.3333));
    // −0.1 × 100 000 / 3 000 = −3.333… ETH = −333.3 contracts of 0.01.
    assert_eq!(rig.sim.position("ETHUSDT"), dec!(-3.333));
    // 0.05 × 100 000 / 150 = 33.3 SOL, contract 1 SOL: 33.
    assert_eq!(rig.sim.position("SOLUSDT"), dec!(33));
    let before = rig.order_requests();
    let quiet = rig.cycle().await;
    assert_eq!(quiet.sent, 0, "{quiet:?}");
    assert_eq!(rig.order_requests(), before);
    rig.assert_converged().await;
}

#[tokio::test]
async fn a_flip_closes_reduce_only_then_opens() {
    let mut rig = Rig::start(VENUE, SimOptions::new(VENUE), &["BTCUSDT"], 1).await;
    rig.target("BTCUSDT", dec!(0.2)).await;
    rig.cycle().await;
    rig.target("BTCUSDT", dec!(-0.1)).await;
    let report = rig.cycle().await;
    assert_eq!(report.sent, 2);
    rig.assert_converged().await;
    let orders = rig.sim.orders();
    let [.., close, open] = orders.as_slice() else {
        panic!("two orders expected")
    };
    assert!(
        close.reduce_only && close.side == Side::Sell && close.qty == dec!(0.3333),
        "{close:?}"
    );
    assert!(!open.reduce_only && open.side == Side::Sell, "{open:?}");
    assert!(rig.sim.position("BTCUSDT") < Decimal::ZERO);
}

#[tokio::test]
async fn a_leverage_change_reaches_the_venue_without_closing_and_resizes() {
    let mut rig = Rig::start(VENUE, SimOptions::new(VENUE), &["ETHUSDT"], 1).await;
    rig.target("ETHUSDT", dec!(0.3)).await;
    rig.cycle().await;
    rig.assert_converged().await;
    let at_one = rig.sim.position("ETHUSDT");
    rig.reconfigure(3);
    rig.state.notify_targets_changed();
    rig.cycle().await;
    assert_eq!(rig.sim.leverage("ETHUSDT"), dec!(3));
    rig.assert_converged().await;
    let at_three = rig.sim.position("ETHUSDT");
    assert!(
        at_three > at_one * dec!(2.9) && at_three < at_one * dec!(3.1),
        "{at_one} → {at_three}"
    );
    // The position was never closed to change leverage: every order grew it.
    assert!(rig.sim.orders().iter().all(|o| o.side == Side::Buy));
}

#[tokio::test]
async fn server_errors_rate_limits_and_drops_converge_without_doubling() {
    let faults = [
        Fault::Status(503),
        Fault::RateLimit {
            retry_after: Duration::from_millis(300),
        },
        Fault::TimeoutAfterAccept {
            hold: Duration::from_millis(1500),
        },
        Fault::DropAfterAccept,
    ];
    for fault in faults {
        let mut rig = two_symbols().await;
        rig.sim
            .faults()
            .inject(rig.order_fault_path(), 1, fault.clone());
        rig.cycle().await;
        rig.cycle().await;
        rig.assert_converged().await;
        assert_eq!(rig.sim.orders().len(), 2, "{fault:?}");
    }
}

#[tokio::test]
async fn a_connection_dropped_before_acceptance_converges_next_cycle() {
    let mut rig = two_symbols().await;
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
async fn partial_fills_skew_slow_reads_and_dropped_streams_converge() {
    let mut rig = two_symbols().await;
    rig.sim.faults().partial_fill_next(dec!(0.5));
    rig.cycle().await;
    rig.cycle().await;
    rig.assert_converged().await;

    let mut rig = rig_with_skew(90_000).await;
    rig.cycle().await;
    rig.assert_converged().await;

    let mut rig = two_symbols().await;
    rig.sim.faults().inject(
        rig.positions_path(),
        1,
        Fault::Delay(Duration::from_millis(1200)),
    );
    assert!(rig.try_cycle().await.is_err());
    assert_eq!(rig.order_requests(), 0);
    rig.cycle().await;
    rig.assert_converged().await;

    let mut rig = two_symbols().await;
    rig.drop_streams_once_connected().await;
    rig.cycle().await;
    rig.assert_converged().await;
    rig.target("BTCUSDT", dec!(-0.1)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    rig.cycle().await;
    rig.assert_converged().await;
    assert!(rig.sim.counters().stream_connections() >= 2);
}

async fn rig_with_skew(skew_ms: i64) -> Rig {
    let rig = two_symbols().await;
    rig.sim.faults().set_clock_skew_ms(skew_ms);
    rig
}
