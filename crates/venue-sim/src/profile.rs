//! Where each simulator serves what tests and fault scripts aim at: the order-entry path, the
//! positions read, the balance read, the time endpoint and the stream-token request. One row per
//! venue, so a test written once for every venue (the conformance suites in
//! `crates/venues/tests/conformance/` and `crates/engine/tests/venue_conformance/`) injects its
//! faults and counts its requests without a `match` of its own. The paths are the venues' own
//! (each simulator's router in its module cites the documentation).

use tradeengine_model::VenueId;

/// One venue's paths, as its simulator routes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VenueProfile {
    pub venue: VenueId,
    /// Where a single order is placed (`POST`). On Hyperliquid every signed action (orders,
    /// cancels, leverage) is a `POST /exchange`.
    pub order_entry: &'static str,
    /// Where an order-entry fault is injected ([`crate::Faults::inject`] syntax): the order path,
    /// and on Binance (whose look-up by client id is a `GET` on the same path) its `POST` only,
    /// so the fault is not spent on a look-up.
    pub order_fault: &'static str,
    /// The positions read. On Hyperliquid every read is a `POST /info`.
    pub positions: &'static str,
    /// The balance read.
    pub balance: &'static str,
    /// The server-time endpoint a client resynchronises its clock with, where the venue has one.
    pub time: Option<&'static str>,
    /// The request that hands out a private-stream token for each connection, where there is one.
    pub stream_token: Option<&'static str>,
}

/// The row of `venue`.
pub fn profile(venue: VenueId) -> VenueProfile {
    match venue {
        VenueId::Bybit => VenueProfile {
            venue,
            order_entry: "/v5/order/create",
            order_fault: "/v5/order/create",
            positions: "/v5/position/list",
            balance: "/v5/account/wallet-balance",
            time: Some("/v5/market/time"),
            stream_token: None,
        },
        VenueId::Binance => VenueProfile {
            venue,
            order_entry: "/fapi/v1/order",
            order_fault: "POST /fapi/v1/order",
            positions: "/fapi/v3/positionRisk",
            balance: "/fapi/v3/account",
            time: Some("/fapi/v1/time"),
            stream_token: None,
        },
        VenueId::Blofin => VenueProfile {
            venue,
            order_entry: "/api/v1/trade/order",
            order_fault: "/api/v1/trade/order",
            positions: "/api/v1/account/positions",
            balance: "/api/v1/account/balance",
            // BloFin has no time endpoint: the refusing reply's `Date` header tells the time.
            time: None,
            stream_token: None,
        },
        VenueId::Kucoin => VenueProfile {
            venue,
            order_entry: "/api/v1/orders",
            order_fault: "/api/v1/orders",
            positions: "/api/v1/positions",
            balance: "/api/v1/account-overview",
            time: Some("/api/v1/timestamp"),
            stream_token: Some("/api/v1/bullet-private"),
        },
        VenueId::Mexc => VenueProfile {
            venue,
            order_entry: "/api/v1/private/order/submit",
            order_fault: "/api/v1/private/order/submit",
            positions: "/api/v1/private/position/open_positions",
            balance: "/api/v1/private/account/asset/USDT",
            time: Some("/api/v1/contract/ping"),
            stream_token: None,
        },
        VenueId::Hyperliquid => VenueProfile {
            venue,
            order_entry: "/exchange",
            order_fault: "/exchange",
            positions: "/info",
            balance: "/info",
            // Signed actions carry a nonce, not a timestamp checked against a window.
            time: None,
            stream_token: None,
        },
    }
}
