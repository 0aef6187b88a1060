//! What every adapter's batch order entry ([`crate::Venue::place_orders`]) shares: splitting
//! the orders into requests of the venue's size, keeping one result slot per order in the
//! caller's order, and turning a request that failed as a whole into one error per order.
//!
//! The money-safety rule is the single order's: a batch request whose answer did not come back
//! (timeout, reset, 5xx, unreadable reply) may have placed any of its orders, so every order of
//! it carries the request's error, whose [`VenueError::may_have_acted`] sends the caller to the
//! client-id look-up before anything is re-sent. A 200 answer that has no entry for an order is
//! the same case for that order ([`Slots::finish`]).

use std::future::Future;

use tradeengine_model::{OrderRequest, OrderStatus};

use crate::{VenueError, VenueErrorKind};

/// One result per order.
pub type Results = Vec<Result<OrderStatus, VenueError>>;

/// Sends `orders` in requests of at most `limit` (at least 1), all at once (the adapter's rate
/// limiter paces them), and returns one result per order in the order given. `send` places one
/// chunk and must return one result per order of it; a shorter or longer answer is padded or
/// cut with [`missing`] errors (an adapter bug, settled by client id like any unread answer).
pub async fn in_chunks<'a, F, Fut>(
    venue: &'static str,
    orders: &'a [OrderRequest],
    limit: usize,
    send: F,
) -> Results
where
    F: Fn(&'a [OrderRequest]) -> Fut,
    Fut: Future<Output = Results>,
{
    let sent = orders.chunks(limit.max(1)).map(|chunk| {
        let fut = send(chunk);
        async move {
            let mut results = fut.await;
            results.truncate(chunk.len());
            while results.len() < chunk.len() {
                results.push(Err(missing(venue, &chunk[results.len()])));
            }
            results
        }
    });
    futures::future::join_all(sent)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// The error of an order the venue's batch answer said nothing about. `Internal`: the venue
/// answered, maybe having placed it, so the caller looks it up by client id.
pub fn missing(venue: &'static str, order: &OrderRequest) -> VenueError {
    VenueError::new(
        venue,
        VenueErrorKind::Internal,
        format!(
            "the batch answer has no result for order {}",
            order.client_order_id
        ),
    )
    .with_code("batch_no_result")
}

/// The result slots of one batch request: orders refused before sending keep their error, the
/// rest are filled from the venue's answer.
#[derive(Debug)]
pub struct Slots<'a> {
    venue: &'static str,
    orders: &'a [OrderRequest],
    results: Vec<Option<Result<OrderStatus, VenueError>>>,
}

impl<'a> Slots<'a> {
    pub fn new(venue: &'static str, orders: &'a [OrderRequest]) -> Self {
        Self {
            venue,
            orders,
            results: vec![None; orders.len()],
        }
    }

    /// Settles order `i` (a later result for the same order replaces an earlier one).
    pub fn set(&mut self, i: usize, result: Result<OrderStatus, VenueError>) {
        if let Some(slot) = self.results.get_mut(i) {
            *slot = Some(result);
        }
    }

    /// Whether order `i` already has its result (refused before sending).
    pub fn is_set(&self, i: usize) -> bool {
        self.results.get(i).is_some_and(Option::is_some)
    }

    /// The orders still without a result, with their index: those that go in the request.
    pub fn pending(&self) -> Vec<(usize, &'a OrderRequest)> {
        self.orders
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.is_set(*i))
            .collect()
    }

    /// Gives every order still without a result the error of the whole request.
    pub fn fail_pending(&mut self, e: &VenueError) {
        for slot in self.results.iter_mut().filter(|s| s.is_none()) {
            *slot = Some(Err(e.clone()));
        }
    }

    /// One result per order; an order the answer never mentioned gets [`missing`].
    pub fn finish(self) -> Results {
        let venue = self.venue;
        self.results
            .into_iter()
            .zip(self.orders)
            .map(|(r, o)| r.unwrap_or_else(|| Err(missing(venue, o))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use tradeengine_model::{ClientOrderId, OrderKind, Side, Symbol};

    use super::*;

    fn order(n: usize) -> OrderRequest {
        OrderRequest {
            client_order_id: ClientOrderId::new(&format!("o{n}")).unwrap_or_else(|e| panic!("{e}")),
            symbol: Symbol::new("BTCUSDT").unwrap_or_else(|e| panic!("{e}")),
            side: Side::Buy,
            qty: Decimal::ONE,
            kind: OrderKind::Market,
            reduce_only: false,
        }
    }

    fn rejected(o: &OrderRequest) -> Result<OrderStatus, VenueError> {
        Err(VenueError::new(
            "t",
            VenueErrorKind::Rejected,
            o.client_order_id.as_str(),
        ))
    }

    #[tokio::test]
    async fn chunks_keep_the_callers_order_and_pad_a_short_answer() {
        let orders: Vec<OrderRequest> = (0..7).map(order).collect();
        let sizes = std::sync::Mutex::new(Vec::new());
        let results = in_chunks("t", &orders, 3, |chunk| {
            sizes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(chunk.len());
            // The last chunk's answer leaves its last order out.
            let n = if chunk.len() == 1 { 0 } else { chunk.len() };
            let out: Results = chunk.iter().take(n).map(rejected).collect();
            async move { out }
        })
        .await;
        let mut sizes = sizes.into_inner().unwrap_or_else(|p| p.into_inner());
        sizes.sort_unstable();
        assert_eq!(sizes, vec![1, 3, 3]);
        assert_eq!(results.len(), 7);
        for (i, r) in results.iter().take(6).enumerate() {
            let e = r.as_ref().err().map(|e| e.message.clone());
            assert_eq!(e.as_deref(), Some(format!("o{i}").as_str()));
        }
        let last = results[6].as_ref().err().cloned();
        assert!(last.is_some_and(|e| e.may_have_acted() && e.code.as_deref() == Some("batch_no_result")));
    }

    #[test]
    fn a_failed_request_fails_only_the_orders_it_carried() {
        let orders: Vec<OrderRequest> = (0..3).map(order).collect();
        let mut slots = Slots::new("t", &orders);
        slots.set(1, rejected(&orders[1]));
        assert_eq!(
            slots.pending().iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![0, 2]
        );
        slots.fail_pending(&VenueError::new("t", VenueErrorKind::Ambiguous, "timeout"));
        let results = slots.finish();
        assert!(results[0].as_ref().is_err_and(VenueError::is_ambiguous));
        assert!(
            results[1]
                .as_ref()
                .is_err_and(|e| e.kind == VenueErrorKind::Rejected)
        );
        assert!(results[2].as_ref().is_err_and(VenueError::is_ambiguous));
    }
}
