//! Bybit v5 replies (`testdata/bybit/`).

use serde_json::Value;
use tradeengine_model::MarginMode;
use tradeengine_venues::bybit::models::*;
use tradeengine_venues::bybit::stream::{order_updates, position_updates};
use tradeengine_venues::parse::{dec, dec_opt, in_reply, price, reply};

use super::{Case, Converted, all, at, instrument, opt, order, position, under};

const V: &str = "bybit";

fn instruments(v: &Value) -> Converted {
    let page: Page<InstrumentRow> = reply(V, INSTRUMENTS, at(v, "/result"))?;
    let rows = all(
        page.list
            .iter()
            .map(|r| r.to_instrument().map_err(in_reply(INSTRUMENTS))),
        |i| opt(i, |i| instrument(&i)),
    )?;
    Ok(format!("{rows}; cursor {:?}", page.next_page_cursor))
}

fn tickers(v: &Value) -> Converted {
    let list: List<TickerRow> = reply(V, TICKERS, at(v, "/result"))?;
    all(
        list.list.iter().map(|t| {
            let field = if t.mark_price.is_empty() {
                &t.last_price
            } else {
                &t.mark_price
            };
            price(V, "markPrice", field).map_err(in_reply(TICKERS))
        }),
        |p| p.get().to_string(),
    )
}

fn wallet(v: &Value) -> Converted {
    let list: List<WalletAccount> = reply(V, WALLET, at(v, "/result"))?;
    all(
        list.list.iter().map(|a| -> Result<String, _> {
            let usdt = a.coin.iter().find(|c| c.coin == "USDT");
            let value = match usdt {
                Some(c) => dec(V, "coin.equity", &c.equity).map_err(in_reply(WALLET))?,
                None => rust_decimal::Decimal::ZERO,
            };
            let free = dec_opt(V, "totalAvailableBalance", &a.total_available_balance)
                .map_err(in_reply(WALLET))?;
            Ok(format!("value {value} free {free:?}"))
        }),
        |s| s,
    )
}

fn account_info(v: &Value) -> Converted {
    let info: AccountInfo = reply(V, ACCOUNT_INFO, at(v, "/result"))?;
    Ok(format!("{:?}", info.margin_mode()))
}

fn positions(v: &Value) -> Converted {
    let page: Page<PositionRow> = reply(V, POSITIONS, at(v, "/result"))?;
    let rows = all(
        page.list.iter().map(|r| {
            r.to_position(MarginMode::Cross)
                .map(|p| format!("idx {} {}", r.position_idx, position(&p)))
                .map_err(in_reply(POSITIONS))
        }),
        |s| s,
    )?;
    Ok(format!("{rows}; cursor {:?}", page.next_page_cursor))
}

fn open_orders(v: &Value) -> Converted {
    let page: Page<OrderRow> = reply(V, OPEN_ORDERS, at(v, "/result"))?;
    let rows = all(
        page.list
            .iter()
            .map(|r| r.to_status().map_err(in_reply(OPEN_ORDERS))),
        |s| opt(s, |s| order(&s)),
    )?;
    Ok(format!(
        "{rows}; more {}",
        !page.next_page_cursor.is_empty()
    ))
}

fn stream_orders(v: &Value) -> Converted {
    all(order_updates(at(v, "/data")), |s| opt(s, |s| order(&s)))
}

fn stream_positions(v: &Value) -> Converted {
    all(position_updates(at(v, "/data")), |p| position(&p))
}

const ORDER_FIELDS: &[(&str, &str)] = &[
    ("/0/orderId", "orderId"),
    ("/0/orderLinkId", "orderLinkId"),
    ("/0/symbol", "symbol"),
    ("/0/side", "side"),
    ("/0/qty", "qty"),
    ("/0/orderStatus", "orderStatus"),
    ("/0/avgPrice", "avgPrice"),
    ("/0/cumExecQty", "cumExecQty"),
    ("/0/cumExecFee", "cumExecFee"),
    ("/0/reduceOnly", "reduceOnly"),
    ("/0/updatedTime", "updatedTime"),
];

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            venue: V,
            file: "instruments-info.json",
            endpoint: INSTRUMENTS,
            convert: instruments,
            expect: "BTCUSDT (BTCUSDT) step 0.001 min 0.001 max_mkt Some(\"500.000\") tick 0.10 notional 5 contract 1 lev 100.00; cursor \"\"",
            required: &[
                ("/result/list", "list"),
                ("/result/nextPageCursor", "nextPageCursor"),
                ("/result/list/0/symbol", "symbol"),
                ("/result/list/0/contractType", "contractType"),
                ("/result/list/0/status", "status"),
                ("/result/list/0/settleCoin", "settleCoin"),
                ("/result/list/0/leverageFilter/maxLeverage", "maxLeverage"),
                ("/result/list/0/priceFilter/tickSize", "tickSize"),
                ("/result/list/0/lotSizeFilter/qtyStep", "qtyStep"),
                ("/result/list/0/lotSizeFilter/minOrderQty", "minOrderQty"),
                (
                    "/result/list/0/lotSizeFilter/maxMktOrderQty",
                    "maxMktOrderQty",
                ),
                (
                    "/result/list/0/lotSizeFilter/minNotionalValue",
                    "minNotionalValue",
                ),
            ],
            optional: &[],
        },
        Case {
            venue: V,
            file: "tickers.json",
            endpoint: TICKERS,
            convert: tickers,
            expect: "16596.00",
            required: &[
                ("/result/list", "list"),
                ("/result/list/0/symbol", "symbol"),
                ("/result/list/0/lastPrice", "lastPrice"),
                ("/result/list/0/markPrice", "markPrice"),
            ],
            optional: &[],
        },
        Case {
            venue: V,
            file: "wallet-balance.json",
            endpoint: WALLET,
            convert: wallet,
            expect: "value 18070.32797922 free Some(17887.72614237)",
            required: &[
                ("/result/list", "list"),
                (
                    "/result/list/0/totalAvailableBalance",
                    "totalAvailableBalance",
                ),
                ("/result/list/0/coin", "coin"),
                ("/result/list/0/coin/0/coin", "coin"),
                ("/result/list/0/coin/0/equity", "equity"),
            ],
            optional: &[],
        },
        Case {
            venue: V,
            file: "account-info.json",
            endpoint: ACCOUNT_INFO,
            convert: account_info,
            expect: "Cross",
            required: &[("/result/marginMode", "marginMode")],
            optional: &[],
        },
        Case {
            venue: V,
            file: "position-list.json",
            endpoint: POSITIONS,
            convert: positions,
            expect: "idx 0 BTCUSDT size -0.300 entry Some(\"27464.50441675\") lev 10 Cross; cursor \"\"",
            required: &[
                ("/result/list", "list"),
                ("/result/nextPageCursor", "nextPageCursor"),
                ("/result/list/0/positionIdx", "positionIdx"),
                ("/result/list/0/symbol", "symbol"),
                ("/result/list/0/side", "side"),
                ("/result/list/0/size", "size"),
                ("/result/list/0/avgPrice", "avgPrice"),
                ("/result/list/0/leverage", "leverage"),
            ],
            optional: &[],
        },
        Case {
            venue: V,
            file: "order-realtime.json",
            endpoint: OPEN_ORDERS,
            convert: open_orders,
            expect: "test-000005 (Some(\"fd4300ae-7847-404e-b947-b46980a4d140\")) ETHUSDT Buy Acknowledged qty 0.10 filled 0.00 avg None fee 0 reduce false at 1684738540561; more true",
            required: {
                let mut r = vec![
                    ("/result/list", "list"),
                    ("/result/nextPageCursor", "nextPageCursor"),
                ];
                r.extend_from_slice(under("/result/list", ORDER_FIELDS));
                Box::leak(r.into_boxed_slice())
            },
            optional: &[],
        },
        Case {
            venue: V,
            file: "ws-order.json",
            endpoint: STREAM_ORDER,
            convert: stream_orders,
            expect: "test-000005 (Some(\"fd4300ae-7847-404e-b947-b46980a4d140\")) ETHUSDT Buy Filled qty 0.10 filled 0.10 avg Some(\"1600.50\") fee 0.0880275 reduce false at 1684738540600",
            required: {
                let mut r = vec![("/data", "data")];
                r.extend_from_slice(under("/data", ORDER_FIELDS));
                Box::leak(r.into_boxed_slice())
            },
            optional: &[],
        },
        Case {
            venue: V,
            file: "ws-position.json",
            endpoint: STREAM_POSITION,
            convert: stream_positions,
            expect: "BTCUSDT size 0.010 entry Some(\"28184.5\") lev 10 Cross",
            required: &[
                ("/data", "data"),
                ("/data/0/positionIdx", "positionIdx"),
                ("/data/0/symbol", "symbol"),
                ("/data/0/side", "side"),
                ("/data/0/size", "size"),
                ("/data/0/entryPrice", "entryPrice"),
                ("/data/0/leverage", "leverage"),
            ],
            optional: &[],
        },
    ]
}
