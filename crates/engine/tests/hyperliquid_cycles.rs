//! The engine's reconciliation cycle against the Hyperliquid simulator, which verifies every
//! action's signature and nonce: a position opens, moves, flips (a reduce-only close, then an
//! open) and closes; sizes land on `szDecimals`; leverage reaches the exchange; a quiet cycle
//! places nothing; an order whose answer is lost is settled by cloid, never sent twice.

mod sims;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sims::Rig;
use std::time::Duration;
use tradeengine_model::Side;

use tradeengine_venue_sim::{Fault, SimOptions, VenueId};

const HL: VenueId = VenueId::Hyperliquid;

#[tokio::test]
async fn a_position_opens_moves_flips_and_closes() {
    let mut rig = Rig::start(HL, SimOptions::new(HL), &["BTCUSDT", "ETHUSDT"], 1).await;
    // Open: 0.2 × 100 000 / 60 000 = 0.33333… BTC → 0.33333 (szDecimals 5).
    rig.target("BTCUSDT", dec!(0.2)).await;
    rig.target("ETHUSDT", dec!(-0.1)).await;
    let report = rig.cycle().await;
    assert_eq!((report.sent, report.filled), (2, 2), "{report:?}");
    rig.assert_converged().await;
    assert_eq!(rig.sim.position("BTCUSDT"), dec!(0.33333));
    // −0.1 × 100 000 / 3 000 = −3.3333… ETH → −3.3333 (szDecimals 4).
    assert_eq!(rig.sim.position("ETHUSDT"), dec!(-3.3333));
    assert!(rig.sim.orders().iter().all(|o| !o.reduce_only));

    // A quiet cycle places nothing.
    let placed = rig.sim.orders().len();
    let quiet = rig.cycle().await;
    assert_eq!(quiet.sent, 0, "{quiet:?}");
    assert_eq!(rig.sim.orders().len(), placed);

    // Move: halve the long with one reduce-only sell.
    rig.target("BTCUSDT", dec!(0.1)).await;
    assert_eq!(rig.cycle().await.sent, 1);
    rig.assert_converged().await;
    let reduce = rig.sim.orders().last().cloned().unwrap();
    assert!(
        reduce.reduce_only && reduce.side == Side::Sell,
        "{reduce:?}"
    );
    let held = rig.sim.position("BTCUSDT");

    // Flip: close the whole long reduce-only, then open the short.
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

    // Close: flat with one reduce-only buy.
    rig.target("BTCUSDT", dec!(0)).await;
    assert_eq!(rig.cycle().await.sent, 1);
    let last = rig.sim.orders().last().cloned().unwrap();
    assert!(last.reduce_only && last.side == Side::Buy, "{last:?}");
    assert_eq!(rig.sim.position("BTCUSDT"), dec!(0));
    rig.assert_converged().await;
    // Every order carried a cloid (the exchange's client id), each one once.
    assert!(rig.sim.orders().iter().all(|o| o.client_id.len() == 34));
}

#[tokio::test]
async fn a_leverage_change_reaches_the_exchange_and_resizes() {
    let mut rig = Rig::start(HL, SimOptions::new(HL), &["ETHUSDT"], 1).await;
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
}

#[tokio::test]
async fn an_order_whose_answer_is_lost_is_settled_by_cloid_and_never_resent() {
    let mut rig = Rig::start(HL, SimOptions::new(HL), &["SOLUSDT"], 1).await;
    rig.target("SOLUSDT", dec!(0.1)).await;
    rig.cycle().await;
    rig.assert_converged().await;
    // The next action is carried out, but its answer comes after the client gave up.
    rig.sim.faults().inject(
        rig.order_fault_path(),
        1,
        Fault::TimeoutAfterAccept {
            hold: Duration::from_secs(3),
        },
    );
    let before = rig.sim.orders().len();
    rig.target("SOLUSDT", dec!(0.2)).await;
    let _ = rig.try_cycle().await;
    // The lost answer was the order's: it was carried out in that cycle.
    assert_eq!(rig.sim.faults().pending(), 0);
    assert_eq!(rig.sim.orders().len(), before + 1);
    // Settled by asking the exchange for the cloid, whatever the first cycle concluded.
    rig.cycle().await;
    rig.assert_converged().await;
    assert_eq!(rig.sim.orders().len(), before + 1, "one order, not two");
    assert!(
        rig.sim.client_id_submissions().values().all(|n| *n == 1),
        "{:?}",
        rig.sim.client_id_submissions()
    );
}
