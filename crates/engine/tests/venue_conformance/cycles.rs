//! The cycle's order shapes on every venue: targets land on the venue's grid and the snapshot
//! stored is the one after trading; a quiet cycle sends nothing; a position opens, moves
//! (reduce-only), flips (a reduce-only close of all of it, then an open) and closes; a leverage
//! change reaches the venue and resizes without closing; the smallest position closes even
//! under the minimum order value, and an opening order under it is never sent.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tradeengine_model::Side;
use tradeengine_venue_sim::SimOptions;

use crate::cells;
use crate::sims::Rig;
use crate::venues::Row;

const THREE: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];

async fn targets_land_on_the_grid_and_a_quiet_cycle_sends_nothing(row: &Row) {
    let mut rig = Rig::start(row.id, SimOptions::new(row.id), &THREE, 1).await;
    rig.target("BTCUSDT", dec!(0.2)).await;
    rig.target("ETHUSDT", dec!(-0.1)).await;
    rig.target("SOLUSDT", dec!(0.05)).await;
    let report = rig.cycle().await;
    assert_eq!((report.sent, report.filled), (3, 3), "{report:?}");
    rig.assert_converged().await;
    for (s, want) in THREE.iter().zip(row.landed) {
        assert_eq!(rig.sim.position(s), want, "{s}");
    }
    // Opens only.
    assert!(rig.sim.orders().iter().all(|o| !o.reduce_only));
    // The snapshot the cycle stores is what the venue holds after it traded, not before:
    // `tradeengine positions` after a stop must not show the pre-trade book.
    let stored = rig.store.positions(None).await.unwrap();
    for s in THREE {
        let held = stored
            .iter()
            .map(|(_, p)| p)
            .find(|p| p.symbol.as_str() == s)
            .map_or(Decimal::ZERO, |p| p.size.get());
        assert_eq!(held, rig.sim.position(s), "{s}: stored snapshot");
    }
    let orders_before = rig.sim.orders().len();
    let requests_before = rig.order_requests();
    let quiet = rig.cycle().await;
    assert_eq!(quiet.sent, 0, "{quiet:?}");
    assert_eq!(rig.sim.orders().len(), orders_before);
    assert_eq!(
        rig.order_requests(),
        requests_before,
        "no order request when nothing changed"
    );
    rig.assert_converged().await;
}

cells!(targets_land_on_the_grid_and_a_quiet_cycle_sends_nothing: bybit, binance, blofin, kucoin, mexc, hyperliquid);

async fn a_position_opens_moves_flips_and_closes(row: &Row) {
    let mut rig = Rig::start(row.id, SimOptions::new(row.id), &["BTCUSDT"], 1).await;
    rig.target("BTCUSDT", dec!(0.2)).await;
    assert_eq!(rig.cycle().await.sent, 1);
    rig.assert_converged().await;
    // Move: halve it with one reduce-only sell.
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
}

cells!(a_position_opens_moves_flips_and_closes: bybit, binance, blofin, kucoin, mexc, hyperliquid);

async fn a_leverage_change_reaches_the_venue_and_resizes_without_closing(row: &Row) {
    let mut rig = Rig::start(row.id, SimOptions::new(row.id), &["ETHUSDT"], 1).await;
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
    // The venue now reports leverage 3: the next cycle does not set it again.
    let before = rig.sim.counters().total();
    let quiet = rig.cycle().await;
    assert_eq!(quiet.sent, 0, "{quiet:?}");
    let requests = rig.sim.counters().total() - before;
    assert!(requests <= 4, "{requests} requests in a quiet cycle");
}

cells!(a_leverage_change_reaches_the_venue_and_resizes_without_closing: bybit, binance, blofin, kucoin, mexc, hyperliquid);

async fn the_smallest_position_opens_and_closes(row: &Row) {
    let (symbol, depth, smallest, low) = row.smallest;
    let mut rig = Rig::start(row.id, SimOptions::new(row.id), &[symbol], 1).await;
    rig.target(symbol, depth).await;
    rig.cycle().await;
    rig.assert_converged().await;
    assert_eq!(rig.sim.position(symbol), smallest);
    // Where the venue has a minimum order value, the price falls until the position is under
    // it: closing is always allowed.
    if let Some(low) = low {
        rig.sim.set_price(symbol, low);
    }
    rig.target(symbol, dec!(0)).await;
    let report = rig.cycle().await;
    assert_eq!(report.sent, 1, "{report:?}");
    assert_eq!(rig.sim.position(symbol), dec!(0));
    assert!(rig.sim.orders().last().is_some_and(|o| o.reduce_only));
    rig.assert_converged().await;
}

cells!(the_smallest_position_opens_and_closes: bybit, binance, blofin, kucoin, mexc, hyperliquid);

/// Only where the venue has a minimum order value (BloFin, KuCoin and MEXC document none: the
/// smallest order is one lot).
async fn orders_under_the_minimum_notional_are_never_sent(row: &Row) {
    let (symbol, _, _, low) = row.smallest;
    let depth = row.under_minimum.unwrap();
    let mut rig = Rig::start(row.id, SimOptions::new(row.id), &[symbol], 1).await;
    rig.sim.set_price(symbol, low.unwrap());
    rig.target(symbol, depth).await;
    let report = rig.cycle().await;
    assert_eq!(report.sent, 0, "{report:?}");
    assert!(
        rig.targets().await.values().all(|t| *t > Decimal::ZERO),
        "a target exists"
    );
    if row.order_path_is_orders_only {
        assert_eq!(
            rig.order_requests(),
            0,
            "refused before leaving the process"
        );
    }
    assert!(rig.sim.orders().is_empty());
    assert_eq!(rig.sim.position(symbol), dec!(0));
}

cells!(orders_under_the_minimum_notional_are_never_sent: bybit, binance, hyperliquid);
