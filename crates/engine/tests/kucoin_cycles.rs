//! The engine's reconciliation cycle and the simulator faults against the KuCoin Futures
//! simulator (lots of `multiplier`, `XBTUSDTM` names, leverage on every order, cross leverage
//! changed on an open position), with the order-path invariants of ARCHITECTURE.md checked
//! after each.
//!
//! KuCoin documents no minimum order value, so the minimum-notional cases of `venue_cycles.rs`
//! do not apply; the smallest order is one lot.

mod sims;

use std::time::Duration;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sims::Rig;
use tradeengine_model::Side;
use tradeengine_venue_sim::{Fault, SimOptions, VenueId};

const VENUE: VenueId = VenueId::Kucoin;

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
    // 0.2 × 100 000 / 60 000 = 0.3333… BTC = 333 lots of 0.001.
    assert_eq!(rig.sim.position("BTCUSDT"), dec!(0.333));
    // −0.1 × 100 000 / 3 000 = −3.333… ETH = −333 lots of 0.01.
    assert_eq!(rig.sim.position("ETHUSDT"), dec!(-3.33));
    // 0.05 × 100 000 / 150 = 33.33 SOL = 333 lots of 0.1.
    assert_eq!(rig.sim.position("SOLUSDT"), dec!(33.3));
    let before = rig.order_requests();
    let quiet = rig.cycle().await;
    assert_eq!(quiet.sent, 0, "{quiet:?}");
    assert_eq!(rig.order_requests(), before);
    rig.assert_converged().await;
}

/// Contracts whose lot is not one of KuCoin's own multipliers (the simulator's synthetic
/// `S001USDT`…, step 0.1): the simulator lists them as whole lots of `multiplier` = step, as real
/// KuCoin contracts are, so the planned lot counts are exact and a quiet cycle sends nothing.
/// (The five-venue benchmark once saw 10 orders on every quiet cycle here, from a fractional
/// `lotSize`.) The one `contracts/active` read per quiet cycle is the price read (KuCoin's mark
/// prices of every contract come from that endpoint in one request), not a rules refetch.
#[tokio::test]
async fn synthetic_contracts_trade_in_whole_lots_and_a_quiet_cycle_sends_nothing() {
    let symbols = ["S001USDT", "S002USDT", "S003USDT", "S004USDT"];
    let mut rig = Rig::start(VENUE, SimOptions::new(VENUE).with_synthetic(4), &symbols, 1).await;
    for (i, s) in symbols.iter().enumerate() {
        let sign = if i % 2 == 0 { dec!(1) } else { dec!(-1) };
        rig.target(s, sign * dec!(0.05)).await;
    }
    let report = rig.cycle().await;
    assert_eq!((report.sent, report.filled), (4, 4), "{report:?}");
    rig.assert_converged().await;
    // 0.05 × 100 000 / 11 = 454.54… → 454.5 on the 0.1 step, toward zero.
    assert_eq!(rig.sim.position("S001USDT"), dec!(454.5));
    let orders_before = rig.order_requests();
    let contracts_before = rig.sim.counters().get("GET", "/api/v1/contracts/active");
    for _ in 0..2 {
        let quiet = rig.cycle().await;
        assert_eq!(quiet.sent, 0, "{quiet:?}");
    }
    assert_eq!(rig.order_requests(), orders_before);
    assert_eq!(
        rig.sim.counters().get("GET", "/api/v1/contracts/active"),
        contracts_before + 2,
        "one price read per quiet cycle, and no contract-rules refetch"
    );
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
        close.reduce_only && close.side == Side::Sell && close.qty == dec!(0.333),
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

    let mut rig = rig_with_skew(20_000).await;
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
