//! Helpers for the adapter suites: a simulator per test, an adapter connected to it, orders.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use tradeengine_model::{ClientOrderId, OrderKind, OrderRequest, Price, Side, Symbol, SystemClock};
use tradeengine_venue_sim::{SimHandle, SimOptions, VenueId, serve};
use tradeengine_venues::{AdapterConfig, Credentials};

pub fn sym(s: &str) -> Symbol {
    Symbol::new(s).unwrap()
}

pub fn id(s: &str) -> ClientOrderId {
    ClientOrderId::new(s).unwrap()
}

pub async fn start(venue: VenueId, options: SimOptions) -> SimHandle {
    serve(venue, "127.0.0.1:0".parse().unwrap(), options)
        .await
        .unwrap()
}

/// An adapter configuration for `sim` with its keys and a short timeout.
pub fn config(sim: &SimHandle) -> AdapterConfig {
    let o = sim.options();
    AdapterConfig {
        base_url: sim.base_url(),
        stream: tradeengine_venues::StreamSetting::Auto,
        credentials: Some(
            Credentials::new(&o.api_key, &o.api_secret).with_passphrase(&o.passphrase),
        ),
        recv_window_ms: 5000,
        request_timeout: Duration::from_millis(800),
        clock: Arc::new(SystemClock),
        hyperliquid: Default::default(),
    }
}

pub fn market(
    client_id: &str,
    symbol: &str,
    side: Side,
    qty: Decimal,
    reduce_only: bool,
) -> OrderRequest {
    OrderRequest {
        client_order_id: id(client_id),
        symbol: sym(symbol),
        side,
        qty,
        kind: OrderKind::Market,
        reduce_only,
    }
}

pub fn limit(
    client_id: &str,
    symbol: &str,
    side: Side,
    qty: Decimal,
    price: Decimal,
) -> OrderRequest {
    OrderRequest {
        client_order_id: id(client_id),
        symbol: sym(symbol),
        side,
        qty,
        kind: OrderKind::Limit {
            price: Price::new(price).unwrap(),
        },
        reduce_only: false,
    }
}

/// Every client id the venue accepted at most once (the venue's own view of invariant 1).
pub fn assert_no_double_orders(sim: &SimHandle) {
    let mut seen = std::collections::BTreeSet::new();
    for o in sim.orders() {
        assert!(
            seen.insert(o.client_id.clone()),
            "client id {} accepted twice",
            o.client_id
        );
    }
}
