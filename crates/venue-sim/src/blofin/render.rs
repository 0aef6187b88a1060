//! BloFin JSON shapes of orders and positions, in contracts: REST rows and stream pushes, each
//! with exactly the keys BloFin documents for it.

use rust_decimal::Decimal;
use serde_json::{Value, json};
use tradeengine_model::{MarginMode, Side};

use super::{contract_value, inst_id};
use crate::book::{Exchange, OrderType, SimOrder, SimStatus};
use crate::shape::pick;

fn s(d: Decimal) -> String {
    d.normalize().to_string()
}

/// Base units of `symbol` in contracts.
pub fn contracts(symbol: &str, base: Decimal) -> Decimal {
    (base / contract_value(symbol)).normalize()
}

pub fn state(st: SimStatus) -> &'static str {
    match st {
        SimStatus::New => "live",
        SimStatus::PartiallyFilled => "partially_filled",
        SimStatus::Filled => "filled",
        SimStatus::Cancelled => "canceled",
        SimStatus::PartiallyFilledCancelled => "partially_canceled",
    }
}

pub fn margin(mode: MarginMode) -> &'static str {
    match mode {
        MarginMode::Cross => "cross",
        MarginMode::Isolated => "isolated",
    }
}

/// Every field of an order the simulator can fill (REST rows and stream pushes pick theirs).
fn order_fields(ex: &Exchange, o: &SimOrder) -> Value {
    let filled_amount = o.filled * o.avg_price.unwrap_or_default();
    json!({
        "instType": "SWAP",
        "orderId": o.order_id.to_string(),
        "clientOrderId": o.client_id,
        "instId": inst_id(&o.symbol),
        "marginMode": margin(ex.account_margin()),
        "positionSide": "net",
        "side": if o.side == Side::Buy { "buy" } else { "sell" },
        "orderType": if o.order_type == OrderType::Market { "market" } else { "limit" },
        "price": o.price.map(s).unwrap_or_else(|| "0".into()),
        "size": s(contracts(&o.symbol, o.qty)),
        "reduceOnly": if o.reduce_only { "true" } else { "false" },
        "leverage": s(ex.leverage(&o.symbol)),
        "state": state(o.status),
        "filledSize": s(contracts(&o.symbol, o.filled)),
        "filled_amount": s(filled_amount),
        "filledAmount": s(filled_amount),
        "averagePrice": o.avg_price.map(s).unwrap_or_else(|| "0".into()),
        "fee": s(o.fee),
        "pnl": "0",
        "cancelSource": "",
        "orderCategory": "normal",
        "tpTriggerPrice": "",
        "tpOrderPrice": "",
        "slTriggerPrice": "",
        "slOrderPrice": "",
        "brokerId": "",
        "algoClientOrderId": "",
        "algoId": "",
        "createTime": o.created_ms.to_string(),
        "updateTime": o.updated_ms.to_string(),
    })
}

/// An order row of `GET /api/v1/trade/orders-pending` and `order-detail`
/// (<https://docs.blofin.com/index.html#get-active-orders>).
pub fn order(ex: &Exchange, o: &SimOrder) -> Value {
    pick(
        &order_fields(ex, o),
        &[
            "orderId",
            "clientOrderId",
            "instId",
            "marginMode",
            "positionSide",
            "side",
            "orderType",
            "price",
            "size",
            "reduceOnly",
            "leverage",
            "state",
            "filledSize",
            "filled_amount",
            "averagePrice",
            "fee",
            "pnl",
            "createTime",
            "updateTime",
            "orderCategory",
            "tpTriggerPrice",
            "slTriggerPrice",
            "slOrderPrice",
            "tpOrderPrice",
            "brokerId",
        ],
    )
}

/// An order in an `orders` channel push (<https://docs.blofin.com/index.html#ws-order-channel>).
pub fn order_push(ex: &Exchange, o: &SimOrder) -> Value {
    pick(
        &order_fields(ex, o),
        &[
            "instType",
            "instId",
            "orderId",
            "clientOrderId",
            "price",
            "size",
            "orderType",
            "side",
            "positionSide",
            "marginMode",
            "filledSize",
            "filledAmount",
            "averagePrice",
            "state",
            "leverage",
            "tpTriggerPrice",
            "tpOrderPrice",
            "slTriggerPrice",
            "slOrderPrice",
            "fee",
            "pnl",
            "cancelSource",
            "orderCategory",
            "createTime",
            "updateTime",
            "reduceOnly",
            "brokerId",
            "algoClientOrderId",
            "algoId",
        ],
    )
}

/// Every field of a net-mode position the simulator can fill; `positions` is signed contracts.
fn position_fields(ex: &Exchange, symbol: &str, now_ms: i64) -> Value {
    let p = ex.position(symbol);
    let mark = ex.price(symbol).unwrap_or_default();
    json!({
        "positionId": format!("p-{symbol}"),
        "instId": inst_id(symbol),
        "instType": "SWAP",
        "marginMode": margin(ex.account_margin()),
        "positionSide": "net",
        "adl": "1",
        "positions": s(contracts(symbol, p.size)),
        "availablePositions": s(contracts(symbol, p.size.abs())),
        "averagePrice": s(p.entry),
        "margin": "",
        "initialMargin": "0",
        "markPrice": s(mark),
        "marginRatio": "0",
        "liquidationPrice": "0",
        "unrealizedPnl": s(ex.unrealised(symbol)),
        "unrealizedPnlRatio": "0",
        "maintenanceMargin": "0",
        "leverage": s(ex.leverage(symbol)),
        "createTime": now_ms.to_string(),
        "updateTime": now_ms.to_string(),
    })
}

/// A position row of `GET /api/v1/account/positions`
/// (<https://docs.blofin.com/index.html#get-positions>).
pub fn position(ex: &Exchange, symbol: &str, now_ms: i64) -> Value {
    pick(
        &position_fields(ex, symbol, now_ms),
        &[
            "positionId",
            "instId",
            "instType",
            "marginMode",
            "positionSide",
            "adl",
            "positions",
            "availablePositions",
            "averagePrice",
            "margin",
            "markPrice",
            "marginRatio",
            "liquidationPrice",
            "unrealizedPnl",
            "unrealizedPnlRatio",
            "maintenanceMargin",
            "createTime",
            "updateTime",
            "leverage",
        ],
    )
}

/// A position in a `positions` channel push
/// (<https://docs.blofin.com/index.html#ws-positions-channel>).
pub fn position_push(ex: &Exchange, symbol: &str, now_ms: i64) -> Value {
    pick(
        &position_fields(ex, symbol, now_ms),
        &[
            "instType",
            "instId",
            "marginMode",
            "positionId",
            "positionSide",
            "positions",
            "availablePositions",
            "averagePrice",
            "unrealizedPnl",
            "unrealizedPnlRatio",
            "leverage",
            "liquidationPrice",
            "markPrice",
            "initialMargin",
            "margin",
            "marginRatio",
            "maintenanceMargin",
            "adl",
            "createTime",
            "updateTime",
        ],
    )
}
