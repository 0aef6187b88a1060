//! Leverage and margin mode: a setting reaches the venue, setting it again is success ("not
//! modified" is not an error), an impossible leverage is refused, the position opened after
//! carries both; leverage changes on an open position without closing it, and a margin-mode
//! change with a position open is refused with the venue's code where the venue refuses it
//! (`margin_locked`: Binance, BloFin, KuCoin, MEXC).
//!
//! How each venue gets there differs and stays in its own file: Bybit's account-wide margin
//! mode sent once (`bybit_adapter.rs`), Binance's fractional leverage, BloFin's account-wide
//! mode compared before sending, KuCoin's isolated leverage riding on the order, MEXC's
//! leverage travelling with the opening order and changed by position id, Hyperliquid's mode
//! change keeping the leverage.

use rust_decimal_macros::dec;
use tradeengine_model::{MarginMode, Side};
use tradeengine_venues::VenueErrorKind;

use crate::adapter::setup;
use crate::sim::{market, sym};
use crate::venues::Row;

async fn leverage_and_margin_mode_reach_the_venue(row: &Row) {
    // Isolated, at 5×: both set while flat, both carried by the position opened after.
    let (sim, venue) = setup(row).await;
    let eth = sym("ETHUSDT");
    venue
        .set_margin_mode(&eth, MarginMode::Isolated)
        .await
        .unwrap();
    venue
        .set_margin_mode(&eth, MarginMode::Isolated)
        .await
        .unwrap();
    venue.set_leverage(&eth, dec!(5)).await.unwrap();
    venue.set_leverage(&eth, dec!(5)).await.unwrap();
    let e = venue.set_leverage(&eth, dec!(500)).await.unwrap_err();
    assert_eq!(e.kind, VenueErrorKind::Rejected, "{e}");
    venue
        .place_order(&market("c-lev-1", "ETHUSDT", Side::Buy, dec!(1), false))
        .await
        .unwrap();
    assert_eq!(sim.leverage("ETHUSDT"), dec!(5));
    let p = venue.positions().await.unwrap();
    assert_eq!(
        (p[0].leverage, p[0].margin_mode),
        (dec!(5), MarginMode::Isolated)
    );
}

cells!(leverage_and_margin_mode_reach_the_venue: bybit, binance, blofin, kucoin, mexc, hyperliquid);

async fn leverage_changes_on_an_open_position_and_the_margin_mode_does_not(row: &Row) {
    // Cross (every simulator's default), at 5×, then 3× with the position open.
    let (sim, venue) = setup(row).await;
    let eth = sym("ETHUSDT");
    venue.set_leverage(&eth, dec!(5)).await.unwrap();
    venue
        .place_order(&market("c-lev-2", "ETHUSDT", Side::Buy, dec!(1), false))
        .await
        .unwrap();
    assert_eq!(sim.leverage("ETHUSDT"), dec!(5));
    venue.set_leverage(&eth, dec!(3)).await.unwrap();
    assert_eq!(sim.leverage("ETHUSDT"), dec!(3));
    // Not closed to change it.
    assert_eq!(sim.position("ETHUSDT"), dec!(1));
    assert_eq!(sim.orders().len(), 1);
    let p = venue.positions().await.unwrap();
    assert_eq!(
        (p[0].leverage, p[0].margin_mode),
        (dec!(3), MarginMode::Cross)
    );
    if let Some(code) = row.margin_locked {
        let e = venue
            .set_margin_mode(&eth, MarginMode::Isolated)
            .await
            .unwrap_err();
        assert_eq!(
            (e.kind, e.code.as_deref()),
            (VenueErrorKind::Rejected, Some(code)),
            "{e}"
        );
    }
}

cells!(leverage_changes_on_an_open_position_and_the_margin_mode_does_not: bybit, binance, blofin, kucoin, mexc, hyperliquid);
