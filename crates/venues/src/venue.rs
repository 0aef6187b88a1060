//! The one trait the engine uses to talk to an exchange account.

use std::collections::BTreeMap;

use async_trait::async_trait;
use rust_decimal::Decimal;
use tradeengine_model::{
    ClientOrderId, Instrument, MarginMode, OrderRequest, OrderStatus, Position, Price, Symbol,
};

use crate::VenueError;

/// One exchange account (or the paper venue). Implementations are cheap to share (`Arc<dyn
/// Venue>`) and safe to call concurrently; each enforces its own venue's rate limits.
///
/// Every quantity is in base units of the unified symbol; adapters convert to venue units.
#[async_trait]
pub trait Venue: Send + Sync + std::fmt::Debug {
    /// Short venue kind for logs and metrics (`paper`, `bybit`, `binance`).
    fn kind(&self) -> &'static str;

    /// Account value `V` in quote units: what target depths are fractions of. Each adapter
    /// documents which balance fields make it.
    async fn account_value(&self) -> Result<Decimal, VenueError>;

    /// The account value with the margin still free to open positions with, from the same
    /// read where the venue gives both. Sizing caps an opening target by the free margin (see
    /// `tradeengine_core::size::cap_by_margin`); an adapter that cannot report it answers
    /// `available_margin: None` (this default) and sizing applies no margin cap for it.
    async fn account_balance(&self) -> Result<AccountBalance, VenueError> {
        Ok(AccountBalance {
            value: self.account_value().await?,
            available_margin: None,
        })
    }

    /// All non-flat positions of the account.
    async fn positions(&self) -> Result<Vec<Position>, VenueError>;

    /// Trading rules for these symbols. Adapters cache them; unknown symbols are an error.
    async fn instruments(&self, symbols: &[Symbol]) -> Result<Vec<Instrument>, VenueError>;

    /// Current mark (or last) prices for these symbols, in one request where the venue allows.
    async fn prices(&self, symbols: &[Symbol]) -> Result<BTreeMap<Symbol, Price>, VenueError>;

    /// Sets leverage for a symbol. "Not modified" is success.
    async fn set_leverage(&self, symbol: &Symbol, leverage: Decimal) -> Result<(), VenueError>;

    /// Sets margin mode (account-wide on some venues; the adapter documents its scope).
    async fn set_margin_mode(&self, symbol: &Symbol, mode: MarginMode) -> Result<(), VenueError>;

    /// Places an order. A duplicate client order id means an earlier attempt landed: adapters
    /// answer it with that order's status rather than an error.
    async fn place_order(&self, order: &OrderRequest) -> Result<OrderStatus, VenueError>;

    /// How many orders one batch request of this venue carries (1: the venue, or this adapter,
    /// has no batch order entry, and the engine sends orders one by one).
    fn batch_limit(&self) -> usize {
        1
    }

    /// Places several orders, in batch requests of at most [`Venue::batch_limit`] where the
    /// venue has them: one result per order, in the order given. Each result means what
    /// [`Venue::place_order`]'s would:
    /// - a per-order refusal inside an accepted batch is that order's `Rejected` error (or a
    ///   `Rejected` status) and says nothing about the others;
    /// - a duplicate client id means an earlier attempt landed: answered with that order;
    /// - a batch request that failed as a whole gives every order of it the request's error,
    ///   so when the request may have reached the venue ([`VenueError::may_have_acted`]) every
    ///   one of its orders is settled by client id before anything is re-sent.
    ///
    /// The default sends the orders one by one.
    async fn place_orders(&self, orders: &[OrderRequest]) -> Vec<Result<OrderStatus, VenueError>> {
        let mut out = Vec::with_capacity(orders.len());
        for order in orders {
            out.push(self.place_order(order).await);
        }
        out
    }

    /// Cancels an open order by client order id.
    async fn cancel_order(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<OrderStatus, VenueError>;

    /// Looks up an order by client order id; `Ok(None)` when the venue never saw it.
    async fn order_by_client_id(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<OrderStatus>, VenueError>;

    /// Orders still resting, for one symbol or all.
    async fn open_orders(&self, symbol: Option<&Symbol>) -> Result<Vec<OrderStatus>, VenueError>;

    /// The connection's state for metrics: private-stream connections and rate-limit
    /// headroom. Venues without either (paper, test doubles) report nothing.
    fn health(&self) -> VenueHealth {
        VenueHealth::default()
    }
}

/// An account's value and free margin, in quote units (USDT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountBalance {
    /// What [`Venue::account_value`] returns.
    pub value: Decimal,
    /// Margin available for new positions (equity minus the initial margin in use, as the
    /// venue computes it); `None` when the adapter cannot report it.
    pub available_margin: Option<Decimal>,
}

/// What an adapter can say about its connection to the venue, read after each cycle for the
/// metrics (`f64`: these are gauges, never on the order path).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VenueHealth {
    /// Private-stream connections made so far, the first included (so reconnects are this
    /// minus one); `None` when the adapter runs without a stream.
    pub stream_connects: Option<u64>,
    /// The unspent fraction of each rate-limit scope's allowance in its current window, by
    /// scope name (see [`crate::ratelimit::RateLimits::headroom`]).
    pub rate_limit_headroom: Vec<(&'static str, f64)>,
}

impl VenueHealth {
    /// What an adapter with a private stream and one client's rate limits reports.
    pub fn of(
        stream: Option<&crate::ws::StreamHandle>,
        limits: &crate::ratelimit::RateLimits,
    ) -> Self {
        Self {
            stream_connects: stream.map(crate::ws::StreamHandle::connects),
            rate_limit_headroom: limits.headroom(),
        }
    }
}
