//! How orders fill: placement, the margin check, taker fills and the sweep of resting limit
//! orders. Prices and rules are in [`super::orders`], the accounting in [`super::ledger`];
//! the transaction around each call is in [`super::venue`].

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use tradeengine_model::{
    ClientOrderId, Fill, OrderKind, OrderRequest, OrderState, OrderStatus, Position, Price, Side,
    Symbol, Timestamp,
};

use super::ledger::position_after;
use super::orders::{
    check_min_notional, check_qty, check_reduce_only, internal, limit_crossed, rejected,
    taker_price,
};
use super::txn::Txn;
use super::{PaperOrder, PaperState, PaperVenue};
use crate::{VenueError, VenueErrorKind};

impl PaperVenue {
    /// Refuses a change that grows `before` into `after` when the account's initial margin
    /// would then exceed its equity (ledger module docs).
    pub(super) fn check_margin(
        &self,
        st: &PaperState,
        marks: &BTreeMap<Symbol, Price>,
        before: &Position,
        after: &Position,
        balance_delta: Decimal,
    ) -> Result<(), VenueError> {
        let grows = after.size.get().abs() > before.size.get().abs();
        let deleverages = !after.size.is_zero() && after.leverage < before.leverage;
        if !grows && !deleverages {
            return Ok(());
        }
        let m = st
            .margin_if(marks, Some(after), balance_delta)
            .ok_or_else(|| internal("margin overflows"))?;
        if m.initial_margin <= m.equity {
            return Ok(());
        }
        Err(rejected(
            "insufficient_margin",
            format!(
                "{}: a position of {} at leverage {} would need {} USDT initial margin in all, \
                 but equity would be {} USDT",
                after.symbol,
                after.size,
                after.leverage,
                m.initial_margin.round_dp(2),
                m.equity.round_dp(2)
            ),
        ))
    }

    /// Fills `order` in full at `price` (after the margin check) and returns the fill.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn execute(
        &self,
        st: &mut Txn<'_>,
        marks: &BTreeMap<Symbol, Price>,
        order: &OrderRequest,
        venue_order_id: &str,
        price: Price,
        fee_rate: Decimal,
        now: Timestamp,
    ) -> Result<Fill, VenueError> {
        let before = st.position_or_flat(&order.symbol, self.config.default_leverage);
        let change = position_after(&before, order.signed_qty().get(), price)
            .ok_or_else(|| internal("position overflows"))?;
        let fee = order
            .qty
            .checked_mul(price.get())
            .and_then(|n| n.checked_mul(fee_rate))
            .ok_or_else(|| internal("fee overflows"))?;
        let delta = change
            .realised
            .checked_sub(fee)
            .ok_or_else(|| internal("balance overflows"))?;
        self.check_margin(st, marks, &before, &change.position, delta)?;
        let fill = Fill {
            client_order_id: order.client_order_id.clone(),
            venue_order_id: Some(venue_order_id.to_string()),
            symbol: order.symbol.clone(),
            side: order.side,
            qty: order.qty,
            price,
            fee,
            filled_at: now,
        };
        st.record_fill(change, fill.clone())
            .ok_or_else(|| internal("balance overflows"))?;
        tracing::info!(
            symbol = %fill.symbol, side = fill.side.as_str(), qty = %fill.qty,
            price = %fill.price, fee = %fill.fee, client_order_id = %fill.client_order_id,
            "paper fill"
        );
        Ok(fill)
    }

    // ----- orders -------------------------------------------------------------------------

    pub(super) fn place(
        &self,
        st: &mut Txn<'_>,
        req: &OrderRequest,
        now: Timestamp,
    ) -> Result<OrderStatus, VenueError> {
        if let Some(status) = earlier_attempt(st, req)? {
            return Ok(status);
        }
        let instrument = self.instrument(&req.symbol)?;
        check_qty(instrument, req)?;
        let position = st.position_or_flat(&req.symbol, self.config.default_leverage);
        check_reduce_only(position.size.get(), req)?;
        let marks = self.marks(st, Some(&req.symbol), now)?;
        let mark = self.mark(&req.symbol, now)?;
        debug_assert_eq!(marks.get(&req.symbol), Some(&mark));
        let reference = match req.kind {
            OrderKind::Market => mark,
            OrderKind::Limit { price } => price,
        };
        check_min_notional(instrument, req, reference)?;

        let seq = st.next_order_seq;
        let next_seq = seq
            .checked_add(1)
            .ok_or_else(|| internal("order sequence overflows"))?;
        let venue_order_id = format!("paper-{seq}");
        let status = match req.kind {
            OrderKind::Limit { price: limit } if !limit_crossed(req.side, limit, mark) => {
                // Resting: refuse now what could never fill, judged as if it filled at its limit.
                let change = position_after(&position, req.signed_qty().get(), limit)
                    .ok_or_else(|| internal("position overflows"))?;
                let delta = req
                    .qty
                    .checked_mul(limit.get())
                    .and_then(|n| n.checked_mul(self.config.maker_fee_rate))
                    .and_then(|fee| change.realised.checked_sub(fee))
                    .ok_or_else(|| internal("fee overflows"))?;
                self.check_margin(st, &marks, &position, &change.position, delta)?;
                resting_status(req, &venue_order_id, now)
            }
            kind => {
                // Market, or a limit already crossed: a taker fill, never beyond the limit.
                let taker = taker_price(
                    mark,
                    req.side,
                    self.config.slippage_bps,
                    instrument.tick_size,
                )?;
                let price = match (kind, req.side) {
                    (OrderKind::Limit { price: limit }, Side::Buy) => taker.min(limit),
                    (OrderKind::Limit { price: limit }, Side::Sell) => taker.max(limit),
                    (OrderKind::Market, _) => taker,
                };
                let fill = self.execute(
                    st,
                    &marks,
                    req,
                    &venue_order_id,
                    price,
                    self.config.taker_fee_rate,
                    now,
                )?;
                filled_status(req, &venue_order_id, &fill)
            }
        };
        st.set_next_order_seq(next_seq);
        st.put_order(PaperOrder {
            seq,
            request: req.clone(),
            status: status.clone(),
            note: None,
        });
        Ok(status)
    }

    /// Resting limit orders the feed has crossed at `now`, oldest first. `resting` holds the
    /// ids of every unfinished order in `st` (the venue keeps it), so only those are looked at.
    pub(super) fn crossed_orders(
        &self,
        st: &PaperState,
        resting: &BTreeSet<ClientOrderId>,
        now: Timestamp,
    ) -> Vec<ClientOrderId> {
        let mut crossed: Vec<(u64, ClientOrderId)> = resting
            .iter()
            .filter_map(|id| st.orders.get(id))
            .filter(|o| o.status.state == OrderState::Acknowledged)
            .filter_map(|o| match o.request.kind {
                OrderKind::Limit { price } => {
                    let mark = self.feed.price(&o.request.symbol, now)?;
                    limit_crossed(o.request.side, price, mark)
                        .then(|| (o.seq, o.request.client_order_id.clone()))
                }
                OrderKind::Market => None,
            })
            .collect();
        debug_assert!(
            st.orders
                .values()
                .filter(|o| !o.status.state.is_terminal())
                .all(|o| resting.contains(&o.request.client_order_id)),
            "an unfinished order is missing from the resting index"
        );
        crossed.sort();
        crossed.into_iter().map(|(_, id)| id).collect()
    }

    /// Settles crossed limit orders (module docs); returns how many.
    pub(super) fn sweep(
        &self,
        st: &mut Txn<'_>,
        resting: &BTreeSet<ClientOrderId>,
        now: Timestamp,
    ) -> Result<usize, VenueError> {
        let mut settled = 0;
        for id in self.crossed_orders(st, resting, now) {
            let Some(order) = st.orders.get(&id).cloned() else {
                continue;
            };
            let OrderKind::Limit { price: limit } = order.request.kind else {
                continue;
            };
            let req = &order.request;
            let venue_order_id = order.status.venue_order_id.clone().unwrap_or_default();
            let position = st.position_or_flat(&req.symbol, self.config.default_leverage);
            let outcome = check_reduce_only(position.size.get(), req).and_then(|()| {
                let marks = self.marks(st, Some(&req.symbol), now)?;
                let fee_rate = self.config.maker_fee_rate;
                self.execute(st, &marks, req, &venue_order_id, limit, fee_rate, now)
            });
            let (status, note) = match outcome {
                Ok(fill) => (filled_status(req, &venue_order_id, &fill), None),
                Err(e) if e.kind == VenueErrorKind::Rejected => {
                    tracing::warn!(client_order_id = %id, reason = %e.message, "paper venue cancelled a resting order");
                    let mut s = order.status.clone();
                    s.state = OrderState::Cancelled;
                    s.updated_at = now;
                    (s, Some(e.message))
                }
                // No price for another position's symbol: try again on a later call.
                Err(e) if e.kind == VenueErrorKind::Retryable => continue,
                Err(e) => return Err(e),
            };
            st.put_order(PaperOrder {
                status,
                note,
                ..order
            });
            settled += 1;
        }
        Ok(settled)
    }
}

fn resting_status(req: &OrderRequest, venue_order_id: &str, now: Timestamp) -> OrderStatus {
    OrderStatus {
        client_order_id: req.client_order_id.clone(),
        venue_order_id: Some(venue_order_id.to_string()),
        symbol: req.symbol.clone(),
        side: req.side,
        state: OrderState::Acknowledged,
        qty: req.qty,
        filled_qty: Decimal::ZERO,
        avg_fill_price: None,
        fee: Decimal::ZERO,
        reduce_only: req.reduce_only,
        updated_at: now,
    }
}

fn filled_status(req: &OrderRequest, venue_order_id: &str, fill: &Fill) -> OrderStatus {
    OrderStatus {
        client_order_id: req.client_order_id.clone(),
        venue_order_id: Some(venue_order_id.to_string()),
        symbol: req.symbol.clone(),
        side: req.side,
        state: OrderState::Filled,
        qty: req.qty,
        filled_qty: fill.qty,
        avg_fill_price: Some(fill.price),
        fee: fill.fee,
        reduce_only: req.reduce_only,
        updated_at: fill.filled_at,
    }
}

/// The order an earlier attempt with this client order id placed, answered again as the venues
/// do for a retried request; an id that belongs to a different order is refused.
fn earlier_attempt(st: &PaperState, req: &OrderRequest) -> Result<Option<OrderStatus>, VenueError> {
    let Some(existing) = st.orders.get(&req.client_order_id) else {
        return Ok(None);
    };
    if existing.request == *req {
        return Ok(Some(existing.status.clone()));
    }
    Err(rejected(
        "duplicate_client_order_id",
        format!(
            "client order id {} already belongs to a different order ({} {} {} {})",
            req.client_order_id,
            existing.request.side.as_str(),
            existing.request.qty,
            existing.request.symbol,
            existing.status.state.as_str()
        ),
    ))
}
