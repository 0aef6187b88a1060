//! BloFin JSON shapes of orders and positions, in contracts (REST rows and stream pushes share
//! them).

use rust_decimal::Decimal;
use serde_json::{Value, json};
use tradeengine_model::{MarginMode, Side};

use super::{contract_value, inst_id};
use crate::book::{Exchange, OrderType, SimOrder, SimStatus};

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

pub fn order(ex: &Exchange, o: &SimOrder) -> Value {
    json!({
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
        "averagePrice": o.avg_price.map(s).unwrap_or_else(|| "0".into()),
        "fee": s(o.fee),
        "pnl": "0",
        "createTime": o.created_ms.to_string(),
        "updateTime": o.updated_ms.to_string(),
    })
}

/// A net-mode position row; `positions` is signed contracts.
pub fn position(ex: &Exchange, symbol: &str, now_ms: i64) -> Value {
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
        "markPrice": s(mark),
        "liquidationPrice": "0",
        "unrealizedPnl": s(ex.unrealised(symbol)),
        "leverage": s(ex.leverage(symbol)),
        "createTime": now_ms.to_string(),
        "updateTime": now_ms.to_string(),
    })
}
