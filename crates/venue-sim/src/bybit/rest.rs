//! Bybit v5 REST handlers, at the paths and in the shapes of
//! https://bybit-exchange.github.io/docs/v5.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tradeengine_model::{MarginMode, Side};

use super::{authenticate, err, ok, reject, render};
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

/// Authenticates a GET (signature over the raw query) and parses its parameters.
fn private_get(
    sh: &Shared,
    headers: &HeaderMap,
    raw: &Option<String>,
) -> Result<BTreeMap<String, String>, Response> {
    authenticate(sh, headers, raw.as_deref().unwrap_or_default())?;
    let q = query(raw);
    check_category(sh, q.get("category").map(String::as_str))?;
    Ok(q)
}

/// Authenticates a POST (signature over the raw body) and parses its JSON.
pub(super) fn private_post(
    sh: &Shared,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Value, Response> {
    let text = std::str::from_utf8(body).map_err(|_| err(sh, 10001, "body is not UTF-8"))?;
    authenticate(sh, headers, text)?;
    serde_json::from_str(text).map_err(|_| err(sh, 10001, "params error: body is not JSON"))
}

pub(super) fn check_category(sh: &Shared, category: Option<&str>) -> Result<(), Response> {
    match category {
        None | Some("linear") => Ok(()),
        Some(other) => Err(err(
            sh,
            10001,
            &format!("params error: category {other} not supported by the simulator"),
        )),
    }
}

pub(super) fn field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn paginate<T: Clone>(
    items: &[T],
    q: &BTreeMap<String, String>,
    default_limit: usize,
    max: usize,
) -> (Vec<T>, String) {
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(default_limit)
        .clamp(1, max);
    let start = q
        .get("cursor")
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(0);
    let page: Vec<T> = items.iter().skip(start).take(limit).cloned().collect();
    let next = if start + page.len() < items.len() {
        (start + page.len()).to_string()
    } else {
        String::new()
    };
    (page, next)
}

pub async fn time(State(sh): Sh) -> Response {
    let now = sh.now_ms();
    ok(
        &sh,
        json!({"timeSecond": (now / 1000).to_string(), "timeNano": (i128::from(now) * 1_000_000).to_string()}),
    )
}

pub async fn instruments(State(sh): Sh, RawQuery(raw): RawQuery) -> Response {
    let q = query(&raw);
    if let Err(r) = check_category(&sh, q.get("category").map(String::as_str)) {
        return r;
    }
    let rows: Vec<Value> = sh
        .exchange()
        .instruments()
        .filter(|i| q.get("symbol").is_none_or(|s| *s == i.symbol))
        .enumerate()
        .map(|(n, i)| {
            // Every field of the documented row
            // (<https://bybit-exchange.github.io/docs/v5/market/instrument>); the ones the
            // simulator has no notion of carry the documented example's values.
            json!({
                "symbol": i.symbol, "symbolId": n + 1, "contractType": "LinearPerpetual", "status": "Trading",
                "baseCoin": i.symbol.trim_end_matches("USDT"), "quoteCoin": "USDT", "settleCoin": "USDT",
                "launchTime": "1585526400000", "deliveryTime": "0", "deliveryFeeRate": "",
                "unifiedMarginTrade": true, "copyTrading": "both", "upperFundingRate": "0.00375",
                "lowerFundingRate": "-0.00375", "isPreListing": false, "preListingInfo": null,
                "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
                "symbolType": "",
                "priceScale": i.tick_size.scale().to_string(),
                "leverageFilter": {"minLeverage": "1", "maxLeverage": s(i.max_leverage), "leverageStep": "0.01"},
                "priceFilter": {"minPrice": s(i.tick_size), "maxPrice": "1999999.8", "tickSize": s(i.tick_size)},
                "lotSizeFilter": {"maxOrderQty": s(i.max_qty), "minOrderQty": s(i.min_qty), "qtyStep": s(i.qty_step),
                    "postOnlyMaxOrderQty": s(i.max_qty), "maxMktOrderQty": s(i.max_market_qty), "minNotionalValue": s(i.min_notional)},
                "fundingInterval": 480,
            })
        })
        .collect();
    let (page, next) = paginate(&rows, &q, 500, 1000);
    ok(
        &sh,
        json!({"category": "linear", "list": page, "nextPageCursor": next}),
    )
}

pub async fn tickers(State(sh): Sh, RawQuery(raw): RawQuery) -> Response {
    let q = query(&raw);
    let ex = sh.exchange();
    let list: Vec<Value> = ex
        .prices()
        .iter()
        .filter(|(sym, _)| q.get("symbol").is_none_or(|s| s == *sym))
        .map(|(sym, p)| {
            // Every field of the documented linear row
            // (<https://bybit-exchange.github.io/docs/v5/market/tickers>); a flat day at the
            // simulator's one price.
            let p = s(*p);
            json!({
                "symbol": sym, "lastPrice": p, "indexPrice": p, "markPrice": p,
                "prevPrice24h": p, "price24hPcnt": "0", "highPrice24h": p, "lowPrice24h": p,
                "prevPrice1h": p, "openInterest": "0", "openInterestValue": "0",
                "turnover24h": "0", "volume24h": "0", "fundingRate": "0.0001",
                "nextFundingTime": "0", "predictedDeliveryPrice": "", "basisRate": "",
                "deliveryFeeRate": "", "deliveryTime": "0", "ask1Size": "1", "bid1Price": p,
                "ask1Price": p, "bid1Size": "1", "basis": "",
            })
        })
        .collect();
    drop(ex);
    if list.is_empty() && q.contains_key("symbol") {
        return err(&sh, 10001, "params error: symbol invalid");
    }
    ok(&sh, json!({"category": "linear", "list": list}))
}

pub async fn wallet(State(sh): Sh, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    if let Err(r) = authenticate(&sh, &headers, raw.as_deref().unwrap_or_default()) {
        return r;
    }
    let ex = sh.exchange();
    let (wallet, equity, im) = (ex.wallet(), ex.equity(), ex.initial_margin());
    drop(ex);
    let upl = equity - wallet;
    ok(
        &sh,
        json!({"list": [{
            "accountType": "UNIFIED", "totalEquity": s(equity), "totalWalletBalance": s(wallet), "totalMarginBalance": s(equity),
            "totalAvailableBalance": s(equity - im), "totalPerpUPL": s(upl), "totalInitialMargin": s(im), "totalMaintenanceMargin": s(im / Decimal::from(2)),
            "coin": [{"coin": "USDT", "equity": s(equity), "usdValue": s(equity), "walletBalance": s(wallet), "unrealisedPnl": s(upl), "totalPositionIM": s(im), "cumRealisedPnl": "0"}],
        }]}),
    )
}

pub async fn account_info(State(sh): Sh, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    if let Err(r) = authenticate(&sh, &headers, raw.as_deref().unwrap_or_default()) {
        return r;
    }
    let mode = match sh.exchange().account_margin() {
        MarginMode::Cross => "REGULAR_MARGIN",
        MarginMode::Isolated => "ISOLATED_MARGIN",
    };
    ok(
        &sh,
        json!({"marginMode": mode, "unifiedMarginStatus": 5, "isMasterTrader": false, "spotHedgingStatus": "OFF", "updatedTime": sh.now_ms().to_string()}),
    )
}

pub async fn set_margin_mode(State(sh): Sh, headers: HeaderMap, body: Bytes) -> Response {
    let v = match private_post(&sh, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mode = match field(&v, "setMarginMode") {
        "REGULAR_MARGIN" => MarginMode::Cross,
        "ISOLATED_MARGIN" => MarginMode::Isolated,
        other => return err(&sh, 10001, &format!("params error: setMarginMode {other}")),
    };
    match sh.exchange().set_account_margin(mode) {
        Ok(()) => ok(&sh, json!({"reasons": []})),
        Err(Reject::NotModified) => err(&sh, 110026, "Cross/isolated margin mode is not modified"),
        Err(r) => reject(&sh, &r),
    }
}

pub async fn positions(State(sh): Sh, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let q = match private_get(&sh, &headers, &raw) {
        Ok(q) => q,
        Err(r) => return r,
    };
    if !q.contains_key("symbol") && !q.contains_key("settleCoin") {
        return err(&sh, 10001, "params error: symbol or settleCoin is required");
    }
    let now = sh.now_ms();
    let ex = sh.exchange();
    let rows: Vec<Value> = if ex.hedge_mode {
        ex.instruments()
            .filter(|i| q.get("symbol").is_none_or(|s| *s == i.symbol))
            .flat_map(|i| {
                [
                    render::position(&ex, &i.symbol, 1, now),
                    render::position(&ex, &i.symbol, 2, now),
                ]
            })
            .collect()
    } else if let Some(sym) = q.get("symbol") {
        if ex.instrument(sym).is_none() {
            drop(ex);
            return err(&sh, 10001, "params error: symbol invalid");
        }
        vec![render::position(&ex, sym, 0, now)]
    } else {
        ex.positions()
            .iter()
            .filter(|(_, p)| !p.size.is_zero())
            .map(|(sym, _)| render::position(&ex, sym, 0, now))
            .collect()
    };
    drop(ex);
    let (page, next) = paginate(&rows, &q, 20, 200);
    ok(
        &sh,
        json!({"category": "linear", "list": page, "nextPageCursor": next}),
    )
}

pub async fn set_leverage(State(sh): Sh, headers: HeaderMap, body: Bytes) -> Response {
    let v = match private_post(&sh, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (buy, sell) = (field(&v, "buyLeverage"), field(&v, "sellLeverage"));
    if buy != sell {
        return err(
            &sh,
            10001,
            "buyLeverage must equal sellLeverage in one-way mode",
        );
    }
    let Ok(lev) = buy.parse::<Decimal>() else {
        return err(&sh, 10001, "params error: buyLeverage");
    };
    match sh.exchange().set_leverage(field(&v, "symbol"), lev) {
        Ok(()) => ok(&sh, json!({})),
        Err(r) => reject(&sh, &r),
    }
}

pub async fn switch_mode(State(sh): Sh, headers: HeaderMap, body: Bytes) -> Response {
    let v = match private_post(&sh, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let hedge = match v.get("mode").and_then(Value::as_i64) {
        Some(0) => false,
        Some(3) => true,
        _ => return err(&sh, 10001, "params error: mode must be 0 or 3"),
    };
    let mut ex = sh.exchange();
    if ex.hedge_mode == hedge {
        drop(ex);
        return err(&sh, 110025, "Position mode is not modified");
    }
    if ex.positions().values().any(|p| !p.size.is_zero()) || !ex.open_orders(None).is_empty() {
        drop(ex);
        return err(
            &sh,
            110024,
            "You have an existing position, so position mode cannot be switched",
        );
    }
    ex.hedge_mode = hedge;
    drop(ex);
    ok(&sh, json!({}))
}

/// Bybit's per-UID order limit over a rolling second: `Err` when exceeded, else the headers.
fn order_budget(sh: &Shared) -> Result<[(&'static str, String); 3], Response> {
    let limit = sh.options.order_rate_limit.max(1);
    let now = sh.now_ms();
    let mut times = sh.order_times.lock().unwrap_or_else(|p| p.into_inner());
    while times.front().is_some_and(|t| *t <= now - 1000) {
        times.pop_front();
    }
    let reset = times.front().map_or(now + 1000, |t| t + 1000);
    if times.len() >= limit as usize {
        drop(times);
        return Err(rate_limited_at(sh, reset));
    }
    times.push_back(now);
    let remaining = limit as usize - times.len();
    Ok([
        ("X-Bapi-Limit", limit.to_string()),
        ("X-Bapi-Limit-Status", remaining.to_string()),
        ("X-Bapi-Limit-Reset-Timestamp", reset.to_string()),
    ])
}

pub(super) fn with_headers(mut r: Response, headers: [(&'static str, String); 3]) -> Response {
    for (k, v) in headers {
        if let Ok(val) = HeaderValue::from_str(&v) {
            r.headers_mut().insert(k, val);
        }
    }
    r
}

pub(super) fn rate_limited_at(sh: &Shared, reset_ms: i64) -> Response {
    let r = err(sh, 10006, "Too many visits!");
    with_headers(
        r,
        [
            ("X-Bapi-Limit", sh.options.order_rate_limit.to_string()),
            ("X-Bapi-Limit-Status", "0".to_string()),
            ("X-Bapi-Limit-Reset-Timestamp", reset_ms.to_string()),
        ],
    )
}

/// The rate-limit fault: retCode 10006 with the window's reset `retry_after` from now.
pub fn rate_limited(sh: &Shared, retry_after: Duration) -> Response {
    let reset = sh.now_ms() + i64::try_from(retry_after.as_millis()).unwrap_or(60_000);
    rate_limited_at(sh, reset)
}

/// The order type, under the documented `orderType`
/// (<https://bybit-exchange.github.io/docs/v5/order/create-order>) or the snake-case
/// `order_type` of Bybit's older USDT-perpetual API, which live Bybit still accepts on
/// `POST /v5/order/create`: an unmodified client written against it traded live, and was
/// refused only here. `orderType` wins when both are sent.
fn order_type_field(v: &Value) -> &str {
    match field(v, "orderType") {
        "" => field(v, "order_type"),
        documented => documented,
    }
}

pub(super) fn parse_new_order(v: &Value) -> Result<NewOrder, String> {
    let side = match field(v, "side") {
        "Buy" => Side::Buy,
        "Sell" => Side::Sell,
        other => return Err(format!("side {other:?}")),
    };
    let order_type = match order_type_field(v) {
        "Market" => OrderType::Market,
        "Limit" => OrderType::Limit,
        other => return Err(format!("orderType {other:?}")),
    };
    let qty: Decimal = field(v, "qty").parse().map_err(|_| "qty".to_string())?;
    let price = match (order_type, field(v, "price")) {
        (OrderType::Limit, p) => Some(p.parse::<Decimal>().map_err(|_| "price".to_string())?),
        (OrderType::Market, _) => None,
    };
    let link = field(v, "orderLinkId");
    if link.len() > 36
        || !link
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err("orderLinkId".into());
    }
    if v.get("positionIdx").and_then(Value::as_i64).unwrap_or(0) != 0 {
        return Err("positionIdx (one-way mode needs 0)".into());
    }
    Ok(NewOrder {
        symbol: field(v, "symbol").to_string(),
        side,
        order_type,
        qty,
        price,
        client_id: link.to_string(),
        reduce_only: v
            .get("reduceOnly")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

pub async fn create_order(State(sh): Sh, headers: HeaderMap, body: Bytes) -> Response {
    let v = match private_post(&sh, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = check_category(&sh, Some(field(&v, "category"))) {
        return r;
    }
    let budget = match order_budget(&sh) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let req = match parse_new_order(&v) {
        Ok(r) => r,
        Err(what) => {
            return with_headers(err(&sh, 10001, &format!("params error: {what}")), budget);
        }
    };
    let now = sh.now_ms();
    let partial = sh.faults.take_partial();
    let mut ex = sh.exchange();
    ex.partial_next = partial;
    let placed = ex.place(req, now);
    ex.partial_next = None;
    drop(ex);
    let r = match placed {
        Ok(o) => ok(
            &sh,
            json!({"orderId": o.order_id.to_string(), "orderLinkId": o.client_id}),
        ),
        Err(r) => reject(&sh, &r),
    };
    with_headers(r, budget)
}

pub async fn cancel_order(State(sh): Sh, headers: HeaderMap, body: Bytes) -> Response {
    let v = match private_post(&sh, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let budget = match order_budget(&sh) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let link = Some(field(&v, "orderLinkId")).filter(|l| !l.is_empty());
    let id = field(&v, "orderId").parse::<u64>().ok();
    let now = sh.now_ms();
    let r = match sh.exchange().cancel(field(&v, "symbol"), link, id, now) {
        Ok(o) => ok(
            &sh,
            json!({"orderId": o.order_id.to_string(), "orderLinkId": o.client_id}),
        ),
        Err(r) => reject(&sh, &r),
    };
    with_headers(r, budget)
}

fn order_list(sh: &Shared, q: &BTreeMap<String, String>, open: bool) -> Response {
    let link = q.get("orderLinkId").map(String::as_str);
    let id = q.get("orderId").and_then(|i| i.parse::<u64>().ok());
    let symbol = q.get("symbol").map(String::as_str);
    let ex = sh.exchange();
    let rows: Vec<SimOrder> = ex
        .orders()
        .iter()
        .rev()
        .filter(|o| o.status.is_open() == open)
        .filter(|o| symbol.is_none_or(|s| s == o.symbol))
        .filter(|o| link.is_none_or(|l| l == o.client_id))
        .filter(|o| id.is_none_or(|i| i == o.order_id))
        .cloned()
        .collect();
    drop(ex);
    let (page, next) = paginate(&rows, q, 20, 50);
    let list: Vec<Value> = page.iter().map(render::order).collect();
    ok(
        sh,
        json!({"category": "linear", "list": list, "nextPageCursor": next}),
    )
}

/// Open orders (the default `openOnly=0` view).
pub async fn realtime(State(sh): Sh, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    match private_get(&sh, &headers, &raw) {
        Ok(q) => order_list(&sh, &q, true),
        Err(r) => r,
    }
}

/// Finished orders.
pub async fn history(State(sh): Sh, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    match private_get(&sh, &headers, &raw) {
        Ok(q) => order_list(&sh, &q, false),
        Err(r) => r,
    }
}

/// `GET /v5/user/query-api`: the key's permissions (any valid key may ask). Like Bybit, the
/// reply carries the key itself; `Withdraw` is listed when the options enable it.
pub async fn query_api(State(sh): Sh, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    if let Err(r) = authenticate(&sh, &headers, raw.as_deref().unwrap_or_default()) {
        return r;
    }
    let mut wallet = vec!["AccountTransfer"];
    if sh.options.withdrawals_enabled {
        wallet.push("Withdraw");
    }
    ok(
        &sh,
        json!({
            "id": "1", "note": "simulator", "apiKey": sh.options.api_key, "readOnly": 0,
            "secret": "", "ips": ["*"], "type": 1, "deadlineDay": 90, "uta": 1,
            "permissions": {
                "ContractTrade": ["Order", "Position"], "Spot": [], "Wallet": wallet,
                "Options": [], "Derivatives": [], "Exchange": [], "Earn": [],
                "BlockTrade": [], "Affiliate": [], "NFT": [], "CopyTrading": []
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(type_keys: Value) -> Value {
        let mut v = json!({
            "category": "linear", "symbol": "BTCUSDT", "side": "Buy", "qty": "0.01",
            "orderLinkId": "te1-0", "positionIdx": 0,
        });
        if let (Some(o), Some(extra)) = (v.as_object_mut(), type_keys.as_object()) {
            o.extend(extra.clone());
        }
        v
    }

    #[test]
    fn the_order_type_is_read_under_either_spelling_live_bybit_accepts() {
        let kind = |keys: Value| parse_new_order(&order(keys)).map(|o| o.order_type);
        assert_eq!(kind(json!({"orderType": "Market"})), Ok(OrderType::Market));
        assert_eq!(kind(json!({"order_type": "Market"})), Ok(OrderType::Market));
        assert_eq!(
            kind(json!({"orderType": "Market", "order_type": "Limit"})),
            Ok(OrderType::Market)
        );
        assert_eq!(kind(json!({})), Err("orderType \"\"".to_string()));
    }
}
