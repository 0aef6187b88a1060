//! Binance JSON shapes of orders, positions and stream events.

use rust_decimal::Decimal;
use serde_json::{Value, json};
use tradeengine_model::Side;

use crate::book::{Exchange, OrderType, SimOrder, SimStatus};

pub fn s(d: Decimal) -> String {
    d.normalize().to_string()
}

pub fn status(o: &SimOrder) -> &'static str {
    match o.status {
        SimStatus::New => "NEW",
        SimStatus::PartiallyFilled => "PARTIALLY_FILLED",
        SimStatus::Filled => "FILLED",
        SimStatus::Cancelled => "CANCELED",
        // A market order that could not fill in full expires; a cancelled limit is cancelled.
        SimStatus::PartiallyFilledCancelled if o.order_type == OrderType::Market => "EXPIRED",
        SimStatus::PartiallyFilledCancelled => "CANCELED",
    }
}

fn side(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

fn kind(o: &SimOrder) -> &'static str {
    if o.order_type == OrderType::Market {
        "MARKET"
    } else {
        "LIMIT"
    }
}

/// An order's executions as `GET /fapi/v1/userTrades` lists them. The book keeps one
/// cumulative execution per order, so an order with fills is one trade: its filled quantity at
/// its average price, with the commission it paid (USDT).
pub fn user_trade(o: &SimOrder) -> Value {
    let price = o.avg_price.unwrap_or_default();
    json!({
        "buyer": o.side == Side::Buy,
        "commission": s(o.fee),
        "commissionAsset": "USDT",
        "id": o.order_id,
        "maker": false,
        "orderId": o.order_id,
        "price": s(price),
        "qty": s(o.filled),
        "quoteQty": s(o.filled * price),
        "realizedPnl": "0",
        "side": if o.side == Side::Buy { "BUY" } else { "SELL" },
        "positionSide": "BOTH",
        "symbol": o.symbol,
        "time": o.updated_ms,
    })
}

pub fn order(o: &SimOrder) -> Value {
    let cum_quote = o.filled * o.avg_price.unwrap_or_default();
    json!({
        "orderId": o.order_id,
        "symbol": o.symbol,
        "status": status(o),
        "clientOrderId": o.client_id,
        "price": o.price.map(s).unwrap_or_else(|| "0".into()),
        "avgPrice": o.avg_price.map(s).unwrap_or_else(|| "0".into()),
        "origQty": s(o.qty),
        "executedQty": s(o.filled),
        "cumQty": s(o.filled),
        "cumQuote": s(cum_quote),
        "timeInForce": "GTC",
        "type": kind(o),
        "reduceOnly": o.reduce_only,
        "closePosition": false,
        "side": side(o.side),
        "positionSide": "BOTH",
        "stopPrice": "0",
        "workingType": "CONTRACT_PRICE",
        "priceProtect": false,
        "origType": kind(o),
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
        "time": o.created_ms,
        "updateTime": o.updated_ms,
    })
}

/// `ORDER_TRADE_UPDATE`; `trade` when this event is an execution (`last_fill`).
pub fn order_update(o: &SimOrder, trade: bool, fee_rate: Decimal, now: i64) -> Value {
    let (last_qty, last_price) = if trade {
        o.last_fill.unwrap_or_default()
    } else {
        (Decimal::ZERO, Decimal::ZERO)
    };
    let exec = if trade {
        "TRADE"
    } else {
        match o.status {
            SimStatus::New => "NEW",
            SimStatus::PartiallyFilledCancelled if o.order_type == OrderType::Market => "EXPIRED",
            _ => "CANCELED",
        }
    };
    json!({
        "e": "ORDER_TRADE_UPDATE", "E": now, "T": now,
        "o": {
            "s": o.symbol, "c": o.client_id, "S": side(o.side), "o": kind(o), "f": "GTC",
            "q": s(o.qty), "p": o.price.map(s).unwrap_or_else(|| "0".into()),
            "ap": o.avg_price.map(s).unwrap_or_else(|| "0".into()), "sp": "0",
            "x": exec, "X": status(o), "i": o.order_id,
            "l": s(last_qty), "z": s(o.filled), "L": s(last_price),
            "N": "USDT", "n": s(last_qty * last_price * fee_rate),
            "T": o.updated_ms, "t": if trade { o.updated_ms } else { 0 },
            "b": "0", "a": "0", "m": false, "R": o.reduce_only, "wt": "CONTRACT_PRICE", "ot": kind(o),
            "ps": "BOTH", "cp": false, "rp": "0", "pP": false, "si": 0, "ss": 0, "V": "EXPIRE_MAKER", "pm": "NONE", "gtd": 0,
        }
    })
}

/// A `/fapi/v3/positionRisk` row.
pub fn position_risk(ex: &Exchange, symbol: &str, side: &str, now: i64) -> Value {
    let p = ex.position(symbol);
    let mark = ex.price(symbol).unwrap_or_default();
    let size = if side == "BOTH" {
        p.size
    } else {
        Decimal::ZERO
    };
    json!({
        "symbol": symbol, "positionSide": side, "positionAmt": s(size), "entryPrice": s(p.entry),
        "breakEvenPrice": s(p.entry), "markPrice": s(mark), "unRealizedProfit": s(ex.unrealised(symbol)),
        "liquidationPrice": "0", "isolatedMargin": "0", "notional": s(size * mark), "marginAsset": "USDT",
        "isolatedWallet": "0", "initialMargin": s(size.abs() * mark / ex.leverage(symbol)), "maintMargin": "0",
        "positionInitialMargin": s(size.abs() * mark / ex.leverage(symbol)), "openOrderInitialMargin": "0",
        "adl": 0, "bidNotional": "0", "askNotional": "0", "updateTime": now,
    })
}

/// `ACCOUNT_UPDATE` for one position change.
pub fn account_update(ex: &Exchange, symbol: &str, now: i64) -> Value {
    let p = ex.position(symbol);
    let margin = if ex.symbol_margin(symbol) == tradeengine_model::MarginMode::Isolated {
        "isolated"
    } else {
        "cross"
    };
    json!({
        "e": "ACCOUNT_UPDATE", "E": now, "T": now,
        "a": {
            "m": "ORDER",
            "B": [{"a": "USDT", "wb": s(ex.wallet()), "cw": s(ex.wallet()), "bc": "0"}],
            "P": [{"s": symbol, "pa": s(p.size), "ep": s(p.entry), "bep": s(p.entry), "cr": "0",
                   "up": s(ex.unrealised(symbol)), "mt": margin, "iw": "0", "ps": "BOTH"}],
        }
    })
}
