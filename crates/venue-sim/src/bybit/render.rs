//! Bybit JSON shapes of orders and positions: REST rows and stream pushes, each with exactly the
//! keys Bybit documents for it.

use rust_decimal::Decimal;
use serde_json::{Value, json};
use tradeengine_model::{MarginMode, Side};

use crate::book::{Exchange, OrderType, SimOrder, SimStatus};
use crate::shape::pick;

fn s(d: Decimal) -> String {
    d.normalize().to_string()
}

pub fn status(st: SimStatus) -> &'static str {
    match st {
        SimStatus::New => "New",
        SimStatus::PartiallyFilled => "PartiallyFilled",
        SimStatus::Filled => "Filled",
        SimStatus::Cancelled => "Cancelled",
        SimStatus::PartiallyFilledCancelled => "PartiallyFilledCanceled",
    }
}

pub fn side(side: Side) -> &'static str {
    match side {
        Side::Buy => "Buy",
        Side::Sell => "Sell",
    }
}

/// Every field of an order the simulator can fill (REST rows and stream pushes pick theirs).
fn order_fields(o: &SimOrder) -> Value {
    let leaves = if o.status.is_open() {
        o.qty - o.filled
    } else {
        Decimal::ZERO
    };
    let cum_value = o.filled * o.avg_price.unwrap_or_default();
    json!({
        "category": "linear",
        "orderId": o.order_id.to_string(),
        "orderLinkId": o.client_id,
        "blockTradeId": "",
        "symbol": o.symbol,
        "price": o.price.map(s).unwrap_or_else(|| "0".into()),
        "qty": s(o.qty),
        "side": side(o.side),
        "isLeverage": "",
        "positionIdx": 0,
        "orderStatus": status(o.status),
        "cancelType": if matches!(o.status, SimStatus::Cancelled | SimStatus::PartiallyFilledCancelled) { "CancelByUser" } else { "UNKNOWN" },
        "rejectReason": "EC_NoError",
        "avgPrice": o.avg_price.map(s).unwrap_or_default(),
        "leavesQty": s(leaves),
        "leavesValue": s(leaves * o.price.unwrap_or_default()),
        "cumExecQty": s(o.filled),
        "cumExecValue": s(cum_value),
        "cumExecFee": s(o.fee),
        "timeInForce": if o.order_type == OrderType::Market { "IOC" } else { "GTC" },
        "orderType": if o.order_type == OrderType::Market { "Market" } else { "Limit" },
        "stopOrderType": "",
        "orderIv": "",
        "triggerPrice": "0",
        "takeProfit": "0",
        "stopLoss": "0",
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "triggerDirection": 0,
        "triggerBy": "",
        "lastPriceOnCreated": "",
        "reduceOnly": o.reduce_only,
        "closeOnTrigger": false,
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "tpslMode": "",
        "tpLimitPrice": "",
        "slLimitPrice": "",
        "placeType": "",
        "createdTime": o.created_ms.to_string(),
        "updatedTime": o.updated_ms.to_string(),
    })
}

/// An order row of `GET /v5/order/realtime` / `history`
/// (<https://bybit-exchange.github.io/docs/v5/order/open-order>).
pub fn order(o: &SimOrder) -> Value {
    pick(
        &order_fields(o),
        &[
            "orderId",
            "orderLinkId",
            "blockTradeId",
            "symbol",
            "price",
            "qty",
            "side",
            "isLeverage",
            "positionIdx",
            "orderStatus",
            "cancelType",
            "rejectReason",
            "avgPrice",
            "leavesQty",
            "leavesValue",
            "cumExecQty",
            "cumExecValue",
            "cumExecFee",
            "timeInForce",
            "orderType",
            "stopOrderType",
            "orderIv",
            "triggerPrice",
            "takeProfit",
            "stopLoss",
            "tpTriggerBy",
            "slTriggerBy",
            "triggerDirection",
            "triggerBy",
            "lastPriceOnCreated",
            "reduceOnly",
            "closeOnTrigger",
            "smpType",
            "smpGroup",
            "smpOrderId",
            "tpslMode",
            "tpLimitPrice",
            "slLimitPrice",
            "placeType",
            "createdTime",
            "updatedTime",
        ],
    )
}

/// An order in an `order` stream push
/// (<https://bybit-exchange.github.io/docs/v5/websocket/private/order>).
pub fn order_push(o: &SimOrder) -> Value {
    let mut row = pick(
        &order_fields(o),
        &[
            "category",
            "orderId",
            "orderLinkId",
            "blockTradeId",
            "symbol",
            "price",
            "qty",
            "side",
            "positionIdx",
            "orderStatus",
            "cancelType",
            "rejectReason",
            "avgPrice",
            "leavesQty",
            "leavesValue",
            "cumExecQty",
            "cumExecValue",
            "cumExecFee",
            "timeInForce",
            "orderType",
            "stopOrderType",
            "orderIv",
            "triggerPrice",
            "takeProfit",
            "stopLoss",
            "tpTriggerBy",
            "slTriggerBy",
            "triggerDirection",
            "triggerBy",
            "lastPriceOnCreated",
            "reduceOnly",
            "closeOnTrigger",
            "createdTime",
            "updatedTime",
        ],
    );
    // The stream documents `triggerDirection` as a string.
    row["triggerDirection"] = json!("0");
    row
}

/// Every field of a position the simulator can fill.
fn position_fields(ex: &Exchange, symbol: &str, idx: i64, now_ms: i64) -> Value {
    let p = ex.position(symbol);
    let mark = ex.price(symbol).unwrap_or_default();
    let side_str = if p.size > Decimal::ZERO {
        "Buy"
    } else if p.size < Decimal::ZERO {
        "Sell"
    } else {
        ""
    };
    let trade_mode = if ex.account_margin() == MarginMode::Isolated {
        1
    } else {
        0
    };
    let im = if ex.leverage(symbol).is_zero() {
        Decimal::ZERO
    } else {
        p.size.abs() * mark / ex.leverage(symbol)
    };
    json!({
        "positionIdx": idx,
        "riskId": 1,
        "riskLimitValue": "2000000",
        "symbol": symbol,
        "side": side_str,
        "size": s(p.size.abs()),
        "avgPrice": s(p.entry),
        "entryPrice": s(p.entry),
        "sessionAvgPrice": "",
        "positionValue": s(p.size.abs() * p.entry),
        "tradeMode": trade_mode,
        "positionStatus": "Normal",
        "autoAddMargin": 0,
        "adlRankIndicator": 0,
        "leverage": s(ex.leverage(symbol)),
        "positionBalance": s(im),
        "markPrice": s(mark),
        "liqPrice": "",
        "bustPrice": "",
        "positionMM": "0",
        "positionIM": s(im),
        "tpslMode": "Full",
        "takeProfit": "0",
        "stopLoss": "0",
        "trailingStop": "0",
        "unrealisedPnl": s(ex.unrealised(symbol)),
        "curRealisedPnl": "0",
        "cumRealisedPnl": "0",
        "seq": now_ms,
        "isReduceOnly": false,
        "mmrSysUpdateTime": "",
        "mmrSysUpdatedTime": "",
        "leverageSysUpdatedTime": "",
        "category": "linear",
        "createdTime": now_ms.to_string(),
        "updatedTime": now_ms.to_string(),
    })
}

/// A position row of `GET /v5/position/list` (entry price `avgPrice`;
/// <https://bybit-exchange.github.io/docs/v5/position>).
pub fn position(ex: &Exchange, symbol: &str, idx: i64, now_ms: i64) -> Value {
    pick(
        &position_fields(ex, symbol, idx, now_ms),
        &[
            "positionIdx",
            "riskId",
            "riskLimitValue",
            "symbol",
            "side",
            "size",
            "avgPrice",
            "positionValue",
            "tradeMode",
            "positionStatus",
            "autoAddMargin",
            "adlRankIndicator",
            "leverage",
            "positionBalance",
            "markPrice",
            "liqPrice",
            "bustPrice",
            "positionMM",
            "positionIM",
            "tpslMode",
            "takeProfit",
            "stopLoss",
            "trailingStop",
            "unrealisedPnl",
            "cumRealisedPnl",
            "seq",
            "isReduceOnly",
            "mmrSysUpdateTime",
            "leverageSysUpdatedTime",
            "createdTime",
            "updatedTime",
        ],
    )
}

/// A position in a `position` stream push (entry price `entryPrice`;
/// <https://bybit-exchange.github.io/docs/v5/websocket/private/position>).
pub fn position_push(ex: &Exchange, symbol: &str, idx: i64, now_ms: i64) -> Value {
    pick(
        &position_fields(ex, symbol, idx, now_ms),
        &[
            "positionIdx",
            "tradeMode",
            "riskId",
            "riskLimitValue",
            "symbol",
            "side",
            "size",
            "entryPrice",
            "leverage",
            "positionValue",
            "positionBalance",
            "markPrice",
            "positionIM",
            "positionMM",
            "takeProfit",
            "stopLoss",
            "trailingStop",
            "unrealisedPnl",
            "curRealisedPnl",
            "cumRealisedPnl",
            "sessionAvgPrice",
            "createdTime",
            "updatedTime",
            "tpslMode",
            "liqPrice",
            "bustPrice",
            "category",
            "positionStatus",
            "adlRankIndicator",
            "autoAddMargin",
            "leverageSysUpdatedTime",
            "mmrSysUpdatedTime",
            "seq",
            "isReduceOnly",
        ],
    )
}
