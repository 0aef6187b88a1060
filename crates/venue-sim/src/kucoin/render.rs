//! KuCoin Futures JSON shapes of orders and positions, in lots.

use rust_decimal::Decimal;
use serde_json::{Value, json};
use tradeengine_model::{MarginMode, Side};

use super::{contract, multiplier};
use crate::book::{Exchange, OrderType, SimOrder, SimStatus};

fn s(d: Decimal) -> String {
    d.normalize().to_string()
}

/// Base units of `symbol` in lots, as a JSON number (KuCoin sends sizes as numbers).
pub fn lots(ex: &Exchange, symbol: &str, base: Decimal) -> Value {
    let l = (base / multiplier(ex, symbol)).normalize();
    l.to_string()
        .parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| json!(l.to_string()))
}

pub fn margin(mode: MarginMode) -> &'static str {
    match mode {
        MarginMode::Cross => "CROSS",
        MarginMode::Isolated => "ISOLATED",
    }
}

pub fn order(ex: &Exchange, o: &SimOrder) -> Value {
    json!({
        "id": o.order_id.to_string(),
        "symbol": contract(&o.symbol),
        "type": if o.order_type == OrderType::Market { "market" } else { "limit" },
        "side": if o.side == Side::Buy { "buy" } else { "sell" },
        "price": o.price.map(s).unwrap_or_default(),
        "size": lots(ex, &o.symbol, o.qty),
        "value": s(o.qty * o.price.unwrap_or_default()),
        "dealValue": s(o.filled * o.avg_price.unwrap_or_default()),
        "dealSize": lots(ex, &o.symbol, o.filled),
        "avgDealPrice": o.avg_price.map(s).unwrap_or_else(|| "0".into()),
        "leverage": s(ex.leverage(&o.symbol)),
        "marginMode": margin(ex.symbol_margin(&o.symbol)),
        "status": if o.status.is_open() { "open" } else { "done" },
        "isActive": o.status.is_open(),
        "cancelExist": matches!(o.status, SimStatus::Cancelled | SimStatus::PartiallyFilledCancelled),
        "clientOid": o.client_id,
        "reduceOnly": o.reduce_only,
        "settleCurrency": "USDT",
        "createdAt": o.created_ms,
        "updatedAt": o.updated_ms,
    })
}

pub fn position(ex: &Exchange, symbol: &str) -> Value {
    let p = ex.position(symbol);
    let mode = ex.symbol_margin(symbol);
    json!({
        "symbol": contract(symbol),
        "crossMode": mode == MarginMode::Cross,
        "marginMode": margin(mode),
        "positionSide": "BOTH",
        "isOpen": !p.size.is_zero(),
        "currentQty": lots(ex, symbol, p.size),
        "avgEntryPrice": s(p.entry),
        "markPrice": s(ex.price(symbol).unwrap_or_default()),
        "unrealisedPnl": s(ex.unrealised(symbol)),
        "leverage": s(ex.leverage(symbol)),
        "realLeverage": s(ex.leverage(symbol)),
        "settleCurrency": "USDT",
    })
}
