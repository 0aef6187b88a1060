//! A success envelope without its result field (`data` on BloFin, KuCoin and MEXC, `result` on
//! Bybit): a read (positions, open orders, balance) is refused with an error naming the field,
//! never taken as "nothing there"; an order entry is an ambiguous outcome, to be settled by
//! client order id. (Bybit's order entry reads only `retCode` and then looks the order up by
//! client id; Binance's replies have no envelope.)
#![allow(clippy::unwrap_used)]

mod sim;

use std::sync::Arc;
use std::time::Duration;

use rust_decimal_macros::dec;
use sim::*;
use tradeengine_model::Side;
use tradeengine_venue_sim::{Fault, SimHandle, SimOptions, VenueId};
use tradeengine_venues::connect::connect;
use tradeengine_venues::{Venue, VenueError, VenueErrorKind};

/// One venue's paths, and its success envelope with the result field left out.
struct Row {
    venue: VenueId,
    /// The envelope's result field.
    field: &'static str,
    empty_success: &'static str,
    positions: &'static str,
    open_orders: &'static str,
    balance: &'static str,
    order_entry: Option<&'static str>,
}

const ROWS: [Row; 4] = [
    Row {
        venue: VenueId::Bybit,
        field: "result",
        empty_success: r#"{"retCode":0,"retMsg":"OK","time":1700000000000}"#,
        positions: "/v5/position/list",
        open_orders: "/v5/order/realtime",
        balance: "/v5/account/wallet-balance",
        order_entry: None,
    },
    Row {
        venue: VenueId::Blofin,
        field: "data",
        empty_success: r#"{"code":"0","msg":"success"}"#,
        positions: "/api/v1/account/positions",
        open_orders: "/api/v1/trade/orders-pending",
        balance: "/api/v1/account/balance",
        order_entry: Some("/api/v1/trade/order"),
    },
    Row {
        venue: VenueId::Kucoin,
        field: "data",
        empty_success: r#"{"code":"200000"}"#,
        positions: "/api/v1/positions",
        open_orders: "GET /api/v1/orders",
        balance: "/api/v1/account-overview",
        order_entry: Some("POST /api/v1/orders"),
    },
    Row {
        venue: VenueId::Mexc,
        field: "data",
        empty_success: r#"{"success":true,"code":0}"#,
        positions: "/api/v1/private/position/open_positions",
        open_orders: "/api/v1/private/order/list/open_orders",
        balance: "/api/v1/private/account/asset/USDT",
        order_entry: Some("/api/v1/private/order/submit"),
    },
];

async fn setup(venue: VenueId) -> (SimHandle, Arc<dyn Venue>) {
    let sim = start(venue, SimOptions::new(venue)).await;
    let adapter = connect(venue, config(&sim)).await.unwrap();
    (sim, adapter)
}

fn assert_missing_data<T: std::fmt::Debug>(row: &Row, what: &str, got: Result<T, VenueError>) {
    let e = got.expect_err(&format!(
        "{:?} {what}: a reply without data was accepted",
        row.venue
    ));
    assert_eq!(
        e.kind,
        VenueErrorKind::Internal,
        "{:?} {what}: {e}",
        row.venue
    );
    assert_eq!(
        e.code.as_deref(),
        Some("missing_data"),
        "{:?} {what}: {e}",
        row.venue
    );
    let named = format!("`{}`", row.field);
    assert!(e.message.contains(&named), "{:?} {what}: {e}", row.venue);
}

#[tokio::test]
async fn a_read_without_data_is_refused_not_read_as_empty() {
    for row in &ROWS {
        let (sim, venue) = setup(row.venue).await;
        // The account holds a position, so an empty read would be a false picture.
        venue
            .place_order(&market(
                "md-open-1",
                "BTCUSDT",
                Side::Buy,
                dec!(0.01),
                false,
            ))
            .await
            .unwrap();
        let body = || Fault::Body(row.empty_success.to_string());
        sim.faults().inject(row.positions, 1, body());
        assert_missing_data(row, "positions", venue.positions().await);
        sim.faults().inject(row.open_orders, 1, body());
        assert_missing_data(row, "open orders", venue.open_orders(None).await);
        sim.faults().inject(row.balance, 1, body());
        assert_missing_data(row, "balance", venue.account_balance().await);
        // With the venue's real reply the same reads see the position.
        assert_eq!(venue.positions().await.unwrap().len(), 1, "{:?}", row.venue);
    }
}

#[tokio::test]
async fn an_order_entry_without_data_is_ambiguous() {
    for row in &ROWS {
        let Some(order_entry) = row.order_entry else {
            continue;
        };
        let (sim, venue) = setup(row.venue).await;
        sim.faults()
            .inject(order_entry, 1, Fault::Body(row.empty_success.to_string()));
        let order = market("md-entry-1", "BTCUSDT", Side::Buy, dec!(0.01), false);
        let e = tokio::time::timeout(Duration::from_secs(5), venue.place_order(&order))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(e.kind, VenueErrorKind::Ambiguous, "{:?}: {e}", row.venue);
        assert_eq!(e.code.as_deref(), Some("missing_data"), "{:?}", row.venue);
        assert!(e.may_have_acted(), "{:?}", row.venue);
        assert_eq!(sim.faults().pending(), 0, "{:?}", row.venue);
    }
}

/// A private push without `data` is an unreadable push (logged, the tracker untouched), never an
/// update that says "no position".
#[test]
fn a_push_without_data_is_an_error_not_an_empty_update() {
    use serde_json::Value;
    use tradeengine_venues::{blofin, kucoin, mexc};
    let rows = blofin::stream::position_updates(Value::Null, |_| None);
    assert!(
        matches!(rows.as_slice(), [Err(e)] if e.message.contains("`data`")),
        "{rows:?}"
    );
    let rows = blofin::stream::order_updates(Value::Null, |_| None);
    assert!(matches!(rows.as_slice(), [Err(_)]), "{rows:?}");
    assert!(kucoin::stream::position_change(Value::Null, |_| None).is_err());
    assert!(mexc::stream::position_push(Value::Null, |_| None).is_err());
    assert!(mexc::stream::order_push(Value::Null, |_| None).is_err());
}
