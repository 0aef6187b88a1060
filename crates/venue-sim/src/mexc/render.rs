//! MEXC JSON shapes of contracts, orders and positions (REST rows and stream pushes share
//! them), in contracts.

use rust_decimal::Decimal;
use serde_json::{Value, json};
use tradeengine_model::{MarginMode, Side};

use super::{ORDER_ID_BASE, POSITION_ID_BASE, num, venue_symbol};
use crate::book::{Exchange, OrderType, SimOrder, SimStatus};
use crate::options::SimInstrument;
use crate::shape::pick;

/// Base units per contract of a simulated instrument (MEXC `contractSize`; `volUnit` is 1).
pub fn contract_size(ex: &Exchange, symbol: &str) -> Decimal {
    ex.instrument(symbol)
        .map(|i| i.qty_step)
        .filter(|s| *s > Decimal::ZERO)
        .unwrap_or(Decimal::ONE)
}

pub fn contracts(base: Decimal, contract_size: Decimal) -> Decimal {
    if contract_size.is_zero() {
        base
    } else {
        base / contract_size
    }
}

pub fn open_type(mode: MarginMode) -> i64 {
    match mode {
        MarginMode::Isolated => 1,
        MarginMode::Cross => 2,
    }
}

pub fn position_id(ex: &Exchange, symbol: &str) -> u64 {
    let idx = ex
        .instruments()
        .position(|i| i.symbol == symbol)
        .unwrap_or(0);
    POSITION_ID_BASE + idx as u64
}

/// The simulated symbol of a position id.
pub fn symbol_of_position(ex: &Exchange, id: u64) -> Option<String> {
    let idx = usize::try_from(id.checked_sub(POSITION_ID_BASE)?).ok()?;
    ex.instruments().nth(idx).map(|i| i.symbol.clone())
}

pub fn detail(i: &SimInstrument, api_allowed: bool) -> Value {
    let cs = i.qty_step;
    json!({
        "symbol": venue_symbol(&i.symbol), "displayName": venue_symbol(&i.symbol),
        "baseCoin": i.symbol.trim_end_matches("USDT"), "quoteCoin": "USDT", "settleCoin": "USDT",
        "contractSize": num(cs), "minLeverage": 1, "maxLeverage": num(i.max_leverage),
        "priceScale": i.tick_size.normalize().scale(), "volScale": 0, "amountScale": 4,
        "priceUnit": num(i.tick_size), "volUnit": 1,
        "minVol": num(contracts(i.min_qty, cs)), "maxVol": num(contracts(i.max_market_qty, cs)),
        "takerFeeRate": 0.0002, "makerFeeRate": 0, "state": 0, "apiAllowed": api_allowed,
        "positionOpenType": 3, "isNew": false, "isHot": false, "isHidden": false,
        "displayNameEn": format!("{} PERPETUAL", venue_symbol(&i.symbol)),
        "bidLimitPriceRate": 0.1, "askLimitPriceRate": 0.1, "maintenanceMarginRate": 0.004,
        "initialMarginRate": 0.008, "riskBaseVol": 10000, "riskIncrVol": 200000,
        "riskIncrMmr": 0.004, "riskIncrImr": 0.004, "riskLevelLimit": 5,
        "priceCoefficientVariation": 0.1, "indexOrigin": ["BINANCE"], "conceptPlate": [],
        "riskLimitType": "BY_VOLUME", "maxNumOrders": [200, 50], "marketOrderMaxLevel": 20,
        "marketOrderPriceLimitRate1": 0.2, "marketOrderPriceLimitRate2": 0.005,
        "triggerProtect": 0.1, "appraisal": 0, "showAppraisalCountdown": 0,
        "automaticDelivery": 0,
    })
}

/// MEXC side code of an order: 1 open long, 2 close short, 3 open short, 4 close long.
pub fn side_code(side: Side, reduce_only: bool) -> i64 {
    match (side, reduce_only) {
        (Side::Buy, false) => 1,
        (Side::Buy, true) => 2,
        (Side::Sell, false) => 3,
        (Side::Sell, true) => 4,
    }
}

/// MEXC order state: 2 uncompleted, 3 completed, 4 cancelled.
pub fn state(st: SimStatus) -> i64 {
    match st {
        SimStatus::New | SimStatus::PartiallyFilled => 2,
        SimStatus::Filled => 3,
        SimStatus::Cancelled | SimStatus::PartiallyFilledCancelled => 4,
    }
}

/// An open-orders row (`GET /api/v1/private/order/list/open_orders/{symbol}`): the order's
/// fields plus `stopLossPrice` and `takeProfitPrice`, which that page documents and the
/// by-external-id page does not
/// (<https://mexcdevelop.github.io/apidocs/contract_v1_en/#get-the-user-39-s-current-pending-order>).
pub fn open_order(ex: &Exchange, o: &SimOrder) -> Value {
    let mut row = order(ex, o);
    if let Some(fields) = row.as_object_mut() {
        fields.insert("stopLossPrice".into(), json!(0));
        fields.insert("takeProfitPrice".into(), json!(0));
    }
    row
}

pub fn order(ex: &Exchange, o: &SimOrder) -> Value {
    let cs = contract_size(ex, &o.symbol);
    json!({
        "orderId": ORDER_ID_BASE + o.order_id,
        "symbol": venue_symbol(&o.symbol),
        "positionId": position_id(ex, &o.symbol),
        "price": num(o.price.unwrap_or_default()),
        "vol": num(contracts(o.qty, cs)),
        "leverage": num(ex.leverage(&o.symbol)),
        "side": side_code(o.side, o.reduce_only),
        "category": 1,
        "orderType": if o.order_type == OrderType::Market { 5 } else { 1 },
        "dealAvgPrice": num(o.avg_price.unwrap_or_default()),
        "dealVol": num(contracts(o.filled, cs)),
        "orderMargin": 0,
        "usedMargin": 0,
        "takerFee": num(o.fee),
        "makerFee": 0,
        "profit": 0,
        "feeCurrency": "USDT",
        "openType": open_type(ex.symbol_margin(&o.symbol)),
        "state": state(o.status),
        "errorCode": 0,
        "externalOid": o.client_id,
        "createTime": o.created_ms,
        "updateTime": o.updated_ms,
    })
}

/// A position row of `GET /api/v1/private/position/open_positions`
/// (<https://mexcdevelop.github.io/apidocs/contract_v1_en/#get-the-user-39-s-current-holding-position>).
pub fn position(ex: &Exchange, symbol: &str, now_ms: i64) -> Value {
    pick(
        &position_fields(ex, symbol, now_ms),
        &[
            "positionId",
            "symbol",
            "positionType",
            "openType",
            "state",
            "holdVol",
            "frozenVol",
            "closeVol",
            "holdAvgPrice",
            "openAvgPrice",
            "closeAvgPrice",
            "liquidatePrice",
            "oim",
            "adlLevel",
            "im",
            "holdFee",
            "realised",
            "leverage",
            "createTime",
            "updateTime",
            "autoAddIm",
        ],
    )
}

/// A `push.personal.position` position
/// (<https://mexcdevelop.github.io/apidocs/contract_v1_en/#private-channels>).
pub fn position_push(ex: &Exchange, symbol: &str, now_ms: i64) -> Value {
    pick(
        &position_fields(ex, symbol, now_ms),
        &[
            "positionId",
            "symbol",
            "holdVol",
            "positionType",
            "openType",
            "state",
            "frozenVol",
            "closeVol",
            "holdAvgPrice",
            "closeAvgPrice",
            "openAvgPrice",
            "liquidatePrice",
            "oim",
            "adlLevel",
            "im",
            "holdFee",
            "realised",
            "leverage",
        ],
    )
}

/// Every field of a position the simulator can fill; a flat one is `state` 3 (closed) with
/// `holdVol` 0.
fn position_fields(ex: &Exchange, symbol: &str, now_ms: i64) -> Value {
    let p = ex.position(symbol);
    let cs = contract_size(ex, symbol);
    let leverage = ex.leverage(symbol);
    let mark = ex.price(symbol).unwrap_or_default();
    let im = if leverage.is_zero() {
        Decimal::ZERO
    } else {
        (p.size.abs() * mark / leverage).round_dp(8)
    };
    json!({
        "positionId": position_id(ex, symbol),
        "symbol": venue_symbol(symbol),
        "positionType": if p.size < Decimal::ZERO { 2 } else { 1 },
        "openType": open_type(ex.symbol_margin(symbol)),
        "state": if p.size.is_zero() { 3 } else { 1 },
        "holdVol": num(contracts(p.size.abs(), cs)),
        "frozenVol": 0,
        "closeVol": 0,
        "holdAvgPrice": num(p.entry),
        "openAvgPrice": num(p.entry),
        "closeAvgPrice": 0,
        "liquidatePrice": 0,
        "oim": num(im),
        "im": num(im),
        "holdFee": 0,
        "realised": 0,
        "leverage": num(leverage),
        "adlLevel": 1,
        "autoAddIm": false,
        "createTime": now_ms,
        "updateTime": now_ms,
    })
}
