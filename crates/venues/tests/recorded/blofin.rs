//! BloFin replies (`testdata/blofin/`). Sizes are contracts: BTC-USDT's `contractValue` is
//! 0.001 BTC, so 20 contracts are 0.02 BTC.

use serde_json::Value;
use tradeengine_model::Instrument;
use tradeengine_venues::blofin::models::*;
use tradeengine_venues::blofin::stream::{order_updates, position_updates};
use tradeengine_venues::parse::{dec, dec_opt, in_reply, price, reply};

use super::{Case, Converted, all, at, instrument, load, opt, order, position, under};

const V: &str = "blofin";

/// BTC-USDT from the recorded instruments reply.
fn btc(inst_id: &str) -> Option<Instrument> {
    let rows: Vec<InstrumentRow> =
        reply(V, INSTRUMENTS, at(&load(V, "instruments.json"), "/data")).ok()?;
    rows.iter()
        .filter_map(|r| r.to_instrument().ok().flatten())
        .find(|i| i.venue_symbol == inst_id)
}

fn instruments(v: &Value) -> Converted {
    let rows: Vec<InstrumentRow> = reply(V, INSTRUMENTS, at(v, "/data"))?;
    all(
        rows.iter()
            .map(|r| r.to_instrument().map_err(in_reply(INSTRUMENTS))),
        |i| opt(i, |i| instrument(&i)),
    )
}

fn tickers(v: &Value) -> Converted {
    let rows: Vec<TickerRow> = reply(V, TICKERS, at(v, "/data"))?;
    all(
        rows.iter().map(|t| {
            price(V, "last", &t.last)
                .map(|p| format!("{} {}", t.inst_id, p.get()))
                .map_err(in_reply(TICKERS))
        }),
        |s| s,
    )
}

fn balance(v: &Value) -> Converted {
    let b: Balance = reply(V, BALANCE, at(v, "/data"))?;
    all(
        b.details.iter().map(|d| -> Result<String, _> {
            let value = dec(V, "details.equity", &d.equity).map_err(in_reply(BALANCE))?;
            let free = dec_opt(V, "details.availableEquity", &d.available_equity)
                .map_err(in_reply(BALANCE))?;
            Ok(format!("{} value {value} free {free:?}", d.currency))
        }),
        |s| s,
    )
}

fn margin_mode_reply(v: &Value) -> Converted {
    let text = v
        .pointer("/data/marginMode")
        .and_then(Value::as_str)
        .ok_or_else(|| tradeengine_venues::parse::missing(V, "marginMode"))
        .map_err(in_reply(MARGIN_MODE))?;
    margin_mode(text)
        .map(|m| format!("{m:?}"))
        .map_err(in_reply(MARGIN_MODE))
}

fn positions(v: &Value) -> Converted {
    let rows: Vec<PositionRow> = reply(V, POSITIONS, at(v, "/data"))?;
    all(
        rows.iter().map(|r| {
            let i = btc(&r.inst_id).expect("recorded instrument");
            r.to_position(&i)
                .map(|p| format!("{} {}", r.position_side, position(&p)))
                .map_err(in_reply(POSITIONS))
        }),
        |s| s,
    )
}

fn orders_pending(v: &Value) -> Converted {
    let rows: Vec<OrderRow> = reply(V, ORDERS_PENDING, at(v, "/data"))?;
    all(
        rows.iter().map(|r| {
            let i = btc(&r.inst_id).expect("recorded instrument");
            r.to_status(&i).map_err(in_reply(ORDERS_PENDING))
        }),
        |s| opt(s, |s| order(&s)),
    )
}

fn stream_orders(v: &Value) -> Converted {
    all(order_updates(at(v, "/data"), btc), |s| {
        opt(s, |s| order(&s))
    })
}

fn stream_positions(v: &Value) -> Converted {
    all(position_updates(at(v, "/data"), btc), |p| {
        opt(p, |p| position(&p))
    })
}

const ORDER_FIELDS: &[(&str, &str)] = &[
    ("/0/orderId", "orderId"),
    ("/0/instId", "instId"),
    ("/0/side", "side"),
    ("/0/size", "size"),
    ("/0/filledSize", "filledSize"),
    ("/0/averagePrice", "averagePrice"),
    ("/0/state", "state"),
    ("/0/reduceOnly", "reduceOnly"),
    ("/0/fee", "fee"),
    ("/0/updateTime", "updateTime"),
    ("/0/createTime", "createTime"),
];

const POSITION_FIELDS: &[(&str, &str)] = &[
    ("/0/instId", "instId"),
    ("/0/positionSide", "positionSide"),
    ("/0/positions", "positions"),
    ("/0/averagePrice", "averagePrice"),
    ("/0/leverage", "leverage"),
    ("/0/marginMode", "marginMode"),
];

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            venue: V,
            file: "instruments.json",
            endpoint: INSTRUMENTS,
            convert: instruments,
            expect: "BTCUSDT (BTC-USDT) step 0.1 min 0.1 max_mkt Some(\"100000\") tick 0.1 notional 0 contract 0.001 lev 150",
            required: &[
                ("/data/0/instId", "instId"),
                ("/data/0/quoteCurrency", "quoteCurrency"),
                ("/data/0/contractValue", "contractValue"),
                ("/data/0/minSize", "minSize"),
                ("/data/0/lotSize", "lotSize"),
                ("/data/0/tickSize", "tickSize"),
                ("/data/0/maxLeverage", "maxLeverage"),
                ("/data/0/maxMarketSize", "maxMarketSize"),
                ("/data/0/instType", "instType"),
                ("/data/0/state", "state"),
            ],
            optional: &[],
        },
        Case {
            venue: V,
            file: "tickers.json",
            endpoint: TICKERS,
            convert: tickers,
            expect: "BTC-USDT 27553.1",
            required: &[("/data/0/instId", "instId"), ("/data/0/last", "last")],
            optional: &[],
        },
        Case {
            venue: V,
            file: "balance.json",
            endpoint: BALANCE,
            convert: balance,
            expect: "USDT value 10014042.988958415234430699548 free Some(9996399.4708691159703362725)",
            required: &[
                ("/data/details", "details"),
                ("/data/details/0/currency", "currency"),
                ("/data/details/0/equity", "equity"),
                ("/data/details/0/availableEquity", "availableEquity"),
            ],
            optional: &[],
        },
        Case {
            venue: V,
            file: "margin-mode.json",
            endpoint: MARGIN_MODE,
            convert: margin_mode_reply,
            expect: "Cross",
            required: &[("/data/marginMode", "marginMode")],
            optional: &[],
        },
        Case {
            venue: V,
            file: "positions.json",
            endpoint: POSITIONS,
            convert: positions,
            expect: "net BTCUSDT size -0.0125 entry Some(\"60000.000000000000000000\") lev 3 Isolated",
            required: under("/data", POSITION_FIELDS),
            optional: &[],
        },
        Case {
            venue: V,
            file: "orders-pending.json",
            endpoint: ORDERS_PENDING,
            convert: orders_pending,
            expect: "te1-0 (Some(\"28150801\")) BTCUSDT Sell Acknowledged qty 0.02 filled 0 avg None fee 0.000000000000000000 reduce false at 1697031292788",
            required: under("/data", ORDER_FIELDS),
            // Documented as `null` for an order placed without one: not the engine's order.
            optional: &["/data/0/clientOrderId"],
        },
        Case {
            venue: V,
            file: "ws-orders.json",
            endpoint: STREAM_ORDERS,
            convert: stream_orders,
            expect: "te1-1 (Some(\"28334314\")) BTCUSDT Buy Filled qty 0.02 filled 0.02 avg Some(\"60000.000000000000000000\") fee 0.720000000000000000 reduce false at 1696760246017",
            required: {
                let mut r = vec![("/data", "data")];
                r.extend_from_slice(under("/data", ORDER_FIELDS));
                Box::leak(r.into_boxed_slice())
            },
            optional: &["/data/0/clientOrderId"],
        },
        Case {
            venue: V,
            file: "ws-positions.json",
            endpoint: STREAM_POSITIONS,
            convert: stream_positions,
            expect: "BTCUSDT size 0.02 entry Some(\"60000\") lev 3 Cross",
            required: {
                let mut r = vec![("/data", "data")];
                r.extend_from_slice(under("/data", POSITION_FIELDS));
                Box::leak(r.into_boxed_slice())
            },
            optional: &[],
        },
    ]
}
