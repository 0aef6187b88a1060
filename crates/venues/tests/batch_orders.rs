//! Batch order entry ([`Venue::place_orders`]) on every simulator, one table row per venue:
//! - a batch with a refused order places the others, and answers each in the order given;
//! - a batch request the venue acted on but answered with a 503: every order is found by
//!   client id, and sending the batch again doubles nothing (a duplicate client id is the
//!   earlier attempt);
//! - more orders than one request carries are split into requests of the venue's size.
#![allow(clippy::unwrap_used)]

mod sim;

use std::sync::Arc;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sim::*;
use tradeengine_model::{OrderRequest, OrderState, Side};
use tradeengine_venue_sim::{Fault, SimHandle, SimOptions, VenueId};
use tradeengine_venues::hyperliquid::{HyperliquidOptions, connect_hyperliquid_with};
use tradeengine_venues::{Venue, VenueErrorKind};

/// One venue: its batch endpoint, its single-order endpoint, and whether one batch may carry
/// orders for different instruments.
struct Row {
    venue: VenueId,
    batch: &'static str,
    single: &'static str,
    /// BloFin takes one instrument per batch: its rows use one symbol.
    one_instrument: bool,
    /// Bybit spreads orders over its batch and single endpoints (separate budgets).
    both_endpoints: bool,
}

const ROWS: &[Row] = &[
    Row {
        venue: VenueId::Bybit,
        batch: "POST /v5/order/create-batch",
        single: "POST /v5/order/create",
        one_instrument: false,
        both_endpoints: true,
    },
    Row {
        venue: VenueId::Binance,
        batch: "POST /fapi/v1/batchOrders",
        single: "POST /fapi/v1/order",
        one_instrument: false,
        both_endpoints: false,
    },
    Row {
        venue: VenueId::Kucoin,
        batch: "POST /api/v1/orders/multi",
        single: "POST /api/v1/orders",
        one_instrument: false,
        both_endpoints: false,
    },
    Row {
        venue: VenueId::Blofin,
        batch: "POST /api/v1/trade/batch-orders",
        single: "POST /api/v1/trade/order",
        one_instrument: true,
        both_endpoints: false,
    },
    Row {
        venue: VenueId::Mexc,
        batch: "POST /api/v1/private/order/submit_batch",
        single: "POST /api/v1/private/order/submit",
        one_instrument: false,
        both_endpoints: false,
    },
    Row {
        venue: VenueId::Hyperliquid,
        batch: "POST /exchange",
        single: "POST /exchange",
        one_instrument: false,
        both_endpoints: false,
    },
];

async fn setup(row: &Row) -> (SimHandle, Arc<dyn Venue>) {
    let sim = start(row.venue, SimOptions::new(row.venue).with_synthetic(60)).await;
    let venue: Arc<dyn Venue> = if row.venue == VenueId::Hyperliquid {
        // No dead-man pushes: the tests count `/exchange` requests.
        let options = HyperliquidOptions {
            dead_man_every: None,
            ..HyperliquidOptions::default()
        };
        Arc::new(
            connect_hyperliquid_with(config(&sim), options)
                .await
                .unwrap(),
        )
    } else {
        tradeengine_venues::connect(row.venue, config(&sim))
            .await
            .unwrap()
    };
    (sim, venue)
}

/// The `n`-th synthetic symbol of a row (always the first for a one-instrument venue).
fn symbol(row: &Row, n: usize) -> String {
    format!("S{:03}USDT", if row.one_instrument { 1 } else { n })
}

fn buy(row: &Row, tag: &str, n: usize) -> OrderRequest {
    market(
        &format!("{tag}{n}"),
        &symbol(row, n),
        Side::Buy,
        dec!(10),
        false,
    )
}

/// The sum of the simulator's positions.
fn held(sim: &SimHandle) -> Decimal {
    sim.positions().values().copied().sum()
}

/// Requests to the batch and the single-order endpoint since the counters were reset.
fn entry_requests(sim: &SimHandle, row: &Row) -> (u64, u64) {
    let count = |endpoint: &str| {
        let (method, path) = endpoint.split_once(' ').unwrap();
        sim.counters().get(method, path)
    };
    if row.batch == row.single {
        (count(row.batch), 0)
    } else {
        (count(row.batch), count(row.single))
    }
}

/// Checks that `results` answer `orders` one for one: the same client ids, in order.
fn assert_in_order(
    row: &Row,
    orders: &[OrderRequest],
    results: &[Result<tradeengine_model::OrderStatus, tradeengine_venues::VenueError>],
) {
    assert_eq!(results.len(), orders.len(), "{:?}", row.venue);
    for (o, r) in orders.iter().zip(results) {
        if let Ok(s) = r {
            assert_eq!(s.client_order_id, o.client_order_id, "{:?}", row.venue);
        }
    }
}

#[tokio::test]
async fn a_refused_order_leaves_the_rest_of_its_batch_placed() {
    for row in ROWS {
        let (sim, venue) = setup(row).await;
        // A reduce-only sell of a symbol nobody holds is refused by every venue; it goes
        // first, so on a one-instrument venue the buys after it cannot make it valid.
        let refused = market("ro0", &symbol(row, 9), Side::Sell, dec!(10), true);
        let mut orders = vec![refused];
        orders.extend((1..=3).map(|n| buy(row, "mix", n)));
        sim.counters().reset();
        let results = venue.place_orders(&orders).await;
        assert_in_order(row, &orders, &results);
        let e = results[0].as_ref().err();
        assert!(
            e.is_some_and(|e| e.kind == VenueErrorKind::Rejected && !e.may_have_acted()),
            "{:?}: {:?}",
            row.venue,
            results[0]
        );
        for r in &results[1..] {
            let s = r
                .as_ref()
                .unwrap_or_else(|e| panic!("{:?}: {e}", row.venue));
            assert_eq!(s.state, OrderState::Filled, "{:?}", row.venue);
        }
        assert_eq!(held(&sim), dec!(30), "{:?}", row.venue);
        let (batches, singles) = entry_requests(&sim, row);
        assert!(batches >= 1, "{:?}: no batch request", row.venue);
        if !row.both_endpoints {
            assert_eq!((batches, singles), (1, 0), "{:?}", row.venue);
        }
        assert_no_double_orders(&sim);
    }
}

#[tokio::test]
async fn an_answer_lost_after_the_venue_acted_is_settled_by_client_id_and_never_doubled() {
    for row in ROWS {
        let (sim, venue) = setup(row).await;
        let orders: Vec<OrderRequest> = (1..=3).map(|n| buy(row, "lost", n)).collect();
        let path = row.batch.split_once(' ').unwrap().1;
        sim.faults().inject(path, 1, Fault::StatusAfterAccept(503));
        let results = venue.place_orders(&orders).await;
        assert_in_order(row, &orders, &results);
        assert_eq!(sim.faults().pending(), 0, "{:?}", row.venue);
        // The venue placed them all; the ones the 503 hid may have acted, so they are asked
        // for by client id (what the engine does before anything else).
        let mut hidden = 0;
        for (o, r) in orders.iter().zip(&results) {
            let state = match r {
                Ok(s) => s.state,
                Err(e) => {
                    assert!(e.may_have_acted(), "{:?}: {e}", row.venue);
                    hidden += 1;
                    venue
                        .order_by_client_id(&o.symbol, &o.client_order_id)
                        .await
                        .unwrap()
                        .unwrap_or_else(|| {
                            panic!("{:?}: {} not found", row.venue, o.client_order_id)
                        })
                        .state
                }
            };
            assert_eq!(state, OrderState::Filled, "{:?}", row.venue);
        }
        assert!(hidden >= 1, "{:?}: the 503 hid no order", row.venue);
        assert_eq!(held(&sim), dec!(30), "{:?}", row.venue);
        // Sending the same batch again finds the orders instead of placing them twice.
        let again = venue.place_orders(&orders).await;
        assert_in_order(row, &orders, &again);
        for r in &again {
            let s = r
                .as_ref()
                .unwrap_or_else(|e| panic!("{:?}: {e}", row.venue));
            assert_eq!(s.state, OrderState::Filled, "{:?}", row.venue);
        }
        assert_eq!(held(&sim), dec!(30), "{:?}: doubled", row.venue);
        assert_no_double_orders(&sim);
    }
}

#[tokio::test]
async fn more_orders_than_one_request_carries_are_split_at_the_venues_size() {
    for row in ROWS {
        let (sim, venue) = setup(row).await;
        let limit = venue.batch_limit();
        assert!(limit > 1, "{:?} has no batch order entry", row.venue);
        // Bybit sends half the orders one by one (its two budgets are equal): twice the size
        // and one more puts more than one batch on its batch endpoint too.
        let n = if row.both_endpoints {
            2 * limit + 1
        } else {
            limit + 1
        };
        let orders: Vec<OrderRequest> = (1..=n).map(|i| buy(row, "split", i)).collect();
        sim.counters().reset();
        let results = venue.place_orders(&orders).await;
        assert_in_order(row, &orders, &results);
        for r in &results {
            let s = r
                .as_ref()
                .unwrap_or_else(|e| panic!("{:?}: {e}", row.venue));
            assert_eq!(s.state, OrderState::Filled, "{:?}", row.venue);
        }
        let placed = Decimal::from(u32::try_from(n).unwrap()) * dec!(10);
        assert_eq!(held(&sim), placed, "{:?}", row.venue);
        let batched = if row.both_endpoints { n.div_ceil(2) } else { n };
        let expected = (
            u64::try_from(batched.div_ceil(limit)).unwrap(),
            u64::try_from(n - batched).unwrap(),
        );
        assert_eq!(entry_requests(&sim, row), expected, "{:?}", row.venue);
        assert_no_double_orders(&sim);
    }
}
