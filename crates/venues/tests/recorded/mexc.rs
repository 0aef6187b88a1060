//! MEXC contract replies (`testdata/mexc/`), read after quoting their numbers as the adapter
//! does. Sizes are contracts: BTC_USDT's `contractSize` is 0.0001 BTC, ETH_USDT's 0.01 ETH.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::Value;
use tradeengine_venues::mexc::json::{parse, rows};
use tradeengine_venues::mexc::models::*;
use tradeengine_venues::mexc::stream::{order_push, position_push};
use tradeengine_venues::parse::{dec, dec_opt, in_reply, price};

use super::{Case, Converted, all, at, instrument, opt, order, position};

const V: &str = "mexc";

fn contract_size(symbol: &str) -> Option<Decimal> {
    match symbol {
        "BTC_USDT" => Some(dec!(0.0001)),
        "ETH_USDT" => Some(dec!(0.01)),
        _ => None,
    }
}

fn detail(v: &Value) -> Converted {
    let list: Vec<ContractRow> = rows(at(v, "/data"), CONTRACT_DETAIL)?;
    all(
        list.iter()
            .map(|r| r.to_instrument().map_err(in_reply(CONTRACT_DETAIL))),
        |i| opt(i, |(i, api)| format!("{} api {api}", instrument(&i))),
    )
}

fn ticker(v: &Value) -> Converted {
    let list: Vec<TickerRow> = rows(at(v, "/data"), TICKER)?;
    all(
        list.iter().map(|t| {
            let field = if t.fair_price.trim().is_empty() {
                &t.last_price
            } else {
                &t.fair_price
            };
            price(V, "fairPrice", field)
                .map(|p| format!("{} {}", t.symbol, p.get()))
                .map_err(in_reply(TICKER))
        }),
        |s| s,
    )
}

fn asset(v: &Value) -> Converted {
    let a: AssetRow = parse(at(v, "/data"), ASSET)?;
    let value = dec(V, "equity", &a.equity).map_err(in_reply(ASSET))?;
    let free = dec_opt(V, "availableBalance", &a.available_balance).map_err(in_reply(ASSET))?;
    Ok(format!("value {value} free {free:?}"))
}

fn open_positions(v: &Value) -> Converted {
    let list: Vec<PositionRow> = rows(at(v, "/data"), OPEN_POSITIONS)?;
    all(
        list.iter().map(|r| {
            let cs = contract_size(&r.symbol).expect("recorded contract");
            r.to_position(cs)
                .map(|p| format!("id {} {}", r.position_id, position(&p)))
                .map_err(in_reply(OPEN_POSITIONS))
        }),
        |s| s,
    )
}

fn external(v: &Value) -> Converted {
    let row: OrderRow = parse(at(v, "/data"), ORDER_EXTERNAL)?;
    let cs = contract_size(&row.symbol).expect("recorded contract");
    row.to_status(cs)
        .map(|s| opt(s, |s| order(&s)))
        .map_err(in_reply(ORDER_EXTERNAL))
}

fn open_orders(v: &Value) -> Converted {
    let list: Vec<OrderRow> = rows(at(v, "/data"), OPEN_ORDERS)?;
    all(
        list.iter().map(|r| {
            let cs = contract_size(&r.symbol).expect("recorded contract");
            r.to_status(cs).map_err(in_reply(OPEN_ORDERS))
        }),
        |s| opt(s, |s| order(&s)),
    )
}

fn stream_order(v: &Value) -> Converted {
    order_push(at(v, "/data"), contract_size).map(|s| opt(s, |s| order(&s)))
}

fn stream_position(v: &Value) -> Converted {
    position_push(at(v, "/data"), contract_size).map(|p| opt(p, |p| position(&p)))
}

const ORDER_FIELDS: &[(&str, &str)] = &[
    ("/orderId", "orderId"),
    ("/symbol", "symbol"),
    ("/vol", "vol"),
    ("/side", "side"),
    ("/dealAvgPrice", "dealAvgPrice"),
    ("/dealVol", "dealVol"),
    ("/takerFee", "takerFee"),
    ("/makerFee", "makerFee"),
    ("/state", "state"),
    ("/updateTime", "updateTime"),
];

const POSITION_FIELDS: &[(&str, &str)] = &[
    ("/positionId", "positionId"),
    ("/symbol", "symbol"),
    ("/holdVol", "holdVol"),
    ("/positionType", "positionType"),
    ("/openType", "openType"),
    ("/holdAvgPrice", "holdAvgPrice"),
    ("/leverage", "leverage"),
    ("/state", "state"),
];

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            venue: V,
            file: "contract-detail.json",
            endpoint: CONTRACT_DETAIL,
            convert: detail,
            expect: "BTCUSDT (BTC_USDT) step 1 min 1 max_mkt Some(\"1000000\") tick 0.5 notional 0 contract 0.0001 lev 125 api false",
            required: &[
                ("/data/0/symbol", "symbol"),
                ("/data/0/quoteCoin", "quoteCoin"),
                ("/data/0/settleCoin", "settleCoin"),
                ("/data/0/contractSize", "contractSize"),
                ("/data/0/minVol", "minVol"),
                ("/data/0/maxVol", "maxVol"),
                ("/data/0/volUnit", "volUnit"),
                ("/data/0/priceUnit", "priceUnit"),
                ("/data/0/maxLeverage", "maxLeverage"),
                ("/data/0/state", "state"),
            ],
            // Absent on older replies, where API orders were allowed on every contract.
            optional: &["/data/0/apiAllowed"],
        },
        Case {
            venue: V,
            file: "ticker.json",
            endpoint: TICKER,
            convert: ticker,
            expect: "BTC_USDT 8000.45",
            required: &[
                ("/data/symbol", "symbol"),
                ("/data/lastPrice", "lastPrice"),
                ("/data/fairPrice", "fairPrice"),
            ],
            optional: &[],
        },
        Case {
            venue: V,
            file: "asset-USDT.json",
            endpoint: ASSET,
            convert: asset,
            expect: "value 99.9 free Some(55)",
            required: &[
                ("/data/equity", "equity"),
                ("/data/availableBalance", "availableBalance"),
            ],
            optional: &[],
        },
        Case {
            venue: V,
            file: "open-positions.json",
            endpoint: OPEN_POSITIONS,
            convert: open_positions,
            expect: "id 1394650 ETHUSDT size -1.50 entry Some(\"3000.5\") lev 10 Isolated",
            required: super::under("/data/0", POSITION_FIELDS),
            optional: &[],
        },
        Case {
            venue: V,
            file: "order-external.json",
            endpoint: ORDER_EXTERNAL,
            convert: external,
            expect: "cl-1 (Some(\"739113577038255617\")) BTCUSDT Sell Filled qty 0.0125 filled 0.0125 avg Some(\"60000.1\") fee 0.4125 reduce true at 1700000000123",
            required: super::under("/data", ORDER_FIELDS),
            // Absent on an order placed without one: not the engine's order.
            optional: &["/data/externalOid"],
        },
        Case {
            venue: V,
            file: "open-orders.json",
            endpoint: OPEN_ORDERS,
            convert: open_orders,
            expect: "cl-2 (Some(\"739113577038255617\")) BTCUSDT Buy Acknowledged qty 0.0125 filled 0 avg None fee 0 reduce false at 1700000000123",
            required: super::under("/data/0", ORDER_FIELDS),
            optional: &["/data/0/externalOid"],
        },
        Case {
            venue: V,
            file: "ws-personal-order.json",
            endpoint: STREAM_ORDER,
            convert: stream_order,
            expect: "cl-1 (Some(\"739113577038255617\")) BTCUSDT Sell Filled qty 0.0125 filled 0.0125 avg Some(\"60000.1\") fee 0.4125 reduce true at 1700000000123",
            required: {
                let mut r = vec![("/data", "OrderRow")];
                r.extend_from_slice(super::under("/data", ORDER_FIELDS));
                Box::leak(r.into_boxed_slice())
            },
            optional: &["/data/externalOid"],
        },
        Case {
            venue: V,
            file: "ws-personal-position.json",
            endpoint: STREAM_POSITION,
            convert: stream_position,
            expect: "ETHUSDT size -1.50 entry Some(\"3000.5\") lev 10 Isolated",
            required: {
                let mut r = vec![("/data", "PositionRow")];
                r.extend_from_slice(super::under("/data", POSITION_FIELDS));
                Box::leak(r.into_boxed_slice())
            },
            optional: &[],
        },
    ]
}
