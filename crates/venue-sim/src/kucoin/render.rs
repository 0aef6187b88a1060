//! KuCoin Futures JSON shapes of orders and positions, in lots, with the keys KuCoin documents.

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

/// An order as `GET /api/v1/orders` and `byClientOid` show it
/// (<https://www.kucoin.com/docs/rest/futures-trading/orders/get-order-details>).
pub fn order(ex: &Exchange, o: &SimOrder) -> Value {
    let deal_value = s(o.filled * o.avg_price.unwrap_or_default());
    json!({
        "id": o.order_id.to_string(),
        "symbol": contract(&o.symbol),
        "type": if o.order_type == OrderType::Market { "market" } else { "limit" },
        "side": if o.side == Side::Buy { "buy" } else { "sell" },
        "price": o.price.map(s).unwrap_or_default(),
        "size": lots(ex, &o.symbol, o.qty),
        "value": s(o.qty * o.price.unwrap_or_default()),
        "dealValue": deal_value,
        "dealSize": lots(ex, &o.symbol, o.filled),
        "stp": "",
        "stop": "",
        "stopPriceType": "",
        "stopTriggered": false,
        "stopPrice": null,
        "timeInForce": "GTC",
        "postOnly": false,
        "hidden": false,
        "iceberg": false,
        "leverage": s(ex.leverage(&o.symbol)),
        "forceHold": false,
        "closeOrder": false,
        "visibleSize": 0,
        "clientOid": o.client_id,
        "remark": null,
        "tags": "",
        "isActive": o.status.is_open(),
        "cancelExist": matches!(o.status, SimStatus::Cancelled | SimStatus::PartiallyFilledCancelled),
        "createdAt": o.created_ms,
        "updatedAt": o.updated_ms,
        "endAt": if o.status.is_open() { Value::Null } else { json!(o.updated_ms) },
        "orderTime": o.created_ms * 1_000_000,
        "settleCurrency": "USDT",
        "marginMode": margin(ex.symbol_margin(&o.symbol)),
        "avgDealPrice": o.avg_price.map(s).unwrap_or_else(|| "0".into()),
        "filledSize": lots(ex, &o.symbol, o.filled),
        "filledValue": deal_value,
        "status": if o.status.is_open() { "open" } else { "done" },
        "reduceOnly": o.reduce_only,
    })
}

/// An order's fills as `GET /api/v1/fills` lists them (KuCoin Futures API, "Get Fills"). The
/// book keeps one cumulative execution per order, so an order with fills is one row: its filled
/// lots at its average price, with the fee it paid. KuCoin may list several rows per order;
/// clients sum them.
pub fn fill(ex: &Exchange, o: &SimOrder) -> Value {
    let price = o.avg_price.unwrap_or_default();
    json!({
        "symbol": contract(&o.symbol),
        "tradeId": format!("{}-fill", o.order_id),
        "orderId": o.order_id.to_string(),
        "side": if o.side == Side::Buy { "buy" } else { "sell" },
        "liquidity": "taker",
        "forceTaker": false,
        "price": s(price),
        "size": lots(ex, &o.symbol, o.filled),
        "value": s(o.filled * price),
        "feeRate": s(ex.fee_rate()),
        "fixFee": "0",
        "feeCurrency": "USDT",
        "stop": "",
        "fee": s(o.fee),
        "orderType": if o.order_type == OrderType::Market { "market" } else { "limit" },
        "tradeType": "trade",
        "createdAt": o.created_ms,
        "settleCurrency": "USDT",
        "tradeTime": o.updated_ms * 1_000_000,
    })
}

/// A position as `GET /api/v1/positions` shows it
/// (<https://www.kucoin.com/docs/rest/futures-trading/positions/get-position-list>).
pub fn position(ex: &Exchange, symbol: &str) -> Value {
    let p = ex.position(symbol);
    let mode = ex.symbol_margin(symbol);
    let mark = ex.price(symbol).unwrap_or_default();
    let cost = s(p.size * p.entry);
    let value = s(p.size * mark);
    json!({
        "id": format!("pos-{symbol}"),
        "symbol": contract(symbol),
        "autoDeposit": false,
        "crossMode": mode == MarginMode::Cross,
        "maintMarginReq": 0.005,
        "riskLimit": 500000,
        "realLeverage": s(ex.leverage(symbol)),
        "delevPercentage": 0.0,
        "openingTimestamp": 0,
        "currentTimestamp": 0,
        "currentQty": lots(ex, symbol, p.size),
        "currentCost": cost,
        "currentComm": 0,
        "unrealisedCost": cost,
        "realisedGrossCost": 0,
        "realisedCost": 0,
        "isOpen": !p.size.is_zero(),
        "markPrice": s(mark),
        "markValue": value,
        "posCost": cost,
        "posCross": 0,
        "posInit": 0,
        "posComm": 0,
        "posLoss": 0,
        "posMargin": 0,
        "posMaint": 0,
        "maintMargin": 0,
        "realisedGrossPnl": 0,
        "realisedPnl": 0,
        "unrealisedPnl": s(ex.unrealised(symbol)),
        "unrealisedPnlPcnt": 0,
        "unrealisedRoePcnt": 0,
        "avgEntryPrice": s(p.entry),
        "liquidationPrice": 0,
        "bankruptPrice": 0,
        "settleCurrency": "USDT",
        "maintainMargin": 0.005,
        "riskLimitLevel": 1,
        "isInverse": false,
        "marginMode": margin(mode),
        "positionSide": "BOTH",
        "posFunding": 0,
        "leverage": s(ex.leverage(symbol)),
    })
}
