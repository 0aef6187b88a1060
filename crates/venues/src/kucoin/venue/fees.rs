//! Fees of finished KuCoin orders.
//!
//! KuCoin Futures puts no fee on an order (`GET /api/v1/orders/byClientOid`, `GET
//! /api/v1/orders`) nor on the order stream (`/contractMarket/tradeOrders`): the fee is on each
//! of the order's fills, `GET /api/v1/fills?orderId=` (KuCoin Futures API, "Get Fills": `fee`
//! in `feeCurrency`, `size` in lots; positive is paid, a maker rebate is negative, the engine's
//! sign too). The engine records an order's fill, with its fee, once, when the order is
//! finished; so a finished order with fills is reported only with the fee of its fills
//! counted, never with a fee of 0 that the books would keep.
//!
//! KuCoin documents the fills list as "not real-time". While the fills it lists do not add up
//! to the order's filled size, the adapter asks again for a short while, then reports the order
//! as ambiguous (`fills_not_listed`): the engine leaves the order unsettled and settles it by
//! client id on a later cycle, which asks for the fills again.
//! An order that finished over six days ago, whose fills KuCoin no longer lists, is recorded
//! with the fee it reported and an error in the log, rather than left unsettled for good.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use tradeengine_model::{Instrument, OrderStatus};

use super::{KucoinVenue, rows};
use crate::VenueError;
use crate::fill_fees::{not_listed, poll_fee};
use crate::http::Query;
use crate::kucoin::VENUE;
use crate::kucoin::http::weight;
use crate::kucoin::models::{required, to_base};
use crate::parse::{bad_reply, in_reply};

pub const FILLS: &str = "GET /api/v1/fills";
/// Pages of 100 fills; an order with more than 2,000 fills is reported as ambiguous.
const PAGE_SIZE: u32 = 100;
const MAX_PAGES: u32 = 20;
/// The settlement currency of the USDT-margined contracts this adapter trades.
const FEE_CURRENCY: &str = "USDT";

/// One fill of `GET /api/v1/fills`, the fields the fee needs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FillRow {
    pub order_id: String,
    /// Lots.
    pub size: Value,
    pub fee: Value,
    pub fee_currency: Option<String>,
}

/// The fee of order `order_id`, summed over `rows`, once the rows add up to `filled` base
/// units; `None` while KuCoin lists fewer. A fee in another currency than USDT is an error
/// rather than a figure added to USDT.
pub fn order_fee(
    rows: &[FillRow],
    order_id: &str,
    i: &Instrument,
    filled: Decimal,
) -> Result<Option<Decimal>, VenueError> {
    let (mut lots, mut fee) = (Decimal::ZERO, Decimal::ZERO);
    for row in rows.iter().filter(|r| r.order_id == order_id) {
        if let Some(c) = row.fee_currency.as_deref()
            && !c.is_empty()
            && c != FEE_CURRENCY
        {
            return Err(bad_reply(VENUE, "feeCurrency", c));
        }
        lots += required(&row.size, "size")?;
        fee += required(&row.fee, "fee")?;
    }
    Ok((to_base(i, "size", lots)? >= filled).then_some(fee))
}

impl KucoinVenue {
    /// `status` with its fee from KuCoin's fills when it is finished with a filled quantity;
    /// unchanged otherwise (an open order's fee is read when it finishes).
    pub(super) async fn with_fee(&self, status: OrderStatus) -> Result<OrderStatus, VenueError> {
        if !status.state.is_terminal() || status.filled_qty <= Decimal::ZERO {
            return Ok(status);
        }
        let Some(order_id) = status.venue_order_id.clone() else {
            return Err(not_listed(
                VENUE,
                &status,
                "KuCoin gave no order id to read its fills by",
            ));
        };
        let i = self.instrument(&status.symbol).await?;
        let filled = status.filled_qty;
        poll_fee(VENUE, "fills", status, || async {
            let rows = self.fills_of(&order_id).await?;
            order_fee(&rows, &order_id, &i, filled).map_err(in_reply(FILLS))
        })
        .await
    }

    /// Every fill KuCoin lists for one order.
    async fn fills_of(&self, order_id: &str) -> Result<Vec<FillRow>, VenueError> {
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let q = Query::new()
                .with("orderId", order_id)
                .with("currentPage", page.to_string())
                .with("pageSize", PAGE_SIZE.to_string());
            let data = self.http().get("/api/v1/fills", &q, weight::FILLS).await?;
            let total_pages = data.get("totalPage").and_then(Value::as_u64).unwrap_or(1);
            let items = data.get("items").cloned().unwrap_or(Value::Null);
            out.extend(rows::<FillRow>(items, FILLS)?);
            if u64::from(page) >= total_pages {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use serde_json::json;

    use super::*;

    fn rows(v: Value) -> Vec<FillRow> {
        serde_json::from_value(v).unwrap_or_else(|e| panic!("fixture: {e}"))
    }

    /// Contract size 0.001 (KuCoin's XBTUSDTM multiplier).
    fn xbt() -> Instrument {
        let row: crate::kucoin::models::ContractRow = serde_json::from_value(json!({
            "symbol": "XBTUSDTM", "rootSymbol": "USDT", "type": "FFWCSX", "baseCurrency": "XBT",
            "quoteCurrency": "USDT", "settleCurrency": "USDT", "maxOrderQty": 1000000,
            "maxPrice": 1000000.0, "lotSize": 1, "tickSize": 0.1, "multiplier": 0.001,
            "isInverse": false, "markPrice": 60000.12, "maxLeverage": 125, "status": "Open"
        }))
        .unwrap_or_else(|e| panic!("fixture: {e}"));
        row.to_instrument()
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no instrument"))
    }

    #[test]
    fn the_fee_is_the_sum_over_the_orders_fills_once_they_cover_its_filled_size() {
        // Two fills of order A (3 + 2 lots = 0.005 BTC), one of another order.
        let r = rows(json!([
            {"orderId": "A", "size": 3, "fee": "0.099", "feeCurrency": "USDT"},
            {"orderId": "B", "size": 9, "fee": "9", "feeCurrency": "USDT"},
            {"orderId": "A", "size": 2, "fee": "-0.011", "feeCurrency": "USDT"},
        ]));
        assert_eq!(
            order_fee(&r, "A", &xbt(), dec!(0.005)).ok().flatten(),
            Some(dec!(0.088))
        );
    }

    #[test]
    fn fills_not_yet_listed_leave_the_fee_unknown_instead_of_zero() {
        let r = rows(json!([{"orderId": "A", "size": 3, "fee": "0.099", "feeCurrency": "USDT"}]));
        assert_eq!(order_fee(&r, "A", &xbt(), dec!(0.005)).ok(), Some(None));
        assert_eq!(order_fee(&[], "A", &xbt(), dec!(0.005)).ok(), Some(None));
    }

    #[test]
    fn a_fee_in_another_currency_or_without_a_number_is_refused() {
        let other = rows(json!([{"orderId": "A", "size": 5, "fee": "1", "feeCurrency": "KCS"}]));
        assert!(order_fee(&other, "A", &xbt(), dec!(0.005)).is_err());
        let blank = rows(json!([{"orderId": "A", "size": 5, "fee": "", "feeCurrency": "USDT"}]));
        assert!(order_fee(&blank, "A", &xbt(), dec!(0.005)).is_err());
    }
}
