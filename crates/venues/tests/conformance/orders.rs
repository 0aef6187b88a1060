//! Order shapes: market orders that open, reduce, close and flip (reduce-only where they
//! shrink the position) in base units whatever the venue's units; a repeated client id answered
//! with the first order; refusals with the venue's code, and quantities off the venue's grid
//! refused before they are sent; a close under the minimum notional; limit orders that rest,
//! fill and cancel.
//!
//! Protective (stop) orders: the engine's order model has market and limit orders only
//! (`OrderKind`), so there is no stop shape to check on any venue.

use rust_decimal_macros::dec;
use tradeengine_model::{MarginMode, OrderState, Side};
use tradeengine_venues::VenueErrorKind;

use crate::adapter::setup;
use crate::sim::{assert_no_double_orders, id, limit, market, sym};
use crate::venues::Row;

async fn market_orders_open_reduce_close_and_flip(row: &Row) {
    let (sim, venue) = setup(row).await;
    let buy = venue
        .place_order(&market("c-buy-1", "BTCUSDT", Side::Buy, dec!(0.01), false))
        .await
        .unwrap();
    assert_eq!(buy.state, OrderState::Filled);
    assert_eq!(buy.filled_qty, dec!(0.01));
    assert!(!buy.reduce_only);
    assert_eq!(buy.client_order_id, id("c-buy-1"));
    assert_eq!(buy.avg_fill_price.map(|p| p.get()), Some(dec!(60000)));
    if let Some(fee) = row.fee {
        assert_eq!(buy.fee, fee);
        assert_eq!(venue.account_value().await.unwrap(), dec!(100000) - fee);
        // Price up 1 000: equity includes the unrealised 10 USDT.
        sim.set_price("BTCUSDT", dec!(61000));
        assert_eq!(venue.account_value().await.unwrap(), dec!(100010) - fee);
        sim.set_price("BTCUSDT", dec!(60000));
    }
    if let Some(path) = row.fill_query {
        assert_eq!(sim.counters().get("GET", path), 0, "the fill came streamed");
    }
    if let Some(t) = venue.tracker() {
        assert!(t.get("c-buy-1").is_some());
    }
    assert_eq!(sim.position("BTCUSDT"), dec!(0.01));
    let positions = venue.positions().await.unwrap();
    assert_eq!(positions.len(), 1);
    assert_eq!(positions[0].size.get(), dec!(0.01));
    assert_eq!(positions[0].entry_price.map(|p| p.get()), Some(dec!(60000)));
    // Nothing set: the account's defaults, cross at 1×.
    assert_eq!(
        (positions[0].leverage, positions[0].margin_mode),
        (dec!(1), MarginMode::Cross)
    );

    // Reduce, close the rest, open short (the flip), close the short.
    let reduce = venue
        .place_order(&market("c-red-1", "BTCUSDT", Side::Sell, dec!(0.002), true))
        .await
        .unwrap();
    assert!(reduce.reduce_only && reduce.side == Side::Sell);
    assert_eq!(sim.position("BTCUSDT"), dec!(0.008));
    let close = venue
        .place_order(&market("c-cls-1", "BTCUSDT", Side::Sell, dec!(0.008), true))
        .await
        .unwrap();
    assert_eq!(close.state, OrderState::Filled);
    assert_eq!(sim.position("BTCUSDT"), dec!(0));
    let short = venue
        .place_order(&market("c-opn-1", "BTCUSDT", Side::Sell, dec!(0.02), false))
        .await
        .unwrap();
    assert_eq!(short.state, OrderState::Filled);
    assert_eq!(sim.position("BTCUSDT"), dec!(-0.02));
    assert_eq!(venue.positions().await.unwrap()[0].size.get(), dec!(-0.02));
    let q = venue
        .order_by_client_id(&sym("BTCUSDT"), &id("c-opn-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((q.state, q.qty), (OrderState::Filled, dec!(0.02)));
    assert_eq!(
        (q.filled_qty, q.avg_fill_price.map(|p| p.get())),
        (dec!(0.02), Some(dec!(60000)))
    );
    assert!(
        venue
            .order_by_client_id(&sym("BTCUSDT"), &id("never-sent"))
            .await
            .unwrap()
            .is_none()
    );
    venue
        .place_order(&market("c-cls-2", "BTCUSDT", Side::Buy, dec!(0.02), true))
        .await
        .unwrap();
    assert_eq!(sim.position("BTCUSDT"), dec!(0));
    // What the venue received: sides and reduce-only flags as meant (MEXC's side codes 1, 4,
    // 4, 3, 2; everyone else's side plus reduce-only).
    let seen: Vec<(Side, bool)> = sim
        .orders()
        .iter()
        .map(|o| (o.side, o.reduce_only))
        .collect();
    assert_eq!(
        seen,
        vec![
            (Side::Buy, false),
            (Side::Sell, true),
            (Side::Sell, true),
            (Side::Sell, false),
            (Side::Buy, true),
        ]
    );
    assert_no_double_orders(&sim);
}

cells!(market_orders_open_reduce_close_and_flip: bybit, binance, blofin, kucoin, mexc, hyperliquid);

async fn a_repeated_client_id_returns_the_first_order(row: &Row) {
    let (sim, venue) = setup(row).await;
    let order = market("c-dup-1", "ETHUSDT", Side::Buy, dec!(0.5), false);
    let first = venue.place_order(&order).await.unwrap();
    let again = venue.place_order(&order).await.unwrap();
    assert_eq!(first.venue_order_id, again.venue_order_id);
    assert_eq!(
        sim.position("ETHUSDT"),
        dec!(0.5),
        "the retry must not double the position"
    );
    assert_eq!(
        sim.client_id_submissions()[&(row.wire_id)("c-dup-1")],
        row.duplicate_submissions
    );
    assert_eq!(sim.orders().len(), 1);
}

cells!(a_repeated_client_id_returns_the_first_order: bybit, binance, blofin, kucoin, mexc, hyperliquid);

async fn refusals_carry_the_venue_code(row: &Row) {
    let (sim, venue) = setup(row).await;
    let e = venue
        .place_order(&market("c-ro-1", "BTCUSDT", Side::Sell, dec!(0.01), true))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Rejected, Some(row.reduce_only_refused)),
        "{e}"
    );
    if let Some(code) = row.insufficient_margin {
        let e = venue
            .place_order(&market("c-im-1", "BTCUSDT", Side::Buy, dec!(2), false))
            .await
            .unwrap_err();
        assert_eq!(
            (e.kind, e.code.as_deref()),
            (VenueErrorKind::Rejected, Some(code)),
            "{e}"
        );
    }
    if let Some((symbol, qty, low, code)) = row.min_notional {
        sim.set_price(symbol, low);
        let e = venue
            .place_order(&market("c-mn-1", symbol, Side::Buy, qty, false))
            .await
            .unwrap_err();
        assert_eq!(e.code.as_deref(), Some(code), "{e}");
        assert!(e.message.contains("minimum"), "{}", e.message);
    }
    // Off the venue's grid: refused before it leaves the process.
    let before = sim.counters().get("POST", row.profile().order_entry);
    let e = venue
        .place_order(&market(
            "c-step-1",
            "BTCUSDT",
            Side::Buy,
            row.off_step_btc,
            false,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("bad_qty"));
    assert_eq!(
        sim.counters().get("POST", row.profile().order_entry),
        before
    );
    assert!(sim.orders().is_empty());
}

cells!(refusals_carry_the_venue_code: bybit, binance, blofin, kucoin, mexc, hyperliquid);

/// Only where the venue has a minimum order value: BloFin, KuCoin and MEXC document none (the
/// smallest order is one lot, which always closes).
async fn a_close_below_min_notional_goes_through_reduce_only(row: &Row) {
    let (symbol, qty, low, _) = row.min_notional.unwrap();
    let (sim, venue) = setup(row).await;
    venue
        .place_order(&market("c-c-1", symbol, Side::Buy, qty, false))
        .await
        .unwrap();
    sim.set_price(symbol, low);
    let close = venue
        .place_order(&market("c-c-2", symbol, Side::Sell, qty, true))
        .await
        .unwrap();
    assert_eq!(close.state, OrderState::Filled);
    assert_eq!(sim.position(symbol), dec!(0));
}

cells!(a_close_below_min_notional_goes_through_reduce_only: bybit, binance, hyperliquid);

async fn limit_orders_rest_fill_and_cancel(row: &Row) {
    let (sim, venue) = setup(row).await;
    let btc = sym("BTCUSDT");
    let resting = venue
        .place_order(&limit(
            "c-lim-1",
            "BTCUSDT",
            Side::Buy,
            dec!(0.01),
            dec!(59000),
        ))
        .await
        .unwrap();
    assert_eq!(resting.state, OrderState::Acknowledged);
    assert_eq!(sim.orders().last().unwrap().price, Some(dec!(59000)));
    let open = venue.open_orders(Some(&btc)).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].client_order_id.clone(), open[0].qty),
        (id("c-lim-1"), dec!(0.01))
    );
    assert_eq!(venue.open_orders(None).await.unwrap().len(), 1);
    let found = venue
        .order_by_client_id(&btc, &id("c-lim-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.state, OrderState::Acknowledged);
    let cancelled = venue.cancel_order(&btc, &id("c-lim-1")).await.unwrap();
    assert_eq!(cancelled.state, OrderState::Cancelled);
    // Cancelling again reports what it became rather than failing.
    let again = venue.cancel_order(&btc, &id("c-lim-1")).await.unwrap();
    assert_eq!(again.state, OrderState::Cancelled);
    assert!(venue.open_orders(None).await.unwrap().is_empty());

    venue
        .place_order(&limit(
            "c-lim-2",
            "BTCUSDT",
            Side::Buy,
            dec!(0.01),
            dec!(59000),
        ))
        .await
        .unwrap();
    sim.set_price("BTCUSDT", dec!(58900));
    let filled = venue.wait_filled(&btc, &id("c-lim-2")).await.unwrap();
    assert_eq!(filled.avg_fill_price.map(|p| p.get()), Some(dec!(59000)));
    assert_eq!(filled.filled_qty, dec!(0.01));
    assert_eq!(sim.position("BTCUSDT"), dec!(0.01));
    let e = venue
        .cancel_order(&btc, &id("never-placed"))
        .await
        .unwrap_err();
    if let Some(code) = row.cancel_unknown {
        assert_eq!(e.code.as_deref(), Some(code), "{e}");
    }
    assert!(!e.may_have_acted(), "{e}");
}

cells!(limit_orders_rest_fill_and_cancel: bybit, binance, blofin, kucoin, mexc, hyperliquid);
