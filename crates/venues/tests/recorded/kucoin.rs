//! KuCoin Futures replies (`testdata/kucoin/`). Sizes are lots: XBTUSDTM's `multiplier` is
//! 0.001 BTC, so 20 lots are 0.02 BTC.

use serde_json::Value;
use tradeengine_model::Instrument;
use tradeengine_venues::kucoin::models::*;
use tradeengine_venues::kucoin::stream::{Fills, order_change, position_change};
use tradeengine_venues::parse::{in_reply, reply};

use super::{Case, Converted, all, at, instrument, load, opt, order, position, under};

const V: &str = "kucoin";

/// XBTUSDTM from the recorded contracts reply.
fn xbt(symbol: &str) -> Option<Instrument> {
    let rows: Vec<ContractRow> =
        reply(V, CONTRACTS, at(&load(V, "contracts-active.json"), "/data")).ok()?;
    rows.iter()
        .filter_map(|r| r.to_instrument().ok().flatten())
        .find(|i| i.venue_symbol == symbol)
}

fn contracts(v: &Value) -> Converted {
    let rows: Vec<ContractRow> = reply(V, CONTRACTS, at(v, "/data"))?;
    all(
        rows.iter().map(|r| -> Result<String, _> {
            let i = r.to_instrument().map_err(in_reply(CONTRACTS))?;
            let mark = required(&r.mark_price, "markPrice").map_err(in_reply(CONTRACTS))?;
            Ok(format!("{} mark {mark}", opt(i, |i| instrument(&i))))
        }),
        |s| s,
    )
}

fn overview(v: &Value) -> Converted {
    let o: AccountOverview = reply(V, ACCOUNT_OVERVIEW, at(v, "/data"))?;
    let value = required(&o.account_equity, "accountEquity").map_err(in_reply(ACCOUNT_OVERVIEW))?;
    let free =
        required(&o.available_balance, "availableBalance").map_err(in_reply(ACCOUNT_OVERVIEW))?;
    Ok(format!("value {value} free {free}"))
}

fn positions(v: &Value) -> Converted {
    let rows: Vec<PositionRow> = reply(V, POSITIONS, at(v, "/data"))?;
    all(
        rows.iter().map(|r| {
            let i = xbt(&r.symbol).expect("recorded contract");
            r.to_position(&i)
                .map(|p| position(&p))
                .map_err(in_reply(POSITIONS))
        }),
        |s| s,
    )
}

fn by_client_oid(v: &Value) -> Converted {
    let row: OrderRow = reply(V, ORDER_BY_CLIENT_OID, at(v, "/data"))?;
    let i = xbt(&row.symbol).expect("recorded contract");
    row.to_status(&i)
        .map(|s| opt(s, |s| order(&s)))
        .map_err(in_reply(ORDER_BY_CLIENT_OID))
}

fn active_orders(v: &Value) -> Converted {
    let rows: Vec<OrderRow> = reply(V, ORDERS, at(v, "/data/items"))?;
    all(
        rows.iter().map(|r| {
            let i = xbt(&r.symbol).expect("recorded contract");
            r.to_status(&i).map_err(in_reply(ORDERS))
        }),
        |s| opt(s, |s| order(&s)),
    )
}

fn stream_order(v: &Value) -> Converted {
    let fills = Fills::default();
    order_change(at(v, "/data"), xbt, &fills).map(|s| opt(s, |s| order(&s)))
}

fn stream_position(v: &Value) -> Converted {
    position_change(at(v, "/data"), xbt).map(|p| opt(p, |p| position(&p)))
}

const ORDER_FIELDS: &[(&str, &str)] = &[
    ("/id", "id"),
    ("/symbol", "symbol"),
    ("/side", "side"),
    ("/size", "size"),
    ("/dealSize", "dealSize"),
    ("/dealValue", "dealValue"),
    ("/status", "status"),
    ("/isActive", "isActive"),
    ("/reduceOnly", "reduceOnly"),
    ("/updatedAt", "updatedAt"),
    ("/createdAt", "createdAt"),
];

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            venue: V,
            file: "contracts-active.json",
            endpoint: CONTRACTS,
            convert: contracts,
            expect: "BTCUSDT (XBTUSDTM) step 1 min 1 max_mkt Some(\"1000000\") tick 0.1 notional 0 contract 0.001 lev 125 mark 87351.75",
            required: &[
                ("/data/0/symbol", "symbol"),
                ("/data/0/type", "type"),
                ("/data/0/settleCurrency", "settleCurrency"),
                ("/data/0/isInverse", "isInverse"),
                ("/data/0/status", "status"),
                ("/data/0/multiplier", "multiplier"),
                ("/data/0/lotSize", "lotSize"),
                ("/data/0/tickSize", "tickSize"),
                ("/data/0/maxOrderQty", "maxOrderQty"),
                ("/data/0/maxLeverage", "maxLeverage"),
                ("/data/0/markPrice", "markPrice"),
            ],
            optional: &[],
        },
        Case {
            venue: V,
            file: "account-overview.json",
            endpoint: ACCOUNT_OVERVIEW,
            convert: overview,
            expect: "value 99.8999305281 free 99.8999305281",
            required: &[
                ("/data/accountEquity", "accountEquity"),
                ("/data/availableBalance", "availableBalance"),
            ],
            optional: &[],
        },
        Case {
            venue: V,
            file: "positions.json",
            endpoint: POSITIONS,
            convert: positions,
            expect: "BTCUSDT size -0.012 entry Some(\"60000\") lev 3 Cross",
            required: &[
                ("/data/0/symbol", "symbol"),
                ("/data/0/currentQty", "currentQty"),
                ("/data/0/avgEntryPrice", "avgEntryPrice"),
            ],
            // Cross mode carries `leverage`, isolated `realLeverage`; older replies only
            // `crossMode`: each stands in for the other.
            optional: &["/data/0/leverage"],
        },
        Case {
            venue: V,
            file: "order-byClientOid.json",
            endpoint: ORDER_BY_CLIENT_OID,
            convert: by_client_oid,
            expect: "te1-0 (Some(\"230181737576050688\")) BTCUSDT Buy Filled qty 0.02 filled 0.02 avg Some(\"60000\") fee 0 reduce false at 1729236185999",
            required: under("/data", ORDER_FIELDS),
            // `null` for an order placed by hand: not the engine's order.
            optional: &["/data/clientOid"],
        },
        Case {
            venue: V,
            file: "orders-active.json",
            endpoint: ORDERS,
            convert: active_orders,
            expect: "te1-0 (Some(\"230181737576050688\")) BTCUSDT Buy Acknowledged qty 0.02 filled 0 avg None fee 0 reduce false at 1729236185949",
            required: under("/data/items/0", ORDER_FIELDS),
            optional: &["/data/items/0/clientOid"],
        },
        Case {
            venue: V,
            file: "ws-tradeOrders.json",
            endpoint: STREAM_ORDERS,
            convert: stream_order,
            expect: "te1-0 (Some(\"5cdfc138b21023a909e5ad55\")) BTCUSDT Buy PartiallyFilled qty 0.02 filled 0.005 avg Some(\"60000\") fee 0 reduce false at 1545914149935",
            required: &[
                ("/data", "OrderPush"),
                ("/data/orderId", "orderId"),
                ("/data/symbol", "symbol"),
                ("/data/type", "type"),
                ("/data/status", "status"),
                ("/data/side", "side"),
                ("/data/size", "size"),
                ("/data/filledSize", "filledSize"),
                ("/data/matchSize", "matchSize"),
                ("/data/matchPrice", "matchPrice"),
                ("/data/ts", "ts"),
            ],
            optional: &["/data/clientOid"],
        },
        Case {
            venue: V,
            file: "ws-position-change.json",
            endpoint: STREAM_POSITION,
            convert: stream_position,
            expect: "BTCUSDT size -0.012 entry Some(\"60000\") lev 3 Isolated",
            required: &[
                ("/data", "PositionRow"),
                ("/data/symbol", "symbol"),
                ("/data/currentQty", "currentQty"),
                ("/data/avgEntryPrice", "avgEntryPrice"),
                ("/data/realLeverage", "realLeverage"),
                ("/data/crossMode", "crossMode"),
            ],
            optional: &[],
        },
    ]
}
