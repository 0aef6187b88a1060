//! Folding Hyperliquid's two user streams into order statuses for the [`OrderTracker`].
//!
//! Neither stream alone says what the engine needs. `orderUpdates` pushes each order's state
//! and remaining size (`WsOrder`: `{order: {coin, side, limitPx, sz, oid, timestamp, origSz,
//! cloid}, status, statusTimestamp}`), but no price or fee; `userFills` pushes each execution
//! (`WsFill`: `{coin, px, sz, side, time, oid, fee, tid, …}`), but not the order's state
//! (<https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/subscriptions>;
//! the official Python SDK's `hyperliquid/utils/types.py`, `Fill` and `UserFillsData`). The two
//! arrive in either order. So each order's latest `orderUpdates` state is kept beside the sum
//! of its fills, and a status is published only as far as the fills account for: an order the
//! exchange calls filled stays partly filled here until its last fill (with its price and fee)
//! has arrived. A published status is therefore always complete — its filled quantity, average
//! price and fees come from the same fills — and a waiter never takes a fill without its fee.
//!
//! Fills are counted once by their trade id (`tid`): the `userFills` snapshot sent after every
//! (re)subscription repeats fills already seen, and fills missed while the connection was down
//! arrive in it. Orders are keyed by the exchange's order id (`oid`); what is published is keyed
//! by the order's cloid (32 hex digits, no `0x`), which the adapter maps back to its own client
//! order id. Only the newest [`CAPACITY`] orders are remembered.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use tradeengine_model::{ClientOrderId, OrderState, OrderStatus, Price, Side};

use super::VENUE;
use super::models::{OrderStatusOrder, StatusClass};
use super::wire::symbol_of_coin;
use crate::VenueError;
use crate::parse::{dec, in_reply, ms, push_rows, reply};
use crate::tracker::OrderTracker;

/// How many orders are remembered (the tracker's own capacity).
pub const CAPACITY: usize = 4096;

pub(crate) const ORDER_UPDATES: &str = "WS orderUpdates";
pub(crate) const USER_FILLS: &str = "WS userFills";

/// `data` of a `userFills` push: the first after subscribing is the snapshot.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WsUserFills {
    #[serde(default)]
    pub is_snapshot: bool,
    pub user: String,
    pub fills: Vec<WsFill>,
}

/// One execution as `userFills` pushes it (the fields we read).
#[derive(Debug, Clone, Deserialize)]
pub struct WsFill {
    pub coin: String,
    pub px: String,
    pub sz: String,
    pub time: i64,
    pub oid: u64,
    pub fee: String,
    pub tid: u64,
}

/// An order as `orderUpdates` last showed it.
#[derive(Debug, Clone)]
struct Seen {
    cloid: String,
    coin: String,
    side: Side,
    qty: Decimal,
    /// `origSz − sz`: what the exchange says has executed.
    executed: Decimal,
    status: String,
    at_ms: i64,
    reduce_only: bool,
}

/// The fills of one order so far.
#[derive(Debug, Clone, Default)]
struct Fills {
    qty: Decimal,
    notional: Decimal,
    fee: Decimal,
    tids: HashSet<u64>,
    last_ms: i64,
}

#[derive(Debug, Default)]
struct State {
    orders: HashMap<u64, Seen>,
    fills: HashMap<u64, Fills>,
    arrival: VecDeque<u64>,
}

impl State {
    /// Notes `oid` as known, forgetting the oldest order past [`CAPACITY`].
    fn touch(&mut self, oid: u64) {
        if self.orders.contains_key(&oid) || self.fills.contains_key(&oid) {
            return;
        }
        self.arrival.push_back(oid);
        while self.arrival.len() > CAPACITY {
            if let Some(old) = self.arrival.pop_front() {
                self.orders.remove(&old);
                self.fills.remove(&old);
            }
        }
    }
}

/// The two streams' state, publishing into the tracker.
#[derive(Debug)]
pub struct StreamBook {
    state: Mutex<State>,
    tracker: Arc<OrderTracker>,
}

/// The key an order's status is published under: its cloid's 32 hex digits, lower case.
pub fn tracker_key(cloid: &str) -> String {
    let lower = cloid.to_ascii_lowercase();
    lower.strip_prefix("0x").unwrap_or(&lower).to_string()
}

impl StreamBook {
    pub fn new(tracker: Arc<OrderTracker>) -> Self {
        Self {
            state: Mutex::new(State::default()),
            tracker,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One `orderUpdates` push (`data`: a list of `WsOrder`). Orders without a cloid were not
    /// placed by the engine and are skipped. Returns the rows that could not be read.
    pub fn order_updates(&self, data: Value) -> Vec<VenueError> {
        let mut errors = Vec::new();
        let mut touched = Vec::new();
        for row in push_rows::<OrderStatusOrder>(VENUE, ORDER_UPDATES, "data", data) {
            match row.and_then(|r| seen_of(&r).map(|s| (r.order.oid, s))) {
                Ok((_, None)) => {}
                Ok((oid, Some(seen))) => {
                    let mut st = self.lock();
                    st.touch(oid);
                    st.orders.insert(oid, seen);
                    touched.push(oid);
                }
                Err(e) => errors.push(e),
            }
        }
        for oid in touched {
            self.publish(oid, &mut errors);
        }
        errors
    }

    /// One `userFills` push (`data`: `WsUserFills`), snapshot or not. Fills already counted
    /// (same `tid`) are skipped. Returns what could not be read.
    pub fn user_fills(&self, data: Value) -> Vec<VenueError> {
        let mut errors = Vec::new();
        let push: WsUserFills = match reply(VENUE, USER_FILLS, data) {
            Ok(p) => p,
            Err(e) => return vec![e],
        };
        let mut touched = Vec::new();
        for f in push.fills {
            match fill_numbers(&f) {
                Ok((qty, px, fee)) => {
                    let mut st = self.lock();
                    st.touch(f.oid);
                    let sum = st.fills.entry(f.oid).or_default();
                    if sum.tids.insert(f.tid) {
                        sum.qty += qty;
                        sum.notional += qty * px;
                        sum.fee += fee;
                        sum.last_ms = sum.last_ms.max(f.time);
                        touched.push(f.oid);
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        touched.dedup();
        for oid in touched {
            self.publish(oid, &mut errors);
        }
        errors
    }

    /// Publishes what is known of `oid`, as far as its fills account for.
    fn publish(&self, oid: u64, errors: &mut Vec<VenueError>) {
        let (seen, fills) = {
            let st = self.lock();
            let Some(seen) = st.orders.get(&oid).cloned() else {
                // Fills of an order whose update has not come yet: published with it.
                return;
            };
            (seen, st.fills.get(&oid).cloned().unwrap_or_default())
        };
        match status_of(oid, &seen, &fills) {
            Ok(status) => self.tracker.update(status),
            Err(e) => errors.push(e),
        }
    }
}

/// An `orderUpdates` row as kept; `None` for an order without a cloid.
fn seen_of(row: &OrderStatusOrder) -> Result<Option<Seen>, VenueError> {
    let o = &row.order;
    let Some(cloid) = o.cloid.as_deref() else {
        return Ok(None);
    };
    let qty = dec(VENUE, "origSz", &o.orig_sz).map_err(in_reply(ORDER_UPDATES))?;
    let left = dec(VENUE, "sz", &o.sz).map_err(in_reply(ORDER_UPDATES))?;
    Ok(Some(Seen {
        cloid: tracker_key(cloid),
        coin: o.coin.clone(),
        side: if o.side == "B" { Side::Buy } else { Side::Sell },
        qty,
        executed: (qty - left).max(Decimal::ZERO),
        status: row.status.clone(),
        at_ms: row.status_timestamp,
        reduce_only: o.reduce_only,
    }))
}

fn fill_numbers(f: &WsFill) -> Result<(Decimal, Decimal, Decimal), VenueError> {
    let read = |field: &str, v: &str| dec(VENUE, field, v).map_err(in_reply(USER_FILLS));
    Ok((read("sz", &f.sz)?, read("px", &f.px)?, read("fee", &f.fee)?))
}

/// The status of an order from its latest update and its fills: the exchange's state once
/// the fills account for everything it says executed, else open with what the fills show.
fn status_of(oid: u64, seen: &Seen, fills: &Fills) -> Result<OrderStatus, VenueError> {
    let caught_up = fills.qty >= seen.executed;
    let working = if fills.qty.is_zero() {
        OrderState::Acknowledged
    } else {
        OrderState::PartiallyFilled
    };
    let state = match StatusClass::of(&seen.status) {
        _ if !caught_up => working,
        StatusClass::Working => working,
        StatusClass::Filled => OrderState::Filled,
        StatusClass::Rejected => OrderState::Rejected,
        StatusClass::Cancelled => OrderState::Cancelled,
        StatusClass::Unknown => OrderState::Unknown,
    };
    let avg = if fills.qty.is_zero() {
        None
    } else {
        Price::new(fills.notional / fills.qty).ok()
    };
    let client_order_id = ClientOrderId::new(&seen.cloid)
        .map_err(|e| crate::parse::bad_reply(VENUE, "cloid", &format!("{}: {e}", seen.cloid)))?;
    Ok(OrderStatus {
        client_order_id,
        venue_order_id: Some(oid.to_string()),
        symbol: symbol_of_coin(&seen.coin)?,
        side: seen.side,
        state,
        qty: seen.qty,
        filled_qty: fills.qty,
        avg_fill_price: avg,
        fee: fills.fee,
        reduce_only: seen.reduce_only,
        updated_at: ms(VENUE, "statusTimestamp", seen.at_ms.max(fills.last_ms))?,
    })
}

#[cfg(test)]
#[path = "stream_book_tests.rs"]
mod tests;
