//! MEXC contract REST handlers, at the paths and in the shapes of
//! https://mexcdevelop.github.io/apidocs/contract_v1_en/.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tradeengine_model::{MarginMode, Side};

use super::render::{self, contract_size};
use super::{
    ORDER_ID_BASE, authenticate, canonical_query, err, num, ok, reject, reject_code, unified,
};
use crate::Shared;
use crate::book::{NewOrder, OrderType, Reject};
use crate::form;

type Sh = State<Arc<Shared>>;

/// Submissions allowed per rolling window (MEXC: 20 per 2 s per endpoint).
const ORDER_LIMIT: usize = 20;
const ORDER_WINDOW_MS: i64 = 2000;

fn private_get(sh: &Shared, headers: &HeaderMap, raw: &Option<String>) -> Result<(), Response> {
    authenticate(
        sh,
        headers,
        &canonical_query(raw.as_deref().unwrap_or_default()),
    )
}

pub(super) fn private_post(
    sh: &Shared,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Value, Response> {
    let text = std::str::from_utf8(body).map_err(|_| err(601, "Data decode error"))?;
    authenticate(sh, headers, text)?;
    serde_json::from_str(text).map_err(|_| err(601, "Data decode error: body is not JSON"))
}

/// A decimal from a JSON number (or numeric string).
fn dec_field(v: &Value, key: &str) -> Option<Decimal> {
    match v.get(key)? {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn int_field(v: &Value, key: &str) -> Option<i64> {
    dec_field(v, key).and_then(|d| i64::try_from(d).ok())
}

pub async fn ping(State(sh): Sh) -> Response {
    ok(json!(sh.now_ms()))
}

pub async fn detail(State(sh): Sh, RawQuery(raw): RawQuery) -> Response {
    let q = form::parse(raw.as_deref().unwrap_or_default());
    // The maintenance refusal comes from the order endpoint itself, whatever the contract
    // detail says (the adapter refuses `apiAllowed = false` before sending).
    let allowed = true;
    let ex = sh.exchange();
    let rows: Vec<Value> = ex
        .instruments()
        .filter(|i| q.get("symbol").is_none_or(|s| unified(s) == i.symbol))
        .map(|i| render::detail(i, allowed))
        .collect();
    drop(ex);
    match (q.contains_key("symbol"), rows.len()) {
        (true, 0) => err(1001, "Contract does not exist!"),
        (true, _) => ok(rows.into_iter().next().unwrap_or(Value::Null)),
        _ => ok(Value::Array(rows)),
    }
}

pub async fn ticker(State(sh): Sh, RawQuery(raw): RawQuery) -> Response {
    let q = form::parse(raw.as_deref().unwrap_or_default());
    let now = sh.now_ms();
    let ex = sh.exchange();
    let rows: Vec<Value> = ex
        .prices()
        .iter()
        .filter(|(sym, _)| q.get("symbol").is_none_or(|s| unified(s) == **sym))
        .enumerate()
        .map(|(n, (sym, p))| {
            // Every field of the documented ticker
            // (<https://mexcdevelop.github.io/apidocs/contract_v1_en/#get-contract-trend-data>);
            // a flat day at the simulator's one price, limit prices ±10 %.
            json!({"contractId": n + 1, "symbol": super::venue_symbol(sym), "lastPrice": num(*p),
                "bid1": num(*p), "ask1": num(*p), "volume24": 0, "amount24": 0, "holdVol": 0,
                "lower24Price": num(*p), "high24Price": num(*p), "riseFallRate": 0, "riseFallValue": 0,
                "indexPrice": num(*p), "fairPrice": num(*p), "fundingRate": 0.0001,
                "maxBidPrice": num(*p * Decimal::new(11, 1)), "minAskPrice": num(*p * Decimal::new(9, 1)),
                "timestamp": now})
        })
        .collect();
    drop(ex);
    match (q.contains_key("symbol"), rows.len()) {
        (true, 0) => err(1001, "Contract does not exist!"),
        (true, _) => ok(rows.into_iter().next().unwrap_or(Value::Null)),
        _ => ok(Value::Array(rows)),
    }
}

pub async fn asset(
    State(sh): Sh,
    headers: HeaderMap,
    Path(currency): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(r) = private_get(&sh, &headers, &raw) {
        return r;
    }
    if currency != "USDT" {
        return ok(Value::Null);
    }
    let ex = sh.exchange();
    let (wallet, equity, im) = (ex.wallet(), ex.equity(), ex.initial_margin());
    drop(ex);
    ok(json!({
        "currency": "USDT", "positionMargin": num(im), "frozenBalance": 0,
        "availableBalance": num(equity - im), "cashBalance": num(wallet - im),
        "equity": num(equity), "unrealized": num(equity - wallet), "bonus": 0,
    }))
}

pub async fn positions(State(sh): Sh, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    if let Err(r) = private_get(&sh, &headers, &raw) {
        return r;
    }
    let q = form::parse(raw.as_deref().unwrap_or_default());
    let now = sh.now_ms();
    let ex = sh.exchange();
    let rows: Vec<Value> = ex
        .positions()
        .iter()
        .filter(|(s, p)| !p.size.is_zero() && q.get("symbol").is_none_or(|v| unified(v) == **s))
        .map(|(s, _)| render::position(&ex, s, now))
        .collect();
    ok(Value::Array(rows))
}

pub async fn position_mode(State(sh): Sh, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    if let Err(r) = private_get(&sh, &headers, &raw) {
        return r;
    }
    let hedge = sh.exchange().hedge_mode;
    ok(json!(if hedge { 1 } else { 2 }))
}

pub async fn change_leverage(State(sh): Sh, headers: HeaderMap, body: Bytes) -> Response {
    let v = match private_post(&sh, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(leverage) = dec_field(&v, "leverage") else {
        return err(600, "Parameter error: leverage");
    };
    let mut ex = sh.exchange();
    let symbol = match int_field(&v, "positionId") {
        Some(id) => {
            let Some(s) = u64::try_from(id)
                .ok()
                .and_then(|id| render::symbol_of_position(&ex, id))
                .filter(|s| !ex.position(s).size.is_zero())
            else {
                return err(2009, "Position does not exist or has been closed");
            };
            s
        }
        None => unified(v.get("symbol").and_then(Value::as_str).unwrap_or_default()),
    };
    match ex.set_leverage(&symbol, leverage) {
        Ok(()) | Err(Reject::NotModified) => ok(Value::Null),
        Err(r) => reject(&r),
    }
}

/// MEXC's per-endpoint limit over a rolling window: `Err` (code 510) when exceeded.
fn order_budget(sh: &Shared) -> Result<(), Response> {
    let now = sh.now_ms();
    let mut times = sh.order_times.lock().unwrap_or_else(|p| p.into_inner());
    while times.front().is_some_and(|t| *t <= now - ORDER_WINDOW_MS) {
        times.pop_front();
    }
    if times.len() >= ORDER_LIMIT {
        return Err(err(510, "Requests are too frequent"));
    }
    times.push_back(now);
    Ok(())
}

/// The rate-limit fault: code 510 (MEXC sends no reset time), nothing done.
pub fn rate_limited(_retry_after: Duration) -> Response {
    err(510, "Requests are too frequent")
}

/// A submitted order: side code, type, openType and leverage checked as MEXC does.
struct Submit {
    order: NewOrder,
    opens: bool,
    open_type: MarginMode,
    leverage: Option<Decimal>,
}

fn parse_submit(ex: &crate::book::Exchange, v: &Value) -> Result<Submit, (i64, String)> {
    let symbol = unified(v.get("symbol").and_then(Value::as_str).unwrap_or_default());
    if ex.instrument(&symbol).is_none() {
        return Err((1001, "Contract does not exist!".to_string()));
    }
    let (side, reduce_only) = match int_field(v, "side") {
        Some(1) => (Side::Buy, false),
        Some(2) => (Side::Buy, true),
        Some(3) => (Side::Sell, false),
        Some(4) => (Side::Sell, true),
        _ => return Err((2001, "Wrong order side".to_string())),
    };
    // Types as documented for `POST /api/v1/private/order/submit`: 1 limit, 5 market
    // (<https://mexcdevelop.github.io/apidocs/contract_v1_en/>, section "Order"); the
    // adapter sends only these.
    let order_type = match int_field(v, "type") {
        Some(1) => OrderType::Limit,
        Some(5) => OrderType::Market,
        Some(t) => {
            return Err((
                600,
                format!("Order type {t} not supported by the simulator"),
            ));
        }
        None => return Err((600, "Parameter error: type".to_string())),
    };
    let open_type = match int_field(v, "openType") {
        Some(1) => MarginMode::Isolated,
        Some(2) => MarginMode::Cross,
        _ => return Err((2002, "Wrong opening type".to_string())),
    };
    let Some(vol) = dec_field(v, "vol").filter(|d| *d > Decimal::ZERO) else {
        return Err((2011, "Order quantity error".to_string()));
    };
    if !vol.fract().is_zero() {
        return Err((
            2015,
            "Price or quantity accuracy error: vol is whole contracts".to_string(),
        ));
    }
    let price = match order_type {
        OrderType::Limit => {
            Some(dec_field(v, "price").ok_or_else(|| (2007, "Order price error".to_string()))?)
        }
        OrderType::Market => None,
    };
    let external = v
        .get("externalOid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if external.len() > 32 {
        return Err((2030, "externalOid exceeds 32 characters".to_string()));
    }
    let leverage = dec_field(v, "leverage");
    let opens = !reduce_only;
    if opens && open_type == MarginMode::Isolated && leverage.is_none() {
        return Err((
            2006,
            "Leverage ratio error: leverage is required for isolated orders".to_string(),
        ));
    }
    Ok(Submit {
        order: NewOrder {
            qty: vol * contract_size(ex, &symbol),
            symbol,
            side,
            order_type,
            price,
            client_id: external.to_string(),
            reduce_only,
        },
        opens,
        open_type,
        leverage,
    })
}

pub async fn submit(State(sh): Sh, headers: HeaderMap, body: Bytes) -> Response {
    let v = match private_post(&sh, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if sh.options.order_entry_restricted {
        return err(1002, "Contract not allow place order!");
    }
    if let Err(r) = order_budget(&sh) {
        return r;
    }
    match place_submit(&sh, &v) {
        Ok(id) => ok(id),
        Err((code, msg)) => err(code, &msg),
    }
}

/// Places one `order/submit` body (or one entry of `submit_batch`): the order id, or MEXC's
/// code and message.
pub(super) fn place_submit(sh: &Shared, v: &Value) -> Result<Value, (i64, String)> {
    let now = sh.now_ms();
    let partial = sh.faults.take_partial();
    let mut ex = sh.exchange();
    let s = parse_submit(&ex, v)?;
    let symbol = s.order.symbol.clone();
    let held = !ex.position(&symbol).size.is_zero();
    let duplicate =
        !s.order.client_id.is_empty() && ex.find(None, Some(&s.order.client_id), None).is_some();
    if s.opens && !duplicate {
        if held && ex.symbol_margin(&symbol) != s.open_type {
            return Err((
                2027,
                "Only one of cross or isolated per position side".to_string(),
            ));
        }
        if let Some(l) = s.leverage {
            if held && l != ex.leverage(&symbol) {
                return Err((
                    2021,
                    "The order leverage is not consistent with the position's".to_string(),
                ));
            }
            match ex.set_leverage(&symbol, l) {
                Ok(()) | Err(Reject::NotModified) => {}
                Err(r) => return Err(reject_code(&r)),
            }
        }
        if !held {
            let _ = ex.set_symbol_margin(&symbol, s.open_type);
        }
    }
    let client_id = s.order.client_id.clone();
    ex.partial_next = partial;
    let placed = ex.place(s.order, now);
    ex.partial_next = None;
    match placed {
        Ok(o) => Ok(json!(ORDER_ID_BASE + o.order_id)),
        // A repeated externalOid answers with the first order (as submit_batch documents).
        Err(Reject::DuplicateClientId(_)) => match ex.find(None, Some(&client_id), None) {
            Some(o) => Ok(json!(ORDER_ID_BASE + o.order_id)),
            None => Err((603, "Repeated request".to_string())),
        },
        Err(r) => Err(reject_code(&r)),
    }
}

pub async fn cancel_with_external(State(sh): Sh, headers: HeaderMap, body: Bytes) -> Response {
    let v = match private_post(&sh, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if sh.options.order_entry_restricted {
        return err(1002, "Contract not allow place order!");
    }
    let venue_symbol = v
        .get("symbol")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let external = v
        .get("externalOid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let now = sh.now_ms();
    let cancelled = sh
        .exchange()
        .cancel(&unified(&venue_symbol), Some(&external), None, now);
    match cancelled {
        Ok(_) => ok(json!({"symbol": venue_symbol, "externalOid": external})),
        Err(r) => reject(&r),
    }
}

pub async fn by_external(
    State(sh): Sh,
    headers: HeaderMap,
    Path((symbol, external)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(r) = private_get(&sh, &headers, &raw) {
        return r;
    }
    let ex = sh.exchange();
    match ex.find(Some(&unified(&symbol)), Some(&external), None) {
        Some(o) => ok(render::order(&ex, o)),
        None => ok(Value::Null),
    }
}

fn open_list(sh: &Shared, symbol: Option<&str>, raw: &Option<String>) -> Response {
    let q = form::parse(raw.as_deref().unwrap_or_default());
    let page = q
        .get("page_num")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let size = q
        .get("page_size")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(20)
        .clamp(1, 100);
    let ex = sh.exchange();
    let open = ex.open_orders(symbol);
    let rows: Vec<Value> = open
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .map(|o| render::open_order(&ex, o))
        .collect();
    ok(Value::Array(rows))
}

pub async fn open_orders(State(sh): Sh, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    match private_get(&sh, &headers, &raw) {
        Ok(()) => open_list(&sh, None, &raw),
        Err(r) => r,
    }
}

pub async fn open_orders_of(
    State(sh): Sh,
    headers: HeaderMap,
    Path(symbol): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    match private_get(&sh, &headers, &raw) {
        Ok(()) => open_list(&sh, Some(&unified(&symbol)), &raw),
        Err(r) => r,
    }
}
