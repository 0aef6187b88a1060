//! The engine's reconciliation cycle against both venue simulators: several symbols
//! reach their targets, flips close before they open, leverage changes reach the venue, orders
//! under the minimum notional are skipped while closes below it still go, and a cycle with
//! nothing to do sends nothing.

mod sims;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sims::Rig;
use tradeengine_model::Side;
use tradeengine_venue_sim::{SimOptions, VenueId};

const BOTH: [VenueId; 2] = [VenueId::Bybit, VenueId::Binance];

#[tokio::test]
async fn several_symbols_reach_their_targets_and_a_quiet_cycle_sends_nothing() {
    for venue in BOTH {
        let mut rig = Rig::start(
            venue,
            SimOptions::new(venue),
            &["BTCUSDT", "ETHUSDT", "SOLUSDT"],
            1,
        )
        .await;
        rig.target("BTCUSDT", dec!(0.2)).await;
        rig.target("ETHUSDT", dec!(-0.1)).await;
        rig.target("SOLUSDT", dec!(0.05)).await;
        let report = rig.cycle().await;
        assert_eq!(
            (report.sent, report.filled),
            (3, 3),
            "{venue:?}: {report:?}"
        );
        rig.assert_converged().await;
        // The snapshot the cycle stores is what the venue holds after it traded, not before:
        // `tradeengine positions` after a stop must not show the pre-trade book.
        let stored = rig.store.positions(None).await.unwrap();
        let held = |s: &str| {
            stored
                .iter()
                .map(|(_, p)| p)
                .find(|p| p.symbol.as_str() == s)
                .map_or(Decimal::ZERO, |p| p.size.get())
        };
        for s in ["BTCUSDT", "ETHUSDT", "SOLUSDT"] {
            assert_eq!(
                held(s),
                rig.sim.position(s),
                "{venue:?} {s}: stored snapshot"
            );
        }
        // 0.2 × 100 000 / 60 000 = 0.3333… → 0.333 BTC (step 0.001).
        assert_eq!(rig.sim.position("BTCUSDT"), dec!(0.333), "{venue:?}");
        assert!(rig.sim.position("ETHUSDT") < Decimal::ZERO);

        let before = rig.order_requests();
        let quiet = rig.cycle().await;
        assert_eq!(quiet.sent, 0, "{venue:?}: {quiet:?}");
        assert_eq!(
            rig.order_requests(),
            before,
            "{venue:?}: no order request when nothing changed"
        );
        rig.assert_converged().await;
    }
}

#[tokio::test]
async fn a_flip_closes_reduce_only_then_opens() {
    for venue in BOTH {
        let mut rig = Rig::start(venue, SimOptions::new(venue), &["BTCUSDT"], 1).await;
        rig.target("BTCUSDT", dec!(0.2)).await;
        rig.cycle().await;
        rig.target("BTCUSDT", dec!(-0.1)).await;
        let report = rig.cycle().await;
        assert_eq!(report.sent, 2, "{venue:?}");
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
        assert_eq!(rig.sim.position("BTCUSDT"), dec!(-0.167), "{venue:?}");
    }
}

#[tokio::test]
async fn a_leverage_change_reaches_the_venue_and_resizes() {
    for venue in BOTH {
        let mut rig = Rig::start(venue, SimOptions::new(venue), &["ETHUSDT"], 1).await;
        rig.target("ETHUSDT", dec!(0.3)).await;
        rig.cycle().await;
        rig.assert_converged().await;
        let at_one = rig.sim.position("ETHUSDT");
        rig.reconfigure(3);
        rig.state.notify_targets_changed();
        rig.cycle().await;
        assert_eq!(rig.sim.leverage("ETHUSDT"), dec!(3), "{venue:?}");
        rig.assert_converged().await;
        let at_three = rig.sim.position("ETHUSDT");
        assert!(
            at_three > at_one * dec!(2.9) && at_three < at_one * dec!(3.1),
            "{venue:?}: {at_one} → {at_three}"
        );
        // The venue now reports leverage 3: the next cycle does not set it again.
        let cycles_before = rig.sim.counters().total();
        rig.cycle().await;
        let per_quiet_cycle = rig.sim.counters().total() - cycles_before;
        assert!(
            per_quiet_cycle <= 4,
            "{venue:?}: {per_quiet_cycle} requests in a quiet cycle"
        );
    }
}

/// (symbol, depth, price after opening) that opens one minimum step whose notional then falls
/// under the venue's minimum: Bybit SOLUSDT 0.1 × 150 = 15 ≥ 5 then 0.1 × 40 = 4 < 5; Binance
/// BTCUSDT 0.002 × 60 000 = 120 ≥ 100 then 0.002 × 40 000 = 80 < 100.
fn small_position(venue: VenueId) -> (&'static str, Decimal, Decimal) {
    match venue {
        VenueId::Bybit => ("SOLUSDT", dec!(0.00015), dec!(40)),
        VenueId::Binance => ("BTCUSDT", dec!(0.0012), dec!(40000)),
        other => panic!("{other:?} has no minimum order value"),
    }
}

#[tokio::test]
async fn orders_under_the_minimum_notional_are_skipped() {
    for venue in BOTH {
        let (symbol, _, low) = small_position(venue);
        let mut rig = Rig::start(venue, SimOptions::new(venue), &[symbol], 1).await;
        rig.sim.set_price(symbol, low);
        // One minimum step at the low price: Bybit 0.1 SOL × 40 = 4 USDT < 5; Binance
        // 0.002 BTC × 40 000 = 80 USDT < 100. depth = step_qty × price / V.
        let depth = match venue {
            VenueId::Bybit => dec!(0.00004),
            VenueId::Binance => dec!(0.0008),
            other => panic!("{other:?} has no minimum order value"),
        };
        rig.target(symbol, depth).await;
        let report = rig.cycle().await;
        assert_eq!(report.sent, 0, "{venue:?}: {report:?}");
        assert!(
            rig.targets().await.values().all(|t| *t > Decimal::ZERO),
            "{venue:?}: a target exists"
        );
        assert_eq!(
            rig.order_requests(),
            0,
            "{venue:?}: refused before leaving the process"
        );
        assert_eq!(rig.sim.position(symbol), dec!(0));
    }
}

#[tokio::test]
async fn a_close_below_the_minimum_notional_still_goes() {
    for venue in BOTH {
        let (symbol, depth, low) = small_position(venue);
        let mut rig = Rig::start(venue, SimOptions::new(venue), &[symbol], 1).await;
        rig.target(symbol, depth).await;
        rig.cycle().await;
        rig.assert_converged().await;
        assert!(rig.sim.position(symbol) > Decimal::ZERO, "{venue:?}");
        rig.sim.set_price(symbol, low);
        rig.target(symbol, dec!(0)).await;
        let report = rig.cycle().await;
        assert_eq!(report.sent, 1, "{venue:?}: {report:?}");
        assert_eq!(rig.sim.position(symbol), dec!(0), "{venue:?}");
        assert!(rig.sim.orders().last().is_some_and(|o| o.reduce_only));
        rig.assert_converged().await;
    }
}
