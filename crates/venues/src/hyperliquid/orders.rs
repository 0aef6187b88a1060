//! Order entry and look-ups for [`HyperliquidVenue`]:
//!
//! - a market order is an IOC limit at the configured slippage from the mark (5 % by
//!   default, as the SDK's `market_open`), its price rounded so the slippage is never exceeded;
//!   a limit order is GTC at its price, rounded in the trader's favour to 5 significant figures;
//! - each order carries the cloid of its client order id, so an unsure outcome is settled with
//!   `orderStatus` by cloid, and a resent order is refused as a duplicate instead of doubling;
//! - `orderStatus` gives the order's state and remaining size; the average price and fees come
//!   from the account's `userFills` of that order;
//! - with the user streams up ([`super::stream`]), an order's fees and a cancel's outcome are
//!   taken from the pushes when they come within the fill wait, sparing `userFills` (weight 20)
//!   and `orderStatus`; otherwise, and for every look-up by client id, REST answers.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::json;
use tradeengine_model::{
    ClientOrderId, MarginMode, OrderKind, OrderRequest, OrderState, OrderStatus, Price, Side,
    Symbol,
};

use super::VENUE;
use super::actions::{
    CancelByCloidAction, CancelByCloidWire, OrderAction, OrderTypeWire, OrderWire, Tif,
    UpdateLeverageAction,
};
use super::models::{
    FrontendOrder, OrderOutcome, OrderResponse, OrderStatusReply, StatusClass, UserFill,
};
use super::venue::{Asset, HyperliquidVenue, client_id_of, cloid_of, rejected, symbol_of_coin};
use super::wire;
use crate::parse::{dec, in_reply, ms, reply};
use crate::{VenueError, VenueErrorKind};

const ORDER: &str = "POST /exchange order";
const STATUS: &str = "POST /info orderStatus";
const OPEN: &str = "POST /info frontendOpenOrders";
const FILLS: &str = "POST /info userFills";

pub(super) fn wire_error(e: wire::WireError) -> VenueError {
    rejected("bad_number", e.to_string())
}

impl HyperliquidVenue {
    pub(super) fn remember(&self, cloid: &str, id: &ClientOrderId) {
        self.cloids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(cloid.to_string(), id.clone());
    }

    pub(crate) async fn place(&self, order: &OrderRequest) -> Result<OrderStatus, VenueError> {
        let asset = self.asset(&order.symbol).await?;
        crate::checks::check_order(VENUE, &asset.instrument, order)?;
        self.arm_dead_man();
        let is_buy = order.side == Side::Buy;
        let (price, tif) = self.price_and_tif(&asset, order).await?;
        let size = wire::round_size(order.qty, asset.sz_decimals);
        let cloid = cloid_of(&order.client_order_id);
        self.remember(&cloid, &order.client_order_id);
        let action = OrderAction::new(vec![OrderWire {
            a: asset.id,
            b: is_buy,
            p: wire::decimal_to_wire(price).map_err(wire_error)?,
            s: wire::decimal_to_wire(size).map_err(wire_error)?,
            r: order.reduce_only,
            t: OrderTypeWire::limit(tif),
            c: Some(cloid),
        }]);
        let response = self.http.exchange(&action, 1).await?;
        let data: OrderResponse = reply(VENUE, ORDER, response)?;
        let outcome = data.data.statuses.into_iter().next().ok_or_else(|| {
            VenueError::new(
                VENUE,
                VenueErrorKind::Internal,
                format!("{ORDER}: no status"),
            )
        })?;
        match entry_status(order, tif, outcome)? {
            Entry::Placed(mut status, Some(oid)) => {
                status.fee = self
                    .fee_of(&order.client_order_id, oid, status.filled_qty)
                    .await;
                Ok(status)
            }
            Entry::Placed(status, None) => Ok(status),
            Entry::Refused(message) => self.refused_order(order, &message).await,
        }
    }

    /// The limit price and time in force an order goes out with: a market order is an IOC at
    /// the slippage from the mark, a limit order GTC at its price, each rounded to a valid
    /// price in the trader's favour.
    async fn price_and_tif(
        &self,
        asset: &Asset,
        order: &OrderRequest,
    ) -> Result<(Decimal, Tif), VenueError> {
        let is_buy = order.side == Side::Buy;
        match order.kind {
            OrderKind::Market => {
                let marks = self.marks().await?;
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
                Ok((px, Tif::Ioc))
            }
            OrderKind::Limit { price } => Ok((
                wire::round_price(price.get(), asset.sz_decimals, is_buy).map_err(wire_error)?,
                Tif::Gtc,
            )),
        }
    }

    /// A per-order `error`: a duplicate cloid means an earlier attempt landed (answer with
    /// it); an IOC that met no liquidity was cancelled unfilled; anything else is a rejection.
    pub(super) async fn refused_order(
        &self,
        order: &OrderRequest,
        message: &str,
    ) -> Result<OrderStatus, VenueError> {
        let lower = message.to_ascii_lowercase();
        if lower.contains("duplicate") {
            return self
                .lookup(&order.symbol, &order.client_order_id)
                .await?
                .ok_or_else(|| {
                    VenueError::new(
                        VENUE,
                        VenueErrorKind::Ambiguous,
                        format!(
                            "order {} is a duplicate but cannot be found yet",
                            order.client_order_id
                        ),
                    )
                    .with_code("duplicate")
                });
        }
        let code = if lower.contains("could not immediately match") {
            "ioc_unfilled"
        } else if lower.contains("margin") {
            "insufficient_margin"
        } else if lower.contains("reduce only") {
            "reduce_only"
        } else if lower.contains("minimum value") {
            "min_notional"
        } else {
            "order_refused"
        };
        Err(rejected(
            code,
            format!("{}: {message}", order.client_order_id),
        ))
    }

    /// The fees of an order that filled `filled` at once: from the pushed fills when the
    /// stream brings them all in time, else from `userFills`.
    async fn fee_of(&self, id: &ClientOrderId, oid: u64, filled: Decimal) -> Decimal {
        if let Some(s) = self.pushed(id, |s| s.filled_qty >= filled).await {
            return s.fee;
        }
        self.fills_of(oid)
            .await
            .map(|(_, _, fee)| fee)
            .unwrap_or_default()
    }

    /// The account's fills of order `oid`: (quantity, average price, fees).
    async fn fills_of(&self, oid: u64) -> Result<(Decimal, Option<Price>, Decimal), VenueError> {
        let user = self.user()?;
        let value = self
            .http
            .info(&json!({"type": "userFills", "user": user}))
            .await?;
        let fills: Vec<UserFill> = reply(VENUE, FILLS, value)?;
        let (mut qty, mut notional, mut fee) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        for f in fills.iter().filter(|f| f.oid == oid) {
            let sz = dec(VENUE, "sz", &f.sz).map_err(in_reply(FILLS))?;
            qty += sz;
            notional += sz * dec(VENUE, "px", &f.px).map_err(in_reply(FILLS))?;
            fee += dec(VENUE, "fee", &f.fee).map_err(in_reply(FILLS))?;
        }
        let avg = if qty.is_zero() {
            None
        } else {
            Price::new(notional / qty).ok()
        };
        Ok((qty, avg, fee))
    }

    fn status_of(
        &self,
        order: &FrontendOrder,
        venue_status: &str,
        updated_ms: i64,
    ) -> Result<OrderStatus, VenueError> {
        let known = self
            .cloids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let client_order_id = order
            .cloid
            .as_deref()
            .and_then(|c| client_id_of(&known, c))
            .ok_or_else(|| rejected("no_cloid", format!("order {} has no cloid", order.oid)))?;
        let qty = dec(VENUE, "origSz", &order.orig_sz).map_err(in_reply(STATUS))?;
        let left = dec(VENUE, "sz", &order.sz).map_err(in_reply(STATUS))?;
        let filled = (qty - left).max(Decimal::ZERO);
        let state = match StatusClass::of(venue_status) {
            StatusClass::Working if filled.is_zero() => OrderState::Acknowledged,
            StatusClass::Working => OrderState::PartiallyFilled,
            StatusClass::Filled => OrderState::Filled,
            StatusClass::Rejected => OrderState::Rejected,
            StatusClass::Cancelled => OrderState::Cancelled,
            StatusClass::Unknown => OrderState::Unknown,
        };
        Ok(OrderStatus {
            client_order_id,
            venue_order_id: Some(order.oid.to_string()),
            symbol: symbol_of_coin(&order.coin)?,
            side: if order.side == "B" {
                Side::Buy
            } else {
                Side::Sell
            },
            state,
            qty,
            filled_qty: filled,
            avg_fill_price: None,
            fee: Decimal::ZERO,
            reduce_only: order.reduce_only,
            updated_at: ms(VENUE, "statusTimestamp", updated_ms)?,
        })
    }

    /// `orderStatus` by cloid, with the fills' average price and fees when it traded.
    pub(crate) async fn lookup(
        &self,
        _symbol: &Symbol,
        id: &ClientOrderId,
    ) -> Result<Option<OrderStatus>, VenueError> {
        let user = self.user()?;
        let cloid = cloid_of(id);
        let value = self
            .http
            .info(&json!({"type": "orderStatus", "user": user, "oid": cloid}))
            .await?;
        let found: OrderStatusReply = reply(VENUE, STATUS, value)?;
        let Some(o) = found.order.filter(|_| found.status == "order") else {
            return Ok(None);
        };
        self.remember(&cloid, id);
        let mut status = self.status_of(&o.order, &o.status, o.status_timestamp)?;
        status.client_order_id = id.clone();
        if !status.filled_qty.is_zero() {
            let (_, avg, fee) = self.fills_of(o.order.oid).await?;
            status.avg_fill_price = avg;
            status.fee = fee;
        }
        Ok(Some(status))
    }

    pub(crate) async fn cancel(
        &self,
        symbol: &Symbol,
        id: &ClientOrderId,
    ) -> Result<OrderStatus, VenueError> {
        let asset = self.asset(symbol).await?;
        let action = CancelByCloidAction::new(vec![CancelByCloidWire {
            asset: asset.id,
            cloid: cloid_of(id),
        }]);
        // A per-order error ("never placed, already canceled, or filled") is answered below
        // with what the order became: pushed on the stream, else read back.
        self.http.exchange(&action, 1).await?;
        if let Some(s) = self.pushed(id, |s| s.state.is_terminal()).await {
            return Ok(s);
        }
        self.lookup(symbol, id).await?.ok_or_else(|| {
            rejected(
                "not_found",
                format!("order {id} does not exist on Hyperliquid"),
            )
        })
    }

    pub(crate) async fn resting(
        &self,
        symbol: Option<&Symbol>,
    ) -> Result<Vec<OrderStatus>, VenueError> {
        let user = self.user()?;
        let value = self
            .http
            .info(&json!({"type": "frontendOpenOrders", "user": user}))
            .await?;
        let rows: Vec<FrontendOrder> = reply(VENUE, OPEN, value)?;
        let mut out = Vec::new();
        for row in rows {
            if row.cloid.is_none() {
                continue;
            }
            let s = self.status_of(&row, "open", row.timestamp)?;
            if symbol.is_none_or(|want| *want == s.symbol) {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// `updateLeverage` for `symbol` with a new leverage and/or margin mode; what is not given
    /// is kept (the mode last asked for, else cross; the position's leverage, else 1).
    pub(crate) async fn update_leverage(
        &self,
        symbol: &Symbol,
        leverage: Option<Decimal>,
        mode: Option<MarginMode>,
    ) -> Result<(), VenueError> {
        let asset = self.asset(symbol).await?;
        let mode = {
            let mut modes = self.modes.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(m) = mode {
                modes.insert(symbol.clone(), m);
            }
            modes.get(symbol).copied().unwrap_or(MarginMode::Cross)
        };
        let leverage = match leverage {
            Some(l) if l < Decimal::ONE => {
                return Err(rejected(
                    "bad_leverage",
                    format!("{symbol}: leverage {l} must be at least 1"),
                ));
            }
            Some(l) => l.trunc(),
            None => {
                let remembered = self
                    .leverages
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(symbol)
                    .copied();
                match remembered {
                    Some(l) => l,
                    None => self
                        .positions_leverage(symbol)
                        .await?
                        .unwrap_or(Decimal::ONE),
                }
            }
        };
        let whole = leverage.trunc().to_u32().unwrap_or(u32::MAX).max(1);
        let action = UpdateLeverageAction::new(asset.id, mode == MarginMode::Cross, whole);
        self.http.exchange(&action, 1).await?;
        self.leverages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(symbol.clone(), Decimal::from(whole));
        Ok(())
    }

    async fn positions_leverage(&self, symbol: &Symbol) -> Result<Option<Decimal>, VenueError> {
        use crate::Venue;
        Ok(self
            .positions()
            .await?
            .into_iter()
            .find(|p| p.symbol == *symbol)
            .map(|p| p.leverage))
    }
}

/// What one entry of an `order` action's answer says about `order`.
pub(super) enum Entry {
    /// Resting or (partly) filled: its status without the fee, and the venue's order id to
    /// find the fee of when something filled (the fee is looked up apart: from the stream's
    /// push, a `userFills` read, or a batch's single read).
    Placed(OrderStatus, Option<u64>),
    /// Refused by the venue, with its message.
    Refused(String),
}

/// The status one answer entry gives `order` (sent with time in force `tif`): shared by single
/// and batch entry so both read the venue's answer alike.
pub(super) fn entry_status(
    order: &OrderRequest,
    tif: Tif,
    outcome: OrderOutcome,
) -> Result<Entry, VenueError> {
    let mut status = OrderStatus {
        client_order_id: order.client_order_id.clone(),
        venue_order_id: None,
        symbol: order.symbol.clone(),
        side: order.side,
        state: OrderState::Acknowledged,
        qty: order.qty,
        filled_qty: Decimal::ZERO,
        avg_fill_price: None,
        fee: Decimal::ZERO,
        reduce_only: order.reduce_only,
        updated_at: chrono::Utc::now(),
    };
    match outcome {
        OrderOutcome::Resting(r) => {
            status.venue_order_id = Some(r.oid.to_string());
            Ok(Entry::Placed(status, None))
        }
        OrderOutcome::Filled(f) => {
            let filled = dec(VENUE, "totalSz", &f.total_sz).map_err(in_reply(ORDER))?;
            status.venue_order_id = Some(f.oid.to_string());
            status.filled_qty = filled;
            status.avg_fill_price =
                Price::new(dec(VENUE, "avgPx", &f.avg_px).map_err(in_reply(ORDER))?).ok();
            // An IOC that filled part is done: the rest was cancelled.
            status.state = if filled >= order.qty {
                OrderState::Filled
            } else if tif == Tif::Ioc {
                OrderState::Cancelled
            } else {
                OrderState::PartiallyFilled
            };
            Ok(Entry::Placed(status, Some(f.oid)))
        }
        OrderOutcome::Error(message) => Ok(Entry::Refused(message)),
    }
}
