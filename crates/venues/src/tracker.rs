//! What the private streams said about our orders, so a caller can learn a fill the moment it is
//! pushed instead of asking again over REST.
//!
//! The stream is an early hint, never the truth: when a wait times out, or the stream is down,
//! the adapter asks REST, and reconciliation always reads positions from REST.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tradeengine_model::{OrderState, OrderStatus, Position, Symbol};

/// How many orders are remembered; older ones are forgotten first.
const CAPACITY: usize = 4096;

#[derive(Debug, Default)]
struct State {
    orders: HashMap<String, OrderStatus>,
    arrival: VecDeque<String>,
    positions: HashMap<Symbol, Position>,
    events: u64,
}

/// Latest streamed status per client order id, plus streamed positions.
#[derive(Debug, Default)]
pub struct OrderTracker {
    state: Mutex<State>,
    notify: Notify,
}

impl OrderTracker {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a streamed order status. A report that would move an order backwards (streams
    /// may deliver out of order) is ignored.
    pub fn update(&self, status: OrderStatus) {
        {
            let mut st = self.lock();
            st.events = st.events.wrapping_add(1);
            let key = status.client_order_id.as_str().to_string();
            match st.orders.get(&key) {
                Some(old) if !newer(old, &status) => return,
                Some(_) => {}
                None => {
                    st.arrival.push_back(key.clone());
                    while st.arrival.len() > CAPACITY {
                        if let Some(oldest) = st.arrival.pop_front() {
                            st.orders.remove(&oldest);
                        }
                    }
                }
            }
            st.orders.insert(key, status);
        }
        self.notify.notify_waiters();
    }

    /// Records a streamed position (flat positions included).
    pub fn update_position(&self, position: Position) {
        let mut st = self.lock();
        st.events = st.events.wrapping_add(1);
        st.positions.insert(position.symbol.clone(), position);
    }

    pub fn get(&self, client_order_id: &str) -> Option<OrderStatus> {
        self.lock().orders.get(client_order_id).cloned()
    }

    /// The last streamed position of `symbol`.
    pub fn position(&self, symbol: &Symbol) -> Option<Position> {
        self.lock().positions.get(symbol).cloned()
    }

    /// Stream events seen so far (for tests and health).
    pub fn events(&self) -> u64 {
        self.lock().events
    }

    /// Waits up to `timeout` for a streamed status of `client_order_id` that satisfies `done`.
    pub async fn wait_for(
        &self,
        client_order_id: &str,
        timeout: Duration,
        done: impl Fn(&OrderStatus) -> bool,
    ) -> Option<OrderStatus> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before looking, so an update between the look and the wait wakes us.
            notified.as_mut().enable();
            if let Some(s) = self.get(client_order_id).filter(|s| done(s)) {
                return Some(s);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}

/// Whether `new` is a later report than `old`: a legal state move, or more filled.
fn newer(old: &OrderStatus, new: &OrderStatus) -> bool {
    if old.state == new.state {
        return new.filled_qty >= old.filled_qty;
    }
    if old.state.is_terminal() {
        return false;
    }
    old.state.can_become(new.state)
        || (old.state == OrderState::PartiallyFilled && new.filled_qty > old.filled_qty)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rust_decimal_macros::dec;
    use tradeengine_model::{ClientOrderId, Side};

    use super::*;

    fn status(state: OrderState, filled: rust_decimal::Decimal) -> OrderStatus {
        OrderStatus {
            client_order_id: ClientOrderId::new("c1").unwrap_or_else(|e| panic!("{e}")),
            venue_order_id: Some("1".into()),
            symbol: Symbol::new("BTCUSDT").unwrap_or_else(|e| panic!("{e}")),
            side: Side::Buy,
            state,
            qty: dec!(1),
            filled_qty: filled,
            avg_fill_price: None,
            fee: dec!(0),
            reduce_only: false,
            updated_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn never_moves_backwards() {
        let t = OrderTracker::new();
        t.update(status(OrderState::Filled, dec!(1)));
        t.update(status(OrderState::Acknowledged, dec!(0)));
        assert_eq!(t.get("c1").map(|s| s.state), Some(OrderState::Filled));
    }

    #[tokio::test]
    async fn a_waiter_wakes_on_the_push() {
        let t = Arc::new(OrderTracker::new());
        let t2 = t.clone();
        let waiter = tokio::spawn(async move {
            t2.wait_for("c1", Duration::from_secs(2), |s| s.state.is_terminal())
                .await
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        t.update(status(OrderState::Acknowledged, dec!(0)));
        t.update(status(OrderState::Filled, dec!(1)));
        let got = waiter.await.ok().flatten();
        assert_eq!(got.map(|s| s.state), Some(OrderState::Filled));
    }

    #[tokio::test]
    async fn a_wait_times_out_empty() {
        let t = OrderTracker::new();
        let got = t
            .wait_for("nope", Duration::from_millis(30), |_| true)
            .await;
        assert!(got.is_none());
    }
}
