//! KuCoin Futures REST handlers, at the paths and in the shapes of https://www.kucoin.com/docs/.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tradeengine_model::{MarginMode, Side};

use super::{authenticate, contract, err, multiplier, ok, reject, reject_code, render, symbol_of};
use crate::Shared;
use crate::book::{NewOrder, OrderType, Reject, SimOrder};
use crate::form;

type Sh = State<Arc<Shared>>;

fn s(d: Decimal) -> String {
    d.normalize().to_string()
}

fn query(raw: &Option<String>) -> BTreeMap<String, String> {
    form::parse(raw.as_deref().unwrap_or_default())
}

fn endpoint(path: &str, raw: &Option<String>) -> String {
    match raw.as_deref() {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_string(),
    }
}

fn private_get(
    sh: &Shared,
    headers: &HeaderMap,
    path: &str,
    raw: &Option<String>,
) -> Result<BTreeMap<String, String>, Response> {
    authenticate(sh, headers, "GET", &endpoint(path, raw), "")?;
    Ok(query(raw))
}

pub(super) fn private_post(
    sh: &Shared,
    headers: &HeaderMap,
    path: &str,
    body: &Bytes,
) -> Result<Value, Response> {
    let text = std::str::from_utf8(body).map_err(|_| err("400100", "body is not UTF-8"))?;
    authenticate(sh, headers, "POST", path, text)?;
    serde_json::from_str(text).map_err(|_| err("400100", "body is not JSON"))
}

fn field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// A decimal sent as a JSON number or string.
fn number(v: Option<&Value>) -> Option<Decimal> {
    match v? {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(t) => t.parse().ok(),
        _ => None,
    }
}

pub async fn timestamp(State(sh): Sh) -> Response {
    ok(json!(sh.now_ms()))
}

/// The fields of a `GET /api/v1/contracts/active` row the simulator has no notion of, with the
/// documented example's values
/// (<https://www.kucoin.com/docs/rest/futures-trading/market-data/get-symbols-list>), so each
/// row carries every documented field.
fn documented_contract() -> Value {
    json!({
        "firstOpenDate": 1585555200000_i64, "expireDate": null, "settleDate": null,
        "indexPriceTickSize": 0.01, "initialMargin": 0.008, "maintainMargin": 0.004,
        "maxRiskLimit": 100000, "minRiskLimit": 100000, "riskStep": 50000,
        "makerFeeRate": 0.0002, "takerFeeRate": 0.0006, "takerFixFee": 0.0, "makerFixFee": 0.0,
        "settlementFee": null, "isDeleverage": true, "markMethod": "FairPrice",
        "fairMethod": "FundingRate", "fundingBaseSymbol": ".XBTINT8H",
        "fundingQuoteSymbol": ".USDTINT8H", "fundingRateSymbol": ".XBTUSDTMFPI8H",
        "indexSymbol": ".KXBTUSDT", "settlementSymbol": "", "fundingFeeRate": 0.0001,
        "predictedFundingFeeRate": 0.0001, "fundingRateGranularity": 28800000,
        "openInterest": "0", "turnoverOf24h": 0.0, "volumeOf24h": 0.0, "nextFundingRateTime": 28800000,
        "sourceExchanges": ["binance", "kucoin"], "premiumsSymbol1M": ".XBTUSDTMPI",
        "premiumsSymbol8H": ".XBTUSDTMPI8H", "fundingBaseSymbol1M": ".XBTINT",
        "fundingQuoteSymbol1M": ".USDTINT", "lowPrice": 0.0, "highPrice": 0.0,
        "priceChgPct": 0.0, "priceChg": 0.0, "k": 490.0, "m": 300.0, "f": 1.3,
        "mmrLimit": 0.3, "mmrLevConstant": 125.0,
    })
}

pub async fn contracts(State(sh): Sh) -> Response {
    let ex = sh.exchange();
    let rows: Vec<Value> = ex
        .instruments()
        .map(|i| {
            let m = multiplier(&ex, &i.symbol);
            let base = i.symbol.trim_end_matches("USDT");
            let price = ex
                .price(&i.symbol)
                .map(|p| p.to_string().parse::<f64>().unwrap_or(0.0));
            json!({
                "symbol": contract(&i.symbol), "rootSymbol": "USDT", "type": "FFWCSX",
                "baseCurrency": if base == "BTC" { "XBT" } else { base }, "quoteCurrency": "USDT",
                "settleCurrency": "USDT", "maxOrderQty": render::lots(&ex, &i.symbol, i.max_qty),
                "maxPrice": 1000000.0, "lotSize": render::lots(&ex, &i.symbol, i.qty_step),
                "tickSize": i.tick_size.to_string().parse::<f64>().unwrap_or(0.0),
                "multiplier": m.to_string().parse::<f64>().unwrap_or(1.0),
                "isInverse": false, "isQuanto": false,
                "markPrice": price, "indexPrice": price, "lastTradePrice": price,
                "maxLeverage": i.max_leverage.to_string().parse::<u32>().unwrap_or(1),
                "status": "Open", "supportCross": true,
            })
        })
        .map(|mut row| {
            if let (Some(row), Some(more)) =
                (row.as_object_mut(), documented_contract().as_object())
            {
                for (k, v) in more {
                    row.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            row
        })
        .collect();
    drop(ex);
    ok(json!(rows))
}

pub async fn account_overview(
    State(sh): Sh,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = match private_get(&sh, &headers, "/api/v1/account-overview", &raw) {
        Ok(q) => q,
        Err(r) => return r,
    };
    if q.get("currency").is_some_and(|c| c != "USDT") {
        return ok(json!({"accountEquity": 0, "currency": q.get("currency")}));
    }
    let ex = sh.exchange();
    let (wallet, equity, im) = (ex.wallet(), ex.equity(), ex.initial_margin());
    drop(ex);
    ok(json!({
        "accountEquity": s(equity).parse::<f64>().unwrap_or(0.0),
        "unrealisedPNL": s(equity - wallet).parse::<f64>().unwrap_or(0.0),
        "marginBalance": s(wallet).parse::<f64>().unwrap_or(0.0),
        "positionMargin": s(im).parse::<f64>().unwrap_or(0.0),
        "orderMargin": 0, "frozenFunds": 0,
        "availableBalance": s(equity - im).parse::<f64>().unwrap_or(0.0),
        "currency": "USDT",
    }))
}

pub async fn positions(State(sh): Sh, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    if let Err(r) = private_get(&sh, &headers, "/api/v1/positions", &raw) {
        return r;
    }
    let ex = sh.exchange();
    let rows: Vec<Value> = ex
        .positions()
        .iter()
        .filter(|(_, p)| !p.size.is_zero())
        .map(|(sym, _)| render::position(&ex, sym))
        .collect();
    drop(ex);
    ok(json!(rows))
}

pub async fn get_margin_mode(
    State(sh): Sh,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = match private_get(&sh, &headers, "/api/v2/position/getMarginMode", &raw) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let name = q.get("symbol").cloned().unwrap_or_default();
    let ex = sh.exchange();
    if ex.instrument(&symbol_of(&name)).is_none() {
        return err("100001", "contract does not exist");
    }
    ok(json!({"symbol": name, "marginMode": render::margin(ex.symbol_margin(&symbol_of(&name)))}))
}

/// Per symbol; refused while the symbol has a position or open orders.
pub async fn change_margin_mode(State(sh): Sh, headers: HeaderMap, body: Bytes) -> Response {
    let v = match private_post(&sh, &headers, "/api/v2/position/changeMarginMode", &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mode = match field(&v, "marginMode") {
        "CROSS" => MarginMode::Cross,
        "ISOLATED" => MarginMode::Isolated,
        _ => return err("400100", "marginMode must be CROSS or ISOLATED"),
    };
    let name = field(&v, "symbol").to_string();
    let symbol = symbol_of(&name);
    let mut ex = sh.exchange();
    if !ex.open_orders(Some(&symbol)).is_empty() && ex.symbol_margin(&symbol) != mode {
        return reject(&Reject::PositionOpen);
    }
    match ex.set_symbol_margin(&symbol, mode) {
        Ok(()) | Err(Reject::NotModified) => {
            ok(json!({"symbol": name, "marginMode": render::margin(mode)}))
        }
        Err(r) => reject(&r),
    }
}

pub async fn get_cross_leverage(
    State(sh): Sh,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = match private_get(&sh, &headers, "/api/v2/getCrossUserLeverage", &raw) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let name = q.get("symbol").cloned().unwrap_or_default();
    let lev = sh.exchange().leverage(&symbol_of(&name));
    ok(json!({"symbol": name, "leverage": s(lev)}))
}

/// Cross leverage, also on an open position; the same value is simply `true`.
pub async fn change_cross_leverage(State(sh): Sh, headers: HeaderMap, body: Bytes) -> Response {
    let v = match private_post(&sh, &headers, "/api/v2/changeCrossUserLeverage", &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(lev) = number(v.get("leverage")) else {
        return err("400100", "leverage is required");
    };
    let symbol = symbol_of(field(&v, "symbol"));
    let mut ex = sh.exchange();
    if ex.symbol_margin(&symbol) != MarginMode::Cross {
        return err("400100", "the symbol is not in cross margin mode");
    }
    match ex.set_leverage(&symbol, lev) {
        Ok(()) | Err(Reject::NotModified) => ok(json!(true)),
        Err(r) => reject(&r),
    }
}

pub async fn create_order(State(sh): Sh, headers: HeaderMap, body: Bytes) -> Response {
    let v = match private_post(&sh, &headers, "/api/v1/orders", &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    match place_one(&sh, &v) {
        Ok(data) => ok(data),
        Err((code, msg)) => err(code, &msg),
    }
}

/// Places one order of `POST /api/v1/orders` (or one entry of `orders/multi`): its `data`, or
/// KuCoin's code and message.
pub(super) fn place_one(sh: &Shared, v: &Value) -> Result<Value, (&'static str, String)> {
    let v = v.clone();
    let client_oid = field(&v, "clientOid").to_string();
    if client_oid.is_empty() || client_oid.len() > 40 {
        return Err((
            "400100",
            "clientOid is required (at most 40 characters)".to_string(),
        ));
    }
    let side = match field(&v, "side") {
        "buy" => Side::Buy,
        "sell" => Side::Sell,
        _ => return Err(("400100", "side must be buy or sell".to_string())),
    };
    let order_type = match field(&v, "type") {
        "market" => OrderType::Market,
        "limit" => OrderType::Limit,
        _ => return Err(("400100", "type must be limit or market".to_string())),
    };
    let Some(leverage) = number(v.get("leverage")) else {
        return Err(("400100", "leverage is required".to_string()));
    };
    // Exactly one of size (integer lots), qty, valueQty; the simulator takes lots only.
    let Some(Value::Number(lots)) = v.get("size") else {
        return Err((
            "400100",
            "size must be an integer number of lots".to_string(),
        ));
    };
    let Some(lots) = lots.as_i64().filter(|l| *l > 0) else {
        return Err((
            "400100",
            "size must be a positive integer number of lots".to_string(),
        ));
    };
    let symbol = symbol_of(field(&v, "symbol"));
    let price = match order_type {
        OrderType::Limit => match field(&v, "price").parse::<Decimal>() {
            Ok(p) => Some(p),
            Err(_) => return Err(("400100", "price is required for limit orders".to_string())),
        },
        OrderType::Market => None,
    };
    let mode = match field(&v, "marginMode") {
        "" | "ISOLATED" => MarginMode::Isolated,
        "CROSS" => MarginMode::Cross,
        _ => return Err(("400100", "marginMode must be CROSS or ISOLATED".to_string())),
    };
    let now = sh.now_ms();
    let partial = sh.faults.take_partial();
    let mut ex = sh.exchange();
    if ex.instrument(&symbol).is_some() && ex.symbol_margin(&symbol) != mode {
        return Err((
            "330008",
            "marginMode does not match the symbol's margin mode".to_string(),
        ));
    }
    // Isolated: the order's leverage is the new position's (an open one keeps its own).
    if mode == MarginMode::Isolated && ex.position(&symbol).size.is_zero() {
        match ex.set_leverage(&symbol, leverage) {
            Ok(()) | Err(Reject::NotModified) => {}
            Err(r) => return Err(reject_code(&r)),
        }
    }
    let req = NewOrder {
        qty: Decimal::from(lots) * multiplier(&ex, &symbol),
        symbol,
        side,
        order_type,
        price,
        client_id: client_oid,
        reduce_only: v
            .get("reduceOnly")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    };
    ex.partial_next = partial;
    let placed = ex.place(req, now);
    ex.partial_next = None;
    drop(ex);
    match placed {
        Ok(o) => Ok(json!({"orderId": o.order_id.to_string(), "clientOid": o.client_id})),
        Err(r) => Err(reject_code(&r)),
    }
}

pub async fn cancel_by_client_oid(
    State(sh): Sh,
    Path(client_oid): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let path = format!("/api/v1/orders/client-order/{client_oid}");
    let q = match private_get_as(&sh, &headers, "DELETE", &path, &raw) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let symbol = symbol_of(q.get("symbol").map(String::as_str).unwrap_or_default());
    let now = sh.now_ms();
    let cancelled = sh.exchange().cancel(&symbol, Some(&client_oid), None, now);
    match cancelled {
        Ok(o) => ok(json!({"clientOid": o.client_id})),
        Err(r) => reject(&r),
    }
}

fn private_get_as(
    sh: &Shared,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    raw: &Option<String>,
) -> Result<BTreeMap<String, String>, Response> {
    authenticate(sh, headers, method, &endpoint(path, raw), "")?;
    Ok(query(raw))
}

pub async fn order_by_client_oid(
    State(sh): Sh,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = match private_get(&sh, &headers, "/api/v1/orders/byClientOid", &raw) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let ex = sh.exchange();
    let row = q
        .get("clientOid")
        .and_then(|c| ex.find(None, Some(c), None))
        .map(|o| render::order(&ex, o));
    drop(ex);
    ok(row.unwrap_or(Value::Null))
}

/// KuCoin's `currentPage` (from 1) and `pageSize` (default 50, at most 1,000).
fn paging(q: &BTreeMap<String, String>) -> (usize, usize) {
    let page = q
        .get("currentPage")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let size = q
        .get("pageSize")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 1000);
    (page, size)
}

/// `GET /api/v1/fills`: the fills of `orderId`, or the newest first (`currentPage`,
/// `pageSize`), in KuCoin's page envelope.
pub async fn fills(State(sh): Sh, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let q = match private_get(&sh, &headers, "/api/v1/fills", &raw) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let (page, size) = paging(&q);
    let wanted = q.get("orderId");
    let ex = sh.exchange();
    let filled: Vec<&SimOrder> = ex
        .orders()
        .iter()
        .rev()
        .filter(|o| o.filled > Decimal::ZERO)
        .filter(|o| wanted.is_none_or(|id| *id == o.order_id.to_string()))
        .collect();
    let total = filled.len();
    let items: Vec<Value> = filled
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .map(|o| render::fill(&ex, o))
        .collect();
    drop(ex);
    ok(json!({
        "currentPage": page,
        "pageSize": size,
        "totalNum": total,
        "totalPage": total.div_ceil(size),
        "items": items,
    }))
}

pub async fn list_orders(State(sh): Sh, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let q = match private_get(&sh, &headers, "/api/v1/orders", &raw) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let open = q.get("status").is_none_or(|s| s == "active");
    let symbol = q.get("symbol").map(|c| symbol_of(c));
    let (page, size) = paging(&q);
    let ex = sh.exchange();
    let all: Vec<SimOrder> = ex
        .orders()
        .iter()
        .rev()
        .filter(|o| o.status.is_open() == open)
        .filter(|o| symbol.as_deref().is_none_or(|s| s == o.symbol))
        .cloned()
        .collect();
    let items: Vec<Value> = all
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .map(|o| render::order(&ex, o))
        .collect();
    drop(ex);
    ok(json!({
        "currentPage": page, "pageSize": size, "totalNum": all.len(),
        "totalPage": all.len().div_ceil(size).max(1), "items": items,
    }))
}

/// A stream token, and the endpoint on this host that accepts it.
pub async fn bullet_private(State(sh): Sh, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = private_post(&sh, &headers, "/api/v1/bullet-private", &body) {
        return r;
    }
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    let token = {
        // The simulator keeps its tokens where the Binance simulator keeps listen keys.
        let mut tokens = sh.listen_keys.lock().unwrap_or_else(|p| p.into_inner());
        let token = format!("sim-token-{}-{}", sh.now_ms(), tokens.len());
        tokens.insert(token.clone());
        token
    };
    ok(json!({
        "token": token,
        "instanceServers": [{
            "endpoint": format!("ws://{host}/kucoin-ws"), "encrypt": false, "protocol": "websocket",
            "pingInterval": 18000, "pingTimeout": 10000,
        }],
    }))
}
