//! Fees of finished Binance orders.
//!
//! Binance's REST order object carries no commission; its user stream does, per execution
//! (`ORDER_TRADE_UPDATE` with `x = TRADE`: commission `n` in `N`, quantity `l`). The engine
//! records an order's fill, with its fee, once, when the order is finished, so a finished order
//! with fills is reported with the fee of all its executions: from the stream when the
//! stream's executions add up to the filled quantity, else from the order's trades, `GET
//! /fapi/v1/userTrades?symbol=&orderId=` (weight 5; each row's `commission` in
//! `commissionAsset`, `qty`). Before this, a stream that was off, reconnecting or a push later
//! than 200 ms left the fee at 0 for good.
//!
//! While the trades Binance lists do not add up to the filled quantity, the adapter asks again
//! for a short while, then reports the order as ambiguous (`fills_not_listed`): the engine
//! leaves it unsettled and settles it by client id on a later cycle.
//! An order that finished over six days ago, whose executions the venue no longer lists, is
//! recorded with the fee it reported and an error in the log, rather than left unsettled.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use tradeengine_model::OrderStatus;

use super::BinanceVenue;
use crate::VenueError;
use crate::binance::VENUE;
use crate::binance::http::Auth;
use crate::binance::models::usdt_fee;
use crate::fill_fees::{not_listed, poll_fee};
use crate::http::{Method, Query};
use crate::parse::{dec, in_reply};

pub const USER_TRADES: &str = "GET /fapi/v1/userTrades";

/// One row of `GET /fapi/v1/userTrades`, the fields the fee needs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TradeRow {
    pub order_id: Value,
    pub qty: String,
    pub commission: String,
    pub commission_asset: String,
}

/// The fee of order `order_id` over `rows`, once they add up to `filled`; `None` while Binance
/// lists fewer.
pub fn order_fee(
    rows: &[TradeRow],
    order_id: &str,
    filled: Decimal,
) -> Result<Option<Decimal>, VenueError> {
    let (mut qty, mut fee) = (Decimal::ZERO, Decimal::ZERO);
    for row in rows.iter().filter(|r| id_text(&r.order_id) == order_id) {
        qty += dec(VENUE, "qty", &row.qty)?;
        fee += usdt_fee(
            Some(&row.commission_asset),
            dec(VENUE, "commission", &row.commission)?,
        );
    }
    Ok((qty >= filled).then_some(fee))
}

fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl BinanceVenue {
    /// `status` (finished, with fills) with its fee from the stream when the stream saw every
    /// execution, else from the order's trades.
    pub(super) async fn with_fee(&self, status: OrderStatus) -> Result<OrderStatus, VenueError> {
        if let Some(fee) = self
            .fees
            .covering(status.client_order_id.as_str(), status.filled_qty)
        {
            return Ok(OrderStatus { fee, ..status });
        }
        let Some(order_id) = status.venue_order_id.clone() else {
            return Err(not_listed(
                VENUE,
                &status,
                "Binance gave no order id to read its trades by",
            ));
        };
        let q = Query::new()
            .with("symbol", status.symbol.as_str())
            .with("orderId", &order_id)
            .with("limit", "1000");
        let filled = status.filled_qty;
        poll_fee(VENUE, "trades", status, || async {
            let v = self
                .http
                .request(
                    Method::Get,
                    "/fapi/v1/userTrades",
                    &q,
                    Auth::Signed,
                    5,
                    false,
                )
                .await?;
            let rows: Vec<TradeRow> = crate::parse::reply(VENUE, USER_TRADES, v)?;
            order_fee(&rows, &order_id, filled).map_err(in_reply(USER_TRADES))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use serde_json::json;

    use super::*;

    fn rows(v: Value) -> Vec<TradeRow> {
        serde_json::from_value(v).unwrap_or_else(|e| panic!("fixture: {e}"))
    }

    #[test]
    fn the_fee_is_the_sum_over_the_orders_trades_once_they_cover_its_filled_quantity() {
        let r = rows(json!([
            {"orderId": 7, "qty": "0.006", "commission": "0.198", "commissionAsset": "USDT"},
            {"orderId": 8, "qty": "1", "commission": "9", "commissionAsset": "USDT"},
            {"orderId": 7, "qty": "0.004", "commission": "0.132", "commissionAsset": "USDT"},
        ]));
        assert_eq!(
            order_fee(&r, "7", dec!(0.01)).ok().flatten(),
            Some(dec!(0.33))
        );
        // One trade not listed yet: unknown, not 0.
        assert_eq!(order_fee(&r[..2], "7", dec!(0.01)).ok(), Some(None));
    }

    #[test]
    fn a_commission_in_bnb_is_not_added_to_usdt() {
        let r = rows(json!([
            {"orderId": 7, "qty": "0.01", "commission": "0.0005", "commissionAsset": "BNB"},
        ]));
        assert_eq!(order_fee(&r, "7", dec!(0.01)).ok().flatten(), Some(dec!(0)));
        let bad = rows(json!([
            {"orderId": 7, "qty": "0.01", "commission": "x", "commissionAsset": "USDT"},
        ]));
        assert!(order_fee(&bad, "7", dec!(0.01)).is_err());
    }
}
