//! BloFin REST handlers, at the paths and in the shapes of https://docs.blofin.com/index.html.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tradeengine_model::{MarginMode, Side};

use super::{
    Blofin, authenticate, contract_value, err, inst_id, item_err, ok, reject_code, render,
    symbol_of,
};
use crate::book::{NewOrder, OrderType, Reject, SimOrder};
use crate::form;

type St = State<Arc<Blofin>>;

/// Trading requests allowed per user in any 10 s (BloFin's documented limit).
const TRADE_LIMIT: usize = 30;

fn s(d: Decimal) -> String {
    d.normalize().to_string()
}

fn query(raw: &Option<String>) -> BTreeMap<String, String> {
    form::parse(raw.as_deref().unwrap_or_default())
}

fn path_and_query(path: &str, raw: &Option<String>) -> String {
    match raw.as_deref() {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_string(),
    }
}

/// Authenticates a GET and parses its parameters.
fn private_get(
    b: &Blofin,
    headers: &HeaderMap,
    path: &str,
    raw: &Option<String>,
) -> Result<BTreeMap<String, String>, Response> {
    authenticate(b, headers, "GET", &path_and_query(path, raw), "")?;
    Ok(query(raw))
}

/// Authenticates a POST (signature over the raw body) and parses its JSON.
pub(super) fn private_post(
    b: &Blofin,
    headers: &HeaderMap,
    path: &str,
    body: &Bytes,
) -> Result<Value, Response> {
    let text = std::str::from_utf8(body).map_err(|_| err("152004", "JSON syntax error"))?;
    authenticate(b, headers, "POST", path, text)?;
    serde_json::from_str(text).map_err(|_| err("152004", "JSON syntax error"))
}

/// BloFin's per-user trading limit over a rolling 10 s: `Err` (HTTP 429) when exceeded.
pub(super) fn trade_budget(b: &Blofin) -> Result<(), Response> {
    let now = b.sh.now_ms();
    let mut times = b.sh.order_times.lock().unwrap_or_else(|p| p.into_inner());
    while times.front().is_some_and(|t| *t <= now - 10_000) {
        times.pop_front();
    }
    if times.len() >= TRADE_LIMIT {
        let wait = times.front().map_or(10_000, |t| t + 10_000 - now);
        drop(times);
        return Err(super::rate_limited(std::time::Duration::from_millis(
            u64::try_from(wait).unwrap_or(10_000),
        )));
    }
    times.push_back(now);
    Ok(())
}

pub(super) fn field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

pub async fn instruments(State(b): St, RawQuery(raw): RawQuery) -> Response {
    let q = query(&raw);
    let rows: Vec<Value> = b
        .sh
        .exchange()
        .instruments()
        .filter(|i| q.get("instId").is_none_or(|id| *id == inst_id(&i.symbol)))
        .map(|i| {
            let cv = contract_value(&i.symbol);
            json!({
                "instId": inst_id(&i.symbol), "baseCurrency": i.symbol.trim_end_matches("USDT"),
                "quoteCurrency": "USDT", "contractValue": s(cv), "listTime": "1678969257000",
                "expireTime": "4070793600000", "maxLeverage": s(i.max_leverage),
                "minSize": s(i.min_qty / cv), "lotSize": s(i.qty_step / cv), "tickSize": s(i.tick_size),
                "instType": "SWAP", "contractType": "linear", "maxLimitSize": s(i.max_qty / cv),
                "maxMarketSize": s(i.max_market_qty / cv), "state": "live",
            })
        })
        .collect();
    if rows.is_empty() && q.contains_key("instId") {
        return err("152014", "Instrument ID does not exist");
    }
    ok(json!(rows))
}

pub async fn tickers(State(b): St, RawQuery(raw): RawQuery) -> Response {
    let q = query(&raw);
    let now = b.sh.now_ms();
    let rows: Vec<Value> = b
        .sh
        .exchange()
        .prices()
        .iter()
        .filter(|(sym, _)| q.get("instId").is_none_or(|id| *id == inst_id(sym)))
        .map(|(sym, p)| {
            json!({"instId": inst_id(sym), "last": s(*p), "lastSize": "1", "askPrice": s(*p), "askSize": "1",
                "bidPrice": s(*p), "bidSize": "1", "high24h": s(*p), "open24h": s(*p), "low24h": s(*p),
                "volCurrency24h": "0", "vol24h": "0", "ts": now.to_string()})
        })
        .collect();
    if rows.is_empty() && q.contains_key("instId") {
        return err("152014", "Instrument ID does not exist");
    }
    ok(json!(rows))
}

pub async fn balance(State(b): St, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    if let Err(r) = private_get(&b, &headers, "/api/v1/account/balance", &raw) {
        return r;
    }
    let ex = b.sh.exchange();
    let (wallet, equity, im) = (ex.wallet(), ex.equity(), ex.initial_margin());
    drop(ex);
    ok(json!({
        "ts": b.sh.now_ms().to_string(), "totalEquity": s(equity), "isolatedEquity": "0",
        "details": [{"currency": "USDT", "equity": s(equity), "balance": s(wallet),
            "ts": b.sh.now_ms().to_string(), "isolatedEquity": "0", "available": s(equity - im),
            "availableEquity": s(equity - im), "frozen": s(im), "orderFrozen": "0",
            "equityUsd": s(equity), "isolatedUnrealizedPnl": "0", "bonus": "0"}],
    }))
}

pub async fn positions(State(b): St, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let q = match private_get(&b, &headers, "/api/v1/account/positions", &raw) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let now = b.sh.now_ms();
    let ex = b.sh.exchange();
    let rows: Vec<Value> = ex
        .positions()
        .iter()
        .filter(|(sym, p)| {
            !p.size.is_zero() && q.get("instId").is_none_or(|id| *id == inst_id(sym))
        })
        .map(|(sym, _)| {
            let mut row = render::position(&ex, sym, now);
            if ex.hedge_mode {
                row["positionSide"] = json!("long");
            }
            row
        })
        .collect();
    drop(ex);
    ok(json!(rows))
}

pub async fn margin_mode(State(b): St, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    if let Err(r) = private_get(&b, &headers, "/api/v1/account/margin-mode", &raw) {
        return r;
    }
    let mode = b.sh.exchange().account_margin();
    ok(json!({"marginMode": render::margin(mode)}))
}

/// Account-wide; refused while positions or orders are open (BloFin 110019 / 110006).
pub async fn set_margin_mode(State(b): St, headers: HeaderMap, body: Bytes) -> Response {
    let v = match private_post(&b, &headers, "/api/v1/account/set-margin-mode", &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mode = match field(&v, "marginMode") {
        "cross" => MarginMode::Cross,
        "isolated" => MarginMode::Isolated,
        _ => return err("152002", "Parameter marginMode error."),
    };
    let mut ex = b.sh.exchange();
    if ex.account_margin() != mode {
        if ex.positions().values().any(|p| !p.size.is_zero()) {
            return err("110019", "Positions exist; cannot change the margin mode");
        }
        if !ex.open_orders(None).is_empty() {
            return err(
                "110006",
                "Pending orders exist; cannot change the margin mode",
            );
        }
    }
    match ex.set_account_margin(mode) {
        // BloFin has no "not modified" answer: setting the current mode succeeds.
        Ok(()) | Err(Reject::NotModified) => ok(json!({"marginMode": render::margin(mode)})),
        Err(r) => {
            let (code, msg) = reject_code(&r);
            err(code, &msg)
        }
    }
}

pub async fn position_mode(State(b): St, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    if let Err(r) = private_get(&b, &headers, "/api/v1/account/position-mode", &raw) {
        return r;
    }
    let hedge = b.sh.exchange().hedge_mode;
    ok(json!({"positionMode": if hedge { "long_short_mode" } else { "net_mode" }}))
}

pub async fn set_position_mode(State(b): St, headers: HeaderMap, body: Bytes) -> Response {
    let v = match private_post(&b, &headers, "/api/v1/account/set-position-mode", &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let hedge = match field(&v, "positionMode") {
        "net_mode" => false,
        "long_short_mode" => true,
        _ => return err("152002", "Parameter positionMode error."),
    };
    let mut ex = b.sh.exchange();
    if ex.hedge_mode != hedge
        && (ex.positions().values().any(|p| !p.size.is_zero()) || !ex.open_orders(None).is_empty())
    {
        return err(
            "110019",
            "Positions or orders exist; cannot change the position mode",
        );
    }
    ex.hedge_mode = hedge;
    ok(json!({"positionMode": field(&v, "positionMode")}))
}

pub async fn set_leverage(State(b): St, headers: HeaderMap, body: Bytes) -> Response {
    let v = match private_post(&b, &headers, "/api/v1/account/set-leverage", &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Ok(lev) = field(&v, "leverage").parse::<Decimal>() else {
        return err("152002", "Parameter leverage error.");
    };
    let symbol = symbol_of(field(&v, "instId"));
    let mut ex = b.sh.exchange();
    let expected = render::margin(ex.account_margin());
    if field(&v, "marginMode") != expected {
        return err("152002", "Parameter marginMode error.");
    }
    match ex.set_leverage(&symbol, lev) {
        // Leverage changes on an open position too; the same value is simply accepted.
        Ok(()) | Err(Reject::NotModified) => ok(json!({
            "instId": field(&v, "instId"), "leverage": s(lev), "marginMode": expected, "positionSide": "net",
        })),
        Err(r) => {
            let (code, msg) = reject_code(&r);
            err(code, &msg)
        }
    }
}

fn parse_new_order(ex_margin: MarginMode, v: &Value) -> Result<NewOrder, String> {
    let side = match field(v, "side") {
        "buy" => Side::Buy,
        "sell" => Side::Sell,
        other => return Err(format!("side {other:?}")),
    };
    let order_type = match field(v, "orderType") {
        "market" => OrderType::Market,
        "limit" => OrderType::Limit,
        other => return Err(format!("orderType {other:?}")),
    };
    if field(v, "marginMode") != render::margin(ex_margin) {
        return Err("marginMode".into());
    }
    let symbol = symbol_of(field(v, "instId"));
    let contracts: Decimal = field(v, "size").parse().map_err(|_| "size".to_string())?;
    let price = match order_type {
        OrderType::Limit => Some(
            field(v, "price")
                .parse::<Decimal>()
                .map_err(|_| "price".to_string())?,
        ),
        OrderType::Market => None,
    };
    let reduce_only = match v.get("reduceOnly") {
        None => false,
        Some(Value::String(t)) if t == "true" => true,
        Some(Value::String(t)) if t == "false" => false,
        Some(_) => return Err("reduceOnly (\"true\" or \"false\")".into()),
    };
    Ok(NewOrder {
        qty: contracts * contract_value(&symbol),
        symbol,
        side,
        order_type,
        price,
        client_id: field(v, "clientOrderId").to_string(),
        reduce_only,
    })
}

pub async fn create_order(State(b): St, headers: HeaderMap, body: Bytes) -> Response {
    let v = match private_post(&b, &headers, "/api/v1/trade/order", &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = trade_budget(&b) {
        return r;
    }
    let client_id = field(&v, "clientOrderId").to_string();
    match place_one(&b, &v) {
        Ok(item) => ok(json!([item])),
        Err(Refusal::Request(code, msg)) => err(code, &msg),
        Err(Refusal::Item(code, msg)) => item_err(code, &msg, &client_id),
    }
}

/// Why one order was not placed: the whole request's error, or the order's own item error.
pub(super) enum Refusal {
    Request(&'static str, String),
    Item(&'static str, String),
}

/// Places one order of `trade/order` (or one entry of `trade/batch-orders`): its reply item.
pub(super) fn place_one(b: &Blofin, v: &Value) -> Result<Value, Refusal> {
    let client_id = field(v, "clientOrderId").to_string();
    if client_id.len() > 32
        || !client_id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_')
    {
        return Err(Refusal::Request(
            "152009",
            "clientOrderId must be a combination of numbers, letters, or underscores, and the maximum length of characters is 32.".to_string(),
        ));
    }
    let hedge = b.sh.exchange().hedge_mode;
    if hedge || field(v, "positionSide") != "net" {
        return Err(Refusal::Item(
            "102089",
            "Position mode mismatch".to_string(),
        ));
    }
    let margin = b.sh.exchange().account_margin();
    let req = match parse_new_order(margin, v) {
        Ok(r) => r,
        Err(what) => {
            return Err(Refusal::Request(
                "152002",
                format!("Parameter {what} error."),
            ));
        }
    };
    let now = b.sh.now_ms();
    let partial = b.sh.faults.take_partial();
    let mut ex = b.sh.exchange();
    ex.partial_next = partial;
    let placed = ex.place(req, now);
    ex.partial_next = None;
    drop(ex);
    match placed {
        Ok(o) => Ok(json!({
            "orderId": o.order_id.to_string(), "clientOrderId": o.client_id, "msg": "", "code": "0",
        })),
        Err(r) => {
            let (code, msg) = reject_code(&r);
            Err(Refusal::Item(code, msg))
        }
    }
}

pub async fn cancel_order(State(b): St, headers: HeaderMap, body: Bytes) -> Response {
    let v = match private_post(&b, &headers, "/api/v1/trade/cancel-order", &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = trade_budget(&b) {
        return r;
    }
    let client = Some(field(&v, "clientOrderId")).filter(|c| !c.is_empty());
    let id = field(&v, "orderId").parse::<u64>().ok();
    if client.is_none() && id.is_none() {
        return err(
            "152003",
            "Either parameter orderId or clientOrderId is required.",
        );
    }
    let now = b.sh.now_ms();
    let symbol = symbol_of(field(&v, "instId"));
    let cancelled = b.sh.exchange().cancel(&symbol, client, id, now);
    match cancelled {
        Ok(o) => ok(json!([{
            "orderId": o.order_id.to_string(), "clientOrderId": o.client_id, "code": "0", "msg": "",
        }])),
        Err(r) => {
            let (code, msg) = reject_code(&r);
            item_err(code, &msg, client.unwrap_or_default())
        }
    }
}

pub async fn order_detail(State(b): St, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let q = match private_get(&b, &headers, "/api/v1/trade/order-detail", &raw) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let symbol = q.get("instId").map(|i| symbol_of(i));
    let client = q.get("clientOrderId").map(String::as_str);
    let id = q.get("orderId").and_then(|i| i.parse::<u64>().ok());
    if client.is_none() && id.is_none() {
        return err(
            "152003",
            "Either parameter orderId or clientOrderId is required.",
        );
    }
    let ex = b.sh.exchange();
    match ex.find(symbol.as_deref(), client, id) {
        Some(o) => {
            let row = render::order(&ex, o);
            drop(ex);
            ok(row)
        }
        None => err("404", "not found"),
    }
}

fn order_list(b: &Blofin, q: &BTreeMap<String, String>, open: bool) -> Response {
    let symbol = q.get("instId").map(|i| symbol_of(i));
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(20)
        .clamp(1, 100);
    // `after`: orders older than this id (newest first, as BloFin pages).
    let after = q.get("after").and_then(|a| a.parse::<u64>().ok());
    let ex = b.sh.exchange();
    let rows: Vec<SimOrder> = ex
        .orders()
        .iter()
        .rev()
        .filter(|o| o.status.is_open() == open)
        .filter(|o| symbol.as_deref().is_none_or(|s| s == o.symbol))
        .filter(|o| after.is_none_or(|a| o.order_id < a))
        .take(limit)
        .cloned()
        .collect();
    let list: Vec<Value> = rows.iter().map(|o| render::order(&ex, o)).collect();
    drop(ex);
    ok(json!(list))
}

pub async fn orders_pending(State(b): St, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    match private_get(&b, &headers, "/api/v1/trade/orders-pending", &raw) {
        Ok(q) => order_list(&b, &q, true),
        Err(r) => r,
    }
}

pub async fn orders_history(State(b): St, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    match private_get(&b, &headers, "/api/v1/trade/orders-history", &raw) {
        Ok(q) => order_list(&b, &q, false),
        Err(r) => r,
    }
}
