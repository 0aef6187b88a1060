//! The engine's reconciliation cycle against the MEXC simulator: targets land on the contract
//! grid (`vol × contractSize`), reductions and closes go out with close side codes, a flip is a
//! close then an open, leverage reaches the venue, dust closes, and a venue that refuses API
//! order entry stops the plan with a clear error instead of retrying.

mod sims;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sims::Rig;
use tradeengine_model::Side;
use tradeengine_venue_sim::{SimOptions, VenueId};

const MEXC: VenueId = VenueId::Mexc;

#[tokio::test]
async fn targets_land_on_the_contract_grid_and_a_quiet_cycle_sends_nothing() {
    let mut rig = Rig::start(
        MEXC,
        SimOptions::new(MEXC),
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
    // 0.2 × 100 000 / 60 000 = 0.3333… BTC = 3333.3 contracts of 0.0001 → 3333.
    assert_eq!(rig.sim.position("BTCUSDT"), dec!(0.3333));
    // −0.1 × 100 000 / 3 000 = −3.333… ETH = −333.3 contracts of 0.01 → −333.
    assert_eq!(rig.sim.position("ETHUSDT"), dec!(-3.33));
    // 0.05 × 100 000 / 150 = 33.3 SOL, contracts of 1 SOL → 33.
    assert_eq!(rig.sim.position("SOLUSDT"), dec!(33));
    // Opens only: side codes 1 (buy) and 3 (sell), none reduce-only.
    assert!(rig.sim.orders().iter().all(|o| !o.reduce_only));

    let before = rig.order_requests();
    let quiet = rig.cycle().await;
    assert_eq!(quiet.sent, 0, "{quiet:?}");
    assert_eq!(rig.order_requests(), before);
    rig.assert_converged().await;
}

#[tokio::test]
async fn reductions_close_and_a_flip_closes_then_opens() {
    let mut rig = Rig::start(MEXC, SimOptions::new(MEXC), &["BTCUSDT"], 1).await;
    rig.target("BTCUSDT", dec!(0.2)).await;
    rig.cycle().await;
    // Halve it: one close-long (side 4) order, reduce-only.
    rig.target("BTCUSDT", dec!(0.1)).await;
    assert_eq!(rig.cycle().await.sent, 1);
    rig.assert_converged().await;
    let reduce = rig.sim.orders().last().cloned().unwrap();
    assert!(
        reduce.reduce_only && reduce.side == Side::Sell,
        "{reduce:?}"
    );
    let held = rig.sim.position("BTCUSDT");
    // Flip: close the whole long (4), then open the short (3).
    rig.target("BTCUSDT", dec!(-0.1)).await;
    assert_eq!(rig.cycle().await.sent, 2);
    rig.assert_converged().await;
    let orders = rig.sim.orders();
    let [.., close, open] = orders.as_slice() else {
        panic!("two orders expected")
    };
    assert!(
        close.reduce_only && close.side == Side::Sell && close.qty == held,
        "{close:?}"
    );
    assert!(!open.reduce_only && open.side == Side::Sell, "{open:?}");
    assert!(rig.sim.position("BTCUSDT") < Decimal::ZERO);
    // And back to flat with a close-short (2): buy, reduce-only.
    rig.target("BTCUSDT", dec!(0)).await;
    assert_eq!(rig.cycle().await.sent, 1);
    let last = rig.sim.orders().last().cloned().unwrap();
    assert!(last.reduce_only && last.side == Side::Buy, "{last:?}");
    assert_eq!(rig.sim.position("BTCUSDT"), dec!(0));
}

#[tokio::test]
async fn a_leverage_change_reaches_the_venue_and_resizes() {
    let mut rig = Rig::start(MEXC, SimOptions::new(MEXC), &["ETHUSDT"], 1).await;
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
    let before = rig.sim.counters().total();
    rig.cycle().await;
    let quiet = rig.sim.counters().total() - before;
    assert!(quiet <= 4, "{quiet} requests in a quiet cycle");
}

#[tokio::test]
async fn a_dust_position_still_closes() {
    // MEXC has no minimum order value: one contract (0.0001 BTC) opens and closes.
    let mut rig = Rig::start(MEXC, SimOptions::new(MEXC), &["BTCUSDT"], 1).await;
    rig.target("BTCUSDT", dec!(0.00006)).await;
    rig.cycle().await;
    assert_eq!(rig.sim.position("BTCUSDT"), dec!(0.0001));
    rig.target("BTCUSDT", dec!(0)).await;
    assert_eq!(rig.cycle().await.sent, 1);
    assert_eq!(rig.sim.position("BTCUSDT"), dec!(0));
    rig.assert_converged().await;
}

#[tokio::test]
async fn restricted_order_entry_stops_the_plan_without_retrying() {
    let mut options = SimOptions::new(MEXC);
    options.order_entry_restricted = true;
    let mut rig = Rig::start(MEXC, options, &["BTCUSDT", "ETHUSDT"], 1).await;
    rig.target("BTCUSDT", dec!(0.2)).await;
    rig.target("ETHUSDT", dec!(0.1)).await;
    let report = rig.cycle().await;
    assert_eq!((report.filled, report.rejected), (0, 2), "{report:?}");
    assert_eq!(report.symbol_errors.len(), 2, "{report:?}");
    assert!(
        report
            .symbol_errors
            .iter()
            .all(|e| e.to_string().contains("refuses API order entry")),
        "{report:?}"
    );
    // One attempt per order: a restriction is not retried.
    assert_eq!(rig.order_requests(), 2);
    assert!(rig.sim.orders().is_empty());
}
