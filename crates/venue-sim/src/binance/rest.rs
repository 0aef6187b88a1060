//! Binance USDⓈ-M REST handlers: time, market data, account and settings, at the paths and in
//! the shapes of https://developers.binance.com/docs/derivatives/usds-margined-futures. Orders and
//! listen keys are in [`super::orders`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tradeengine_model::MarginMode;

use super::render::{self, s};
use super::{authenticate, bad, err, reject, weight, with_weight};
use crate::Shared;
use crate::book::Reject;
use crate::form;

type Sh = State<Arc<Shared>>;

/// The rate-limit fault: HTTP 429 with `Retry-After`.
pub fn rate_limited(retry_after: Duration) -> Response {
    let mut r = err(
        StatusCode::TOO_MANY_REQUESTS,
        -1003,
        "Too many requests; current limit is 2400 request weight per 1 MINUTE.",
    );
    if let Ok(v) = HeaderValue::from_str(&retry_after.as_secs().max(1).to_string()) {
        r.headers_mut().insert("Retry-After", v);
    }
    r.headers_mut()
        .insert("X-MBX-USED-WEIGHT-1M", HeaderValue::from_static("2400"));
    r
}

/// Runs `f` on the authenticated parameters and adds the weight header.
#[allow(clippy::too_many_arguments)]
pub(super) fn handle(
    sh: &Shared,
    method: &str,
    path: &str,
    headers: &HeaderMap,
    raw: &Option<String>,
    body: &[u8],
    signed: bool,
    f: impl FnOnce(&BTreeMap<String, String>) -> Response,
) -> Response {
    let query = raw.as_deref().unwrap_or_default();
    let body = std::str::from_utf8(body).unwrap_or_default();
    let w = weight(method, path, &form::parse(query));
    let resp = match authenticate(sh, headers, query, body, signed) {
        Ok(params) => f(&params),
        Err(r) => r,
    };
    with_weight(sh, resp, w)
}

fn public(
    sh: &Shared,
    path: &str,
    raw: &Option<String>,
    f: impl FnOnce(&BTreeMap<String, String>) -> Response,
) -> Response {
    let params = form::parse(raw.as_deref().unwrap_or_default());
    let w = weight("GET", path, &params);
    with_weight(sh, f(&params), w)
}

pub async fn ping(State(sh): Sh) -> Response {
    with_weight(&sh, Json(json!({})).into_response(), 1)
}

pub async fn time(State(sh): Sh) -> Response {
    with_weight(
        &sh,
        Json(json!({"serverTime": sh.now_ms()})).into_response(),
        1,
    )
}

pub async fn exchange_info(State(sh): Sh) -> Response {
    let ex = sh.exchange();
    let symbols: Vec<Value> = ex
        .instruments()
        .map(|i| {
            // Every field of the documented symbol row
            // (<https://developers.binance.com/docs/derivatives/usds-margined-futures/market-data/rest-api/Exchange-Information>),
            // except that the order types are under `orderTypes`, the key the live API sends
            // (the page's example spells it `OrderType`).
            json!({
                "symbol": i.symbol, "pair": i.symbol, "contractType": "PERPETUAL", "status": "TRADING",
                "deliveryDate": 4_133_404_800_000_i64, "onboardDate": 1_569_398_400_000_i64,
                "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000",
                "baseAsset": i.symbol.trim_end_matches("USDT"), "quoteAsset": "USDT", "marginAsset": "USDT",
                "pricePrecision": i.tick_size.scale(), "quantityPrecision": i.qty_step.normalize().scale(),
                "baseAssetPrecision": 8, "quotePrecision": 8,
                "underlyingType": "COIN", "underlyingSubType": [], "settlePlan": 0, "triggerProtect": "0.0500",
                "liquidationFee": "0.012500", "marketTakeBound": "0.05",
                "orderTypes": ["LIMIT", "MARKET"], "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": s(i.tick_size), "maxPrice": "4529764", "tickSize": s(i.tick_size)},
                    {"filterType": "LOT_SIZE", "stepSize": s(i.qty_step), "maxQty": s(i.max_qty), "minQty": s(i.min_qty)},
                    {"filterType": "MARKET_LOT_SIZE", "stepSize": s(i.qty_step), "maxQty": s(i.max_market_qty), "minQty": s(i.min_qty)},
                    {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                    {"filterType": "MIN_NOTIONAL", "notional": s(i.min_notional)},
                    {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500", "multiplierDecimal": "4"},
                ],
            })
        })
        .collect();
    drop(ex);
    let body = json!({
        "timezone": "UTC", "serverTime": sh.now_ms(), "exchangeFilters": [],
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
        ],
        "assets": [{"asset": "USDT", "marginAvailable": true, "autoAssetExchange": "-10000"}],
        "symbols": symbols,
    });
    with_weight(&sh, Json(body).into_response(), 1)
}

pub async fn premium_index(State(sh): Sh, RawQuery(raw): RawQuery) -> Response {
    public(&sh, "/fapi/v1/premiumIndex", &raw, |q| {
        let now = sh.now_ms();
        let ex = sh.exchange();
        let row = |sym: &str, p: Decimal| {
            json!({"symbol": sym, "markPrice": s(p), "indexPrice": s(p), "estimatedSettlePrice": s(p), "lastFundingRate": "0.00010000",
                   "interestRate": "0.00010000", "nextFundingTime": now + 3_600_000, "time": now})
        };
        match q.get("symbol") {
            Some(sym) => match ex.price(sym) {
                Some(p) => Json(row(sym, p)).into_response(),
                None => bad(-1121, "Invalid symbol."),
            },
            None => Json(
                ex.prices()
                    .iter()
                    .map(|(sym, p)| row(sym, *p))
                    .collect::<Vec<_>>(),
            )
            .into_response(),
        }
    })
}

pub async fn ticker_price(State(sh): Sh, RawQuery(raw): RawQuery) -> Response {
    public(&sh, "/fapi/v2/ticker/price", &raw, |q| {
        let now = sh.now_ms();
        let ex = sh.exchange();
        let rows: Vec<Value> = ex
            .prices()
            .iter()
            .filter(|(sym, _)| q.get("symbol").is_none_or(|s| s == *sym))
            .map(|(sym, p)| json!({"symbol": sym, "price": s(*p), "time": now}))
            .collect();
        match (q.contains_key("symbol"), rows.as_slice()) {
            (true, [one]) => Json(one.clone()).into_response(),
            (true, _) => bad(-1121, "Invalid symbol."),
            (false, _) => Json(rows).into_response(),
        }
    })
}

pub async fn leverage_bracket(
    State(sh): Sh,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    handle(
        &sh,
        "GET",
        "/fapi/v1/leverageBracket",
        &headers,
        &raw,
        &[],
        true,
        |q| {
            let ex = sh.exchange();
            let rows: Vec<Value> = ex
            .instruments()
            .filter(|i| q.get("symbol").is_none_or(|s| *s == i.symbol))
            .map(|i| {
                let max: i64 = i.max_leverage.trunc().try_into().unwrap_or(1);
                json!({"symbol": i.symbol, "notionalCoef": 1.0, "brackets": [
                    {"bracket": 1, "initialLeverage": max, "notionalCap": 50000, "notionalFloor": 0, "maintMarginRatio": 0.004, "cum": 0.0}
                ]})
            })
            .collect();
            Json(rows).into_response()
        },
    )
}

pub async fn get_dual(State(sh): Sh, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    handle(
        &sh,
        "GET",
        "/fapi/v1/positionSide/dual",
        &headers,
        &raw,
        &[],
        true,
        |_| Json(json!({"dualSidePosition": sh.exchange().hedge_mode})).into_response(),
    )
}

pub async fn set_dual(
    State(sh): Sh,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    handle(
        &sh,
        "POST",
        "/fapi/v1/positionSide/dual",
        &headers,
        &raw,
        &body,
        true,
        |q| {
            let want = q.get("dualSidePosition").map(String::as_str) == Some("true");
            let mut ex = sh.exchange();
            if ex.hedge_mode == want {
                return bad(-4059, "No need to change position side.");
            }
            if ex.positions().values().any(|p| !p.size.is_zero()) {
                return bad(
                    -4068,
                    "The position side cannot be changed if there exists position.",
                );
            }
            ex.hedge_mode = want;
            Json(json!({"code": 200, "msg": "success"})).into_response()
        },
    )
}

pub async fn account(State(sh): Sh, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    handle(
        &sh,
        "GET",
        "/fapi/v3/account",
        &headers,
        &raw,
        &[],
        true,
        |_| {
            let ex = sh.exchange();
            let (wallet, equity, im) = (ex.wallet(), ex.equity(), ex.initial_margin());
            let upl = equity - wallet;
            let now = sh.now_ms();
            let positions: Vec<Value> = ex
            .positions()
            .iter()
            .filter(|(_, p)| !p.size.is_zero())
            .map(|(sym, p)| json!({"symbol": sym, "positionSide": "BOTH", "positionAmt": s(p.size), "unrealizedProfit": s(ex.unrealised(sym)), "updateTime": now}))
            .collect();
            Json(json!({
            "totalInitialMargin": s(im), "totalMaintMargin": s(im / Decimal::from(2)), "totalWalletBalance": s(wallet),
            "totalUnrealizedProfit": s(upl), "totalMarginBalance": s(equity), "totalPositionInitialMargin": s(im),
            "totalOpenOrderInitialMargin": "0", "totalCrossWalletBalance": s(wallet), "totalCrossUnPnl": s(upl),
            "availableBalance": s(equity - im), "maxWithdrawAmount": s(equity - im),
            "assets": [{"asset": "USDT", "walletBalance": s(wallet), "unrealizedProfit": s(upl), "marginBalance": s(equity),
                        "maintMargin": s(im / Decimal::from(2)), "initialMargin": s(im), "positionInitialMargin": s(im),
                        "openOrderInitialMargin": "0", "crossWalletBalance": s(wallet), "crossUnPnl": s(upl),
                        "availableBalance": s(equity - im), "maxWithdrawAmount": s(equity - im), "updateTime": now}],
            "positions": positions,
        }))
        .into_response()
        },
    )
}

pub async fn position_risk(State(sh): Sh, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    handle(
        &sh,
        "GET",
        "/fapi/v3/positionRisk",
        &headers,
        &raw,
        &[],
        true,
        |q| {
            let now = sh.now_ms();
            let ex = sh.exchange();
            let wanted = |sym: &str| q.get("symbol").is_none_or(|s| s == sym);
            let rows: Vec<Value> = if ex.hedge_mode {
                ex.instruments()
                    .filter(|i| wanted(&i.symbol))
                    .flat_map(|i| {
                        [
                            render::position_risk(&ex, &i.symbol, "LONG", now),
                            render::position_risk(&ex, &i.symbol, "SHORT", now),
                        ]
                    })
                    .collect()
            } else {
                ex.positions()
                    .iter()
                    .filter(|(sym, p)| !p.size.is_zero() && wanted(sym))
                    .map(|(sym, _)| render::position_risk(&ex, sym, "BOTH", now))
                    .collect()
            };
            Json(rows).into_response()
        },
    )
}

pub async fn symbol_config(State(sh): Sh, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    handle(
        &sh,
        "GET",
        "/fapi/v1/symbolConfig",
        &headers,
        &raw,
        &[],
        true,
        |q| {
            let ex = sh.exchange();
            let rows: Vec<Value> = ex
            .instruments()
            .filter(|i| q.get("symbol").is_none_or(|s| *s == i.symbol))
            .map(|i| {
                let margin = if ex.symbol_margin(&i.symbol) == MarginMode::Isolated { "ISOLATED" } else { "CROSSED" };
                let lev: i64 = ex.leverage(&i.symbol).trunc().try_into().unwrap_or(1);
                json!({"symbol": i.symbol, "marginType": margin, "isAutoAddMargin": "false", "leverage": lev, "maxNotionalValue": "1000000"})
            })
            .collect();
            Json(rows).into_response()
        },
    )
}

pub async fn set_leverage(
    State(sh): Sh,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    handle(
        &sh,
        "POST",
        "/fapi/v1/leverage",
        &headers,
        &raw,
        &body,
        true,
        |q| {
            let symbol = q.get("symbol").cloned().unwrap_or_default();
            let Some(lev) = q.get("leverage").and_then(|l| l.parse::<u32>().ok()) else {
                return bad(
                    -1102,
                    "Mandatory parameter 'leverage' was not sent, was empty/null, or malformed.",
                );
            };
            let mut ex = sh.exchange();
            match ex.set_leverage(&symbol, Decimal::from(lev)) {
                Ok(()) | Err(Reject::NotModified) => {
                    Json(json!({"symbol": symbol, "leverage": lev, "maxNotionalValue": "1000000"}))
                        .into_response()
                }
                Err(r) => reject(&r, false),
            }
        },
    )
}

pub async fn set_margin_type(
    State(sh): Sh,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    handle(
        &sh,
        "POST",
        "/fapi/v1/marginType",
        &headers,
        &raw,
        &body,
        true,
        |q| {
            let mode = match q.get("marginType").map(String::as_str) {
                Some("ISOLATED") => MarginMode::Isolated,
                Some("CROSSED") => MarginMode::Cross,
                _ => return bad(-4044, "The marginType parameter is invalid."),
            };
            match sh.exchange().set_symbol_margin(
                q.get("symbol").map(String::as_str).unwrap_or_default(),
                mode,
            ) {
                Ok(()) => Json(json!({"code": 200, "msg": "success"})).into_response(),
                Err(r) => reject(&r, false),
            }
        },
    )
}

/// `GET /sapi/v1/account/apiRestrictions` (served on the same host: the simulator stands in
/// for both the futures and the spot host). `enableWithdrawals` follows the options.
pub async fn api_restrictions(
    State(sh): Sh,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    handle(
        &sh,
        "GET",
        "/sapi/v1/account/apiRestrictions",
        &headers,
        &raw,
        &[],
        true,
        |_| {
            Json(json!({
                "ipRestrict": false, "createTime": 1_700_000_000_000_i64,
                "enableReading": true, "enableFutures": true, "enableMargin": false,
                "enableSpotAndMarginTrading": false, "enableInternalTransfer": false,
                "permitsUniversalTransfer": false, "enableVanillaOptions": false,
                "enablePortfolioMarginTrading": false,
                "enableWithdrawals": sh.options.withdrawals_enabled
            }))
            .into_response()
        },
    )
}
