//! Bybit JSON shapes of orders and positions (REST rows and stream pushes share them).

use rust_decimal::Decimal;
use serde_json::{Value, json};
use tradeengine_model::{MarginMode, Side};

use crate::book::{Exchange, OrderType, SimOrder, SimStatus};

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

pub fn order(o: &SimOrder) -> Value {
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
        "reduceOnly": o.reduce_only,
        "closeOnTrigger": false,
        "createdTime": o.created_ms.to_string(),
        "updatedTime": o.updated_ms.to_string(),
    })
}

/// A position row as `/v5/position/list` shows it (`avgPrice`); streams add `entryPrice`.
pub fn position(ex: &Exchange, symbol: &str, idx: i64, now_ms: i64) -> Value {
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
    json!({
        "positionIdx": idx,
        "riskId": 1,
        "symbol": symbol,
        "side": side_str,
        "size": s(p.size.abs()),
        "avgPrice": s(p.entry),
        "entryPrice": s(p.entry),
        "positionValue": s(p.size.abs() * p.entry),
        "tradeMode": trade_mode,
        "leverage": s(ex.leverage(symbol)),
        "markPrice": s(mark),
        "liqPrice": "",
        "unrealisedPnl": s(ex.unrealised(symbol)),
        "positionStatus": "Normal",
        "category": "linear",
        "createdTime": now_ms.to_string(),
        "updatedTime": now_ms.to_string(),
        "seq": now_ms,
    })
}
