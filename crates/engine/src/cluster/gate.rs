//! The holder's own clock on its lease: a venue wrapper that refuses to send once the lease may
//! be about to expire on the database's side (see the module docs of [`super`]).
//!
//! The store's fence already refuses an order intent written under a lost lease, but an order
//! whose `Sent` row committed is sent afterwards: a holder stalled (SIGSTOP, a long GC-like
//! pause, a VM migration) between that commit and the send would send it after another process
//! took the account over and reconciled without it. The gate is checked right before every
//! order and cancel leaves, with a monotonic clock that keeps running while the process is
//! stopped, so a resumed holder sends nothing once its deadline is behind it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rust_decimal::Decimal;
use tradeengine_model::{
    ClientOrderId, Instrument, MarginMode, OrderRequest, OrderStatus, Position, Price, Symbol,
};
use tradeengine_venues::{AccountBalance, Venue, VenueError, VenueErrorKind, VenueHealth};

/// Until when this process may send for one account: two thirds of the lease after the last
/// renewal was sent. Cheap to clone; clones share the deadline.
#[derive(Debug, Clone)]
pub struct LeaseGate {
    /// Nanoseconds after `origin`; 0: closed.
    until: Arc<AtomicU64>,
    origin: Instant,
}

impl LeaseGate {
    /// A gate open until `sent + ttl × 2/3`, where `sent` is when the lease was asked for.
    pub fn opened(sent: Instant, ttl: Duration) -> Self {
        let gate = Self {
            until: Arc::new(AtomicU64::new(0)),
            origin: sent,
        };
        gate.extend(sent, ttl);
        gate
    }

    /// A renewal sent at `sent` succeeded: the gate stays open until `sent + ttl × 2/3`.
    pub fn extend(&self, sent: Instant, ttl: Duration) {
        let deadline = sent.saturating_duration_since(self.origin) + ttl * 2 / 3;
        let nanos = u64::try_from(deadline.as_nanos()).unwrap_or(u64::MAX);
        self.until.fetch_max(nanos, Ordering::AcqRel);
    }

    /// Closes the gate for good (the lease is lost or let go).
    pub fn close(&self) {
        self.until.store(0, Ordering::Release);
    }

    /// Whether an order may leave now.
    pub fn is_open(&self) -> bool {
        self.is_open_at(Instant::now())
    }

    /// [`Self::is_open`] at `now` (tests).
    pub fn is_open_at(&self, now: Instant) -> bool {
        let until = self.until.load(Ordering::Acquire);
        if until == 0 {
            return false;
        }
        let elapsed = u64::try_from(now.saturating_duration_since(self.origin).as_nanos())
            .unwrap_or(u64::MAX);
        elapsed < until
    }

    /// How long it stays open from `now` (zero when closed).
    pub fn remaining_at(&self, now: Instant) -> Duration {
        let until = Duration::from_nanos(self.until.load(Ordering::Acquire));
        until.saturating_sub(now.saturating_duration_since(self.origin))
    }
}

/// An account's venue that sends nothing while its [`LeaseGate`] is closed. Reads pass
/// through: they change nothing at the venue.
#[derive(Debug)]
pub struct GatedVenue {
    inner: Arc<dyn Venue>,
    gate: LeaseGate,
}

impl GatedVenue {
    pub fn new(inner: Arc<dyn Venue>, gate: LeaseGate) -> Self {
        Self { inner, gate }
    }

    /// Refuses when the gate is closed. `Retryable`: nothing reached the venue.
    fn check(&self) -> Result<(), VenueError> {
        if self.gate.is_open() {
            Ok(())
        } else {
            metrics::counter!("tradeengine_cluster_sends_refused_total").increment(1);
            Err(VenueError::new(
                self.inner.kind(),
                VenueErrorKind::Retryable,
                "not sent: this process may no longer hold the account's lease (no renewal within two thirds of it)",
            ))
        }
    }
}

#[async_trait]
impl Venue for GatedVenue {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    async fn account_value(&self) -> Result<Decimal, VenueError> {
        self.inner.account_value().await
    }

    async fn account_balance(&self) -> Result<AccountBalance, VenueError> {
        self.inner.account_balance().await
    }

    async fn positions(&self) -> Result<Vec<Position>, VenueError> {
        self.inner.positions().await
    }

    async fn instruments(&self, symbols: &[Symbol]) -> Result<Vec<Instrument>, VenueError> {
        self.inner.instruments(symbols).await
    }

    async fn prices(&self, symbols: &[Symbol]) -> Result<BTreeMap<Symbol, Price>, VenueError> {
        self.inner.prices(symbols).await
    }

    async fn set_leverage(&self, symbol: &Symbol, leverage: Decimal) -> Result<(), VenueError> {
        self.check()?;
        self.inner.set_leverage(symbol, leverage).await
    }

    async fn set_margin_mode(&self, symbol: &Symbol, mode: MarginMode) -> Result<(), VenueError> {
        self.check()?;
        self.inner.set_margin_mode(symbol, mode).await
    }

    async fn place_order(&self, order: &OrderRequest) -> Result<OrderStatus, VenueError> {
        self.check()?;
        self.inner.place_order(order).await
    }

    fn batch_limit(&self) -> usize {
        self.inner.batch_limit()
    }

    async fn place_orders(&self, orders: &[OrderRequest]) -> Vec<Result<OrderStatus, VenueError>> {
        if let Err(e) = self.check() {
            return orders.iter().map(|_| Err(e.clone())).collect();
        }
        self.inner.place_orders(orders).await
    }

    async fn cancel_order(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<OrderStatus, VenueError> {
        self.check()?;
        self.inner.cancel_order(symbol, client_order_id).await
    }

    async fn order_by_client_id(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<OrderStatus>, VenueError> {
        self.inner.order_by_client_id(symbol, client_order_id).await
    }

    async fn open_orders(&self, symbol: Option<&Symbol>) -> Result<Vec<OrderStatus>, VenueError> {
        self.inner.open_orders(symbol).await
    }

    fn health(&self) -> VenueHealth {
        self.inner.health()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_closes_two_thirds_into_the_lease_without_renewal() {
        let t0 = Instant::now();
        let ttl = Duration::from_secs(15);
        let gate = LeaseGate::opened(t0, ttl);
        assert!(gate.is_open_at(t0 + Duration::from_millis(9_999)));
        assert!(!gate.is_open_at(t0 + Duration::from_secs(10)));
        // A renewal sent at 5 s moves the deadline to 15 s.
        gate.extend(t0 + Duration::from_secs(5), ttl);
        assert!(gate.is_open_at(t0 + Duration::from_millis(14_999)));
        assert!(!gate.is_open_at(t0 + Duration::from_secs(15)));
        assert_eq!(
            gate.remaining_at(t0 + Duration::from_secs(12)),
            Duration::from_secs(3)
        );
        // An answer to an older renewal arriving late does not move it back.
        gate.extend(t0 + Duration::from_secs(1), ttl);
        assert!(gate.is_open_at(t0 + Duration::from_secs(14)));
        gate.close();
        assert!(!gate.is_open_at(t0));
    }
}
