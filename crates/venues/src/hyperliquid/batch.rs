//! Many orders in one signed `order` action (the SDK's `bulk_orders`): `{type: "order",
//! orders: [...], grouping: "na"}`, answered with one `statuses` entry per order, in order
//! (`resting`, `filled` or `error`), so one order's refusal leaves the others placed.
//!
//! - **Cost:** the IP weight of an action is `1 + floor(n / 40)` for a batch of `n`
//!   (https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/rate-limits-and-user-limits,
//!   see [`super::http::action_weight`]); against the address's action budget each order
//!   counts as one request, batched or not.
//! - **Size:** the documentation states no largest batch; `venue::BATCH_MAX` = 50 keeps one
//!   reconciliation cycle of 50 symbols in one action (weight 2).
//! - **Reads:** a market order's price needs the marks (`metaAndAssetCtxs`, weight 20) and a
//!   filled order's fee the account's `userFills` (weight 20). A single order reads both for
//!   itself, which makes 50 orders cost about 2,000 of the 1,200 weight per minute; a batch
//!   reads each once, so 50 orders cost 42.
//! - **Outcome:** each order carries its cloid as single orders do: an order whose status is
//!   missing, or an action whose answer was lost, is settled by cloid.

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde_json::json;
use tradeengine_model::{OrderKind, OrderRequest, OrderStatus, Side};

use super::VENUE;
use super::actions::{OrderAction, OrderTypeWire, OrderWire, Tif};
use super::models::{OrderOutcome, OrderResponse, UserFill};
use super::orders::wire_error;
use super::venue::{HyperliquidVenue, cloid_of};
use super::wire;
use crate::batch::{Results, Slots};
use crate::parse::{dec, reply};
use crate::{VenueError, VenueErrorKind};

const ORDER: &str = "POST /exchange order";

impl HyperliquidVenue {
    /// One order's wire form and time in force, checked against its asset's rules; a market
    /// order is an IOC at the slippage from `marks` (as a single order, see [`super::orders`]).
    async fn order_wire(
        &self,
        order: &OrderRequest,
        marks: &HashMap<String, Decimal>,
    ) -> Result<(OrderWire, Tif), VenueError> {
        let asset = self.asset(&order.symbol).await?;
        crate::checks::check_order(VENUE, &asset.instrument, order)?;
        let is_buy = order.side == Side::Buy;
        let (price, tif) = match order.kind {
            OrderKind::Market => {
                let mark = marks.get(&asset.coin).copied().ok_or_else(|| {
                    VenueError::new(
                        VENUE,
                        VenueErrorKind::Retryable,
                        format!("no mark price for {}", asset.coin),
                    )
                })?;
                let px =
                    wire::slippage_price(mark, self.options.slippage, asset.sz_decimals, is_buy)
                        .map_err(wire_error)?;
                (px, Tif::Ioc)
            }
            OrderKind::Limit { price } => (
                wire::round_price(price.get(), asset.sz_decimals, is_buy).map_err(wire_error)?,
                Tif::Gtc,
            ),
        };
        let size = wire::round_size(order.qty, asset.sz_decimals);
        let cloid = cloid_of(&order.client_order_id);
        self.remember(&cloid, &order.client_order_id);
        Ok((
            OrderWire {
                a: asset.id,
                b: is_buy,
                p: wire::decimal_to_wire(price).map_err(wire_error)?,
                s: wire::decimal_to_wire(size).map_err(wire_error)?,
                r: order.reduce_only,
                t: OrderTypeWire::limit(tif),
                c: Some(cloid),
            },
            tif,
        ))
    }

    /// The fees of the account's fills, by order id, from one `userFills` read (none when it
    /// cannot be read: a fee is never worth failing a placed order over).
    async fn fees(&self) -> HashMap<u64, Decimal> {
        let mut out = HashMap::new();
        let Ok(user) = self.user() else {
            return out;
        };
        let read = self
            .http
            .info(&json!({"type": "userFills", "user": user}))
            .await
            .and_then(|v| reply::<Vec<UserFill>>(VENUE, "POST /info userFills", v));
        for f in read.unwrap_or_default() {
            if let Ok(fee) = dec(VENUE, "fee", &f.fee) {
                *out.entry(f.oid).or_insert(Decimal::ZERO) += fee;
            }
        }
        out
    }

    /// One `order` action carrying `orders`.
    pub(super) async fn place_batch(&self, orders: &[OrderRequest]) -> Results {
        let mut slots = Slots::new(VENUE, orders);
        let marks = if orders.iter().any(|o| matches!(o.kind, OrderKind::Market)) {
            match self.marks().await {
                Ok(m) => m,
                Err(e) => {
                    slots.fail_pending(&e);
                    return slots.finish();
                }
            }
        } else {
            HashMap::new()
        };
        let mut wires = Vec::new();
        let mut sent = Vec::new();
        for (i, order) in slots.pending() {
            match self.order_wire(order, &marks).await {
                Ok((w, tif)) => {
                    wires.push(w);
                    sent.push((i, order, tif));
                }
                Err(e) => slots.set(i, Err(e)),
            }
        }
        if sent.is_empty() {
            return slots.finish();
        }
        self.arm_dead_man();
        let count = wires.len();
        let answer = self
            .http
            .exchange(&OrderAction::new(wires), count)
            .await
            .and_then(|response| reply::<OrderResponse>(VENUE, ORDER, response));
        let statuses = match answer {
            Ok(data) => data.data.statuses,
            Err(e) => {
                slots.fail_pending(&e);
                return slots.finish();
            }
        };
        let fees = if statuses
            .iter()
            .any(|s| matches!(s, OrderOutcome::Filled(_)))
        {
            self.fees().await
        } else {
            HashMap::new()
        };
        let fees = &fees;
        // Positional: an order past the end of `statuses` keeps no result (settled by cloid).
        let settled = futures::future::join_all(sent.into_iter().zip(statuses).map(
            |((i, order, tif), outcome)| async move {
                (i, self.settle_outcome(order, tif, outcome, fees).await)
            },
        ))
        .await;
        for (i, result) in settled {
            slots.set(i, result);
        }
        slots.finish()
    }

    /// What one order's status entry says about it.
    async fn settle_outcome(
        &self,
        order: &OrderRequest,
        tif: Tif,
        outcome: OrderOutcome,
        fees: &HashMap<u64, Decimal>,
    ) -> Result<OrderStatus, VenueError> {
        use super::orders::{Entry, entry_status};
        match entry_status(order, tif, outcome)? {
            Entry::Placed(mut status, Some(oid)) => {
                status.fee = fees.get(&oid).copied().unwrap_or_default();
                Ok(status)
            }
            Entry::Placed(status, None) => Ok(status),
            Entry::Refused(message) => self.refused_order(order, &message).await,
        }
    }
}
