//! Binance USDⓈ-M replies (`testdata/binance/`).

use rust_decimal_macros::dec;
use serde_json::Value;
use tradeengine_venues::binance::models::*;
use tradeengine_venues::binance::stream::{FeeBook, order_update, position_updates};
use tradeengine_venues::parse::{dec, in_reply, price, reply};

use super::{Case, Converted, all, instrument, opt, order, position};

const V: &str = "binance";

fn exchange_info(v: &Value) -> Converted {
    let info: ExchangeInfo = reply(V, EXCHANGE_INFO, v.clone())?;
    let rows = all(
        info.symbols
            .iter()
            .map(|s| s.to_instrument(dec!(75)).map_err(in_reply(EXCHANGE_INFO))),
        |i| opt(i, |i| instrument(&i)),
    )?;
    Ok(format!("{rows}; {} rate limits", info.rate_limits.len()))
}

fn brackets(v: &Value) -> Converted {
    let rows: Vec<LeverageBrackets> = reply(V, LEVERAGE_BRACKET, v.clone())?;
    Ok(rows
        .iter()
        .map(|b| format!("{} {:?}", b.symbol, b.max_leverage()))
        .collect::<Vec<_>>()
        .join("; "))
}

fn account(v: &Value) -> Converted {
    let account: Account = reply(V, ACCOUNT, v.clone())?;
    all(
        account.assets.iter().map(|a| -> Result<String, _> {
            let value =
                dec(V, "assets.marginBalance", &a.margin_balance).map_err(in_reply(ACCOUNT))?;
            let free = dec(V, "assets.availableBalance", &a.available_balance)
                .map_err(in_reply(ACCOUNT))?;
            Ok(format!("{} value {value} free {free}", a.asset))
        }),
        |s| s,
    )
}

fn position_risk(v: &Value) -> Converted {
    let rows: Vec<PositionRisk> = reply(V, POSITION_RISK, v.clone())?;
    all(
        rows.iter().map(|r| {
            r.to_position(None)
                .map(|p| format!("{} {}", r.position_side, position(&p)))
                .map_err(in_reply(POSITION_RISK))
        }),
        |s| s,
    )
}

fn symbol_config(v: &Value) -> Converted {
    let rows: Vec<SymbolConfig> = reply(V, SYMBOL_CONFIG, v.clone())?;
    all(
        rows.iter().map(|c| {
            c.leverage()
                .map(|l| format!("{} {:?} lev {l}", c.symbol, c.margin_mode()))
                .map_err(in_reply(SYMBOL_CONFIG))
        }),
        |s| s,
    )
}

fn order_obj(v: &Value) -> Converted {
    let o: OrderObj = reply(V, ORDER, v.clone())?;
    o.to_status(dec!(0))
        .map(|s| opt(s, |s| order(&s)))
        .map_err(in_reply(ORDER))
}

fn premium_index(v: &Value) -> Converted {
    let m: MarkPrice = reply(V, PREMIUM_INDEX, v.clone())?;
    let p = price(V, "markPrice", &m.mark_price).map_err(in_reply(PREMIUM_INDEX))?;
    Ok(format!("{} {}", m.symbol, p.get()))
}

fn stream_order(v: &Value) -> Converted {
    let fees = FeeBook::default();
    fees.add("TEST", dec!(0.001), dec!(0));
    let o = v.get("o").cloned().unwrap_or(Value::Null);
    order_update(o, &fees).map(|s| opt(s, |s| order(&s)))
}

fn stream_account(v: &Value) -> Converted {
    all(position_updates(v), |p| position(&p))
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            venue: V,
            file: "exchangeInfo.json",
            endpoint: EXCHANGE_INFO,
            convert: exchange_info,
            expect: "BLZUSDT (BLZUSDT) step 1 min 1 max_mkt Some(\"590119\") tick 0.0001 notional 5.0 contract 1 lev 75; 2 rate limits",
            required: &[
                ("/rateLimits", "rateLimits"),
                ("/symbols", "symbols"),
                ("/symbols/0/symbol", "symbol"),
                ("/symbols/0/contractType", "contractType"),
                ("/symbols/0/status", "status"),
                ("/symbols/0/marginAsset", "marginAsset"),
                ("/symbols/0/filters", "filters"),
                ("/symbols/0/filters/0/filterType", "PRICE_FILTER"),
                ("/symbols/0/filters/0/tickSize", "PRICE_FILTER.tickSize"),
                ("/symbols/0/filters/1/filterType", "LOT_SIZE"),
                ("/symbols/0/filters/1/stepSize", "LOT_SIZE.stepSize"),
                ("/symbols/0/filters/1/minQty", "LOT_SIZE.minQty"),
                ("/symbols/0/filters/2/filterType", "MARKET_LOT_SIZE"),
                ("/symbols/0/filters/2/maxQty", "MARKET_LOT_SIZE.maxQty"),
                ("/symbols/0/filters/5/filterType", "MIN_NOTIONAL"),
                ("/symbols/0/filters/5/notional", "MIN_NOTIONAL.notional"),
            ],
            optional: &[],
        },
        Case {
            venue: V,
            file: "leverageBracket.json",
            endpoint: LEVERAGE_BRACKET,
            convert: brackets,
            expect: "BLZUSDT Some(75)",
            required: &[
                ("/0/symbol", "symbol"),
                ("/0/brackets", "brackets"),
                ("/0/brackets/0/initialLeverage", "initialLeverage"),
            ],
            optional: &[],
        },
        Case {
            venue: V,
            file: "account.json",
            endpoint: ACCOUNT,
            convert: account,
            expect: "USDT value 23.72469206 free 23.72469206",
            required: &[
                ("/assets", "assets"),
                ("/assets/0/asset", "asset"),
                ("/assets/0/marginBalance", "marginBalance"),
                ("/assets/0/availableBalance", "availableBalance"),
            ],
            optional: &[],
        },
        Case {
            venue: V,
            file: "positionRisk.json",
            endpoint: POSITION_RISK,
            convert: position_risk,
            expect: "BOTH ADAUSDT size 30 entry Some(\"0.385\") lev 1 Cross",
            required: &[
                ("/0/symbol", "symbol"),
                ("/0/positionSide", "positionSide"),
                ("/0/positionAmt", "positionAmt"),
                ("/0/entryPrice", "entryPrice"),
            ],
            optional: &[],
        },
        Case {
            venue: V,
            file: "symbolConfig.json",
            endpoint: SYMBOL_CONFIG,
            convert: symbol_config,
            expect: "ADAUSDT Cross lev 21",
            required: &[
                ("/0/symbol", "symbol"),
                ("/0/marginType", "marginType"),
                ("/0/leverage", "leverage"),
            ],
            optional: &[],
        },
        Case {
            venue: V,
            file: "order.json",
            endpoint: ORDER,
            convert: order_obj,
            expect: "abc (Some(\"1917641\")) BTCUSDT Buy Acknowledged qty 0.40 filled 0 avg None fee 0 reduce false at 1579276756075",
            required: &[
                ("/orderId", "orderId"),
                ("/symbol", "symbol"),
                ("/status", "status"),
                ("/clientOrderId", "clientOrderId"),
                ("/avgPrice", "avgPrice"),
                ("/origQty", "origQty"),
                ("/executedQty", "executedQty"),
                ("/reduceOnly", "reduceOnly"),
                ("/side", "side"),
                ("/updateTime", "updateTime"),
            ],
            optional: &[],
        },
        Case {
            venue: V,
            file: "premiumIndex.json",
            endpoint: PREMIUM_INDEX,
            convert: premium_index,
            expect: "BTCUSDT 11793.63104562",
            required: &[("/symbol", "symbol"), ("/markPrice", "markPrice")],
            optional: &[],
        },
        Case {
            venue: V,
            file: "ws-ORDER_TRADE_UPDATE.json",
            endpoint: STREAM_ORDER,
            convert: stream_order,
            expect: "TEST (Some(\"8886774\")) BTCUSDT Sell Filled qty 0.001 filled 0.001 avg Some(\"7103.04\") fee 0.00384121 reduce false at 1568879465650",
            required: &[
                ("/o", "OrderUpdate"),
                ("/o/s", "`s`"),
                ("/o/c", "`c`"),
                ("/o/S", "`S`"),
                ("/o/x", "`x`"),
                ("/o/X", "`X`"),
                ("/o/i", "`i`"),
                ("/o/q", "`q`"),
                ("/o/z", "`z`"),
                ("/o/ap", "`ap`"),
                ("/o/R", "`R`"),
                ("/o/T", "`T`"),
            ],
            // Documented as not pushed when there is no commission.
            optional: &["/o/n"],
        },
        Case {
            venue: V,
            file: "ws-ACCOUNT_UPDATE.json",
            endpoint: STREAM_ACCOUNT,
            convert: stream_account,
            expect: "BTCUSDT size 20 entry Some(\"6563.66500\") lev 1 Isolated",
            required: &[
                ("/a", "a.P"),
                ("/a/P", "a.P"),
                ("/a/P/0/s", "`s`"),
                ("/a/P/0/pa", "`pa`"),
                ("/a/P/0/ep", "`ep`"),
                ("/a/P/0/mt", "`mt`"),
            ],
            optional: &[],
        },
    ]
}
