//! `POST /info`: the reads, in the reply shapes of
//! <https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint> and
//! <https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint/perpetuals>.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tradeengine_model::Side;

use super::{coin_of, fire_scheduled_cancel, master, sig, sz_decimals, unreadable};
use crate::Shared;
use crate::book::{OrderType, SimOrder, SimStatus};

fn s(d: Decimal) -> String {
    d.normalize().to_string()
}

pub async fn info(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return unreadable();
    };
    fire_scheduled_cancel(&sh, sh.now_ms());
    let user = req
        .get("user")
        .and_then(Value::as_str)
        .map(str::to_lowercase);
    let is_master = user.as_deref() == Some(master(&sh).as_str());
    let reply = match req.get("type").and_then(Value::as_str) {
        Some("meta") => meta(&sh),
        Some("metaAndAssetCtxs") => {
            // Here the meta names the collateral token too (0, USDC), as documented.
            let mut m = meta(&sh);
            m["collateralToken"] = json!(0);
            json!([m, asset_ctxs(&sh)])
        }
        Some("allMids") => all_mids(&sh),
        Some("clearinghouseState") if user.is_some() => clearinghouse(&sh, is_master),
        Some("openOrders") if user.is_some() => open_orders(&sh, is_master),
        Some("orderStatus") if user.is_some() => order_status(&sh, is_master, req.get("oid")),
        Some("userFills") if user.is_some() => user_fills(&sh, is_master),
        Some("userRole") => match user {
            Some(u) => user_role(&sh, &u),
            None => return unreadable(),
        },
        Some("candleSnapshot") => match candles(&sh, req.get("req")) {
            Some(rows) => rows,
            None => return unreadable(),
        },
        Some("frontendOpenOrders") if user.is_some() => frontend_open_orders(&sh, is_master),
        Some("userRateLimit") if user.is_some() => json!({
            "cumVlm": "0.0", "nRequestsUsed": 0, "nRequestsCap": 10000, "nRequestsSurplus": 0
        }),
        _ => return unreadable(),
    };
    Json(reply).into_response()
}

/// `meta`: the universe, each asset naming its margin table (`marginTableId`, as the live
/// reply and the documentation's HIP-3 example show), and those tables: one tier up to the
/// asset's maximum leverage, numbered by that leverage as the documentation's example does
/// (table `50` for 50×).
fn meta(sh: &Shared) -> Value {
    let mut tables = std::collections::BTreeSet::new();
    let universe: Vec<Value> = sh
        .exchange()
        .instruments()
        .map(|i| {
            let max = i
                .max_leverage
                .trunc()
                .to_string()
                .parse::<u32>()
                .unwrap_or(1);
            tables.insert(max);
            json!({
                "name": coin_of(&i.symbol),
                "szDecimals": sz_decimals(i),
                "maxLeverage": max,
                "marginTableId": max,
            })
        })
        .collect();
    let tables: Vec<Value> = tables
        .into_iter()
        .map(|max| {
            json!([max, {"description": "", "marginTiers": [{"lowerBound": "0.0", "maxLeverage": max}]}])
        })
        .collect();
    json!({"universe": universe, "marginTables": tables})
}

fn asset_ctxs(sh: &Shared) -> Value {
    let ex = sh.exchange();
    let ctxs: Vec<Value> = ex
        .instruments()
        .map(|i| {
            let px = s(ex.price(&i.symbol).unwrap_or_default());
            json!({
                "dayNtlVlm": "0.0", "funding": "0.0000125", "impactPxs": [px, px],
                "markPx": px, "midPx": px, "openInterest": "0.0", "oraclePx": px,
                "premium": "0.0", "prevDayPx": px,
            })
        })
        .collect();
    Value::Array(ctxs)
}

fn all_mids(sh: &Shared) -> Value {
    let ex = sh.exchange();
    let mids: serde_json::Map<String, Value> = ex
        .instruments()
        .map(|i| {
            let px = s(ex.price(&i.symbol).unwrap_or_default());
            (coin_of(&i.symbol).to_string(), Value::String(px))
        })
        .collect();
    Value::Object(mids)
}

fn clearinghouse(sh: &Shared, is_master: bool) -> Value {
    let now = sh.now_ms();
    let ex = sh.exchange();
    let (equity, im) = if is_master {
        (ex.equity(), ex.initial_margin())
    } else {
        (Decimal::ZERO, Decimal::ZERO)
    };
    let positions: Vec<Value> = if is_master {
        ex.positions()
            .iter()
            .filter(|(_, p)| !p.size.is_zero())
            .map(|(sym, p)| {
                let mark = ex.price(sym).unwrap_or_default();
                let lev = ex.leverage(sym);
                let value = p.size.abs() * mark;
                let margin = if lev.is_zero() { value } else { value / lev };
                let cross = ex.symbol_margin(sym) == tradeengine_model::MarginMode::Cross;
                json!({"type": "oneWay", "position": {
                    "coin": coin_of(sym), "szi": s(p.size), "entryPx": s(p.entry),
                    "positionValue": s(value), "unrealizedPnl": s(ex.unrealised(sym)),
                    "returnOnEquity": "0.0", "liquidationPx": null, "marginUsed": s(margin),
                    "maxLeverage": ex.instrument(sym).map(|i| s(i.max_leverage)).unwrap_or_default().parse::<u32>().unwrap_or(1),
                    "leverage": leverage_row(cross, lev, margin - p.size * mark),
                    "cumFunding": {"allTime": "0.0", "sinceOpen": "0.0", "sinceChange": "0.0"},
                }})
            })
            .collect()
    } else {
        Vec::new()
    };
    let ntl: Decimal = ex
        .positions()
        .iter()
        .filter(|_| is_master)
        .map(|(sym, p)| p.size.abs() * ex.price(sym).unwrap_or_default())
        .sum();
    let summary = json!({
        "accountValue": s(equity), "totalNtlPos": s(ntl), "totalRawUsd": s(equity),
        "totalMarginUsed": s(im),
    });
    json!({
        "assetPositions": positions, "marginSummary": summary, "crossMarginSummary": summary,
        "crossMaintenanceMarginUsed": s(im / Decimal::TWO), "withdrawable": s((equity - im).max(Decimal::ZERO)),
        "time": now,
    })
}

/// A position's `leverage`: `{type, value}`, and for an isolated position `rawUsd`, its
/// isolated USD balance (margin less the signed position value: the documentation's example
/// has −95.06 = 4.97 − 100.03 for a long).
fn leverage_row(cross: bool, leverage: Decimal, raw_usd: Decimal) -> Value {
    let value = leverage.trunc().to_string().parse::<u32>().unwrap_or(1);
    if cross {
        json!({"type": "cross", "value": value})
    } else {
        json!({"type": "isolated", "value": value, "rawUsd": s(raw_usd)})
    }
}

/// The order as `frontendOpenOrders` and `orderStatus` show it.
fn order_row(o: &SimOrder) -> Value {
    let cloid = (!o.client_id.is_empty()).then(|| o.client_id.clone());
    let tif = if o.order_type == OrderType::Limit {
        "Gtc"
    } else {
        "Ioc"
    };
    json!({
        "coin": coin_of(&o.symbol), "side": if o.side == Side::Buy { "B" } else { "A" },
        "limitPx": s(o.price.unwrap_or_default()), "sz": s(o.qty - o.filled), "oid": o.order_id,
        "timestamp": o.created_ms, "triggerCondition": "N/A", "isTrigger": false, "triggerPx": "0.0",
        "children": [], "isPositionTpsl": false, "reduceOnly": o.reduce_only, "orderType": "Limit",
        "origSz": s(o.qty), "tif": tif, "cloid": cloid,
    })
}

/// `candleSnapshot`: `{coin, interval, startTime, endTime}`, oldest first, at most 5000
/// candles, the forming one included.
fn candles(sh: &Shared, req: Option<&Value>) -> Option<Value> {
    let req = req?;
    let coin = req.get("coin")?.as_str()?;
    let step: i64 = match req.get("interval")?.as_str()? {
        "1m" => 60_000,
        "3m" => 180_000,
        "5m" => 300_000,
        "15m" => 900_000,
        "30m" => 1_800_000,
        "1h" => 3_600_000,
        "2h" => 7_200_000,
        "4h" => 14_400_000,
        "8h" => 28_800_000,
        "12h" => 43_200_000,
        "1d" => 86_400_000,
        _ => return None,
    };
    let start = req.get("startTime")?.as_i64()?;
    let now = sh.now_ms();
    let end = req.get("endTime").and_then(Value::as_i64).unwrap_or(now);
    let symbol = format!("{coin}USDT");
    let rows = sh
        .exchange()
        .history()
        .candles(&symbol, step, start, end, now)
        .unwrap_or_default();
    let rows: Vec<Value> = crate::klines::latest(rows, 5000)
        .iter()
        .map(|c| {
            json!({
                "t": c.open_ms, "T": c.open_ms + step - 1, "s": coin, "i": req.get("interval"),
                "o": s(c.open), "c": s(c.close), "h": s(c.high), "l": s(c.low), "v": s(c.volume), "n": 1,
            })
        })
        .collect();
    Some(Value::Array(rows))
}

fn frontend_open_orders(sh: &Shared, is_master: bool) -> Value {
    if !is_master {
        return json!([]);
    }
    let rows: Vec<Value> = sh
        .exchange()
        .open_orders(None)
        .iter()
        .map(order_row)
        .collect();
    Value::Array(rows)
}

fn open_orders(sh: &Shared, is_master: bool) -> Value {
    if !is_master {
        return json!([]);
    }
    let rows: Vec<Value> = sh
        .exchange()
        .open_orders(None)
        .iter()
        .map(|o| {
            let mut row = json!({
                "coin": coin_of(&o.symbol), "limitPx": s(o.price.unwrap_or_default()),
                "oid": o.order_id, "side": if o.side == Side::Buy { "B" } else { "A" },
                "sz": s(o.qty - o.filled), "timestamp": o.created_ms, "origSz": s(o.qty),
            });
            if !o.client_id.is_empty() {
                row["cloid"] = json!(o.client_id);
            }
            row
        })
        .collect();
    Value::Array(rows)
}

fn order_status(sh: &Shared, is_master: bool, oid: Option<&Value>) -> Value {
    let ex = sh.exchange();
    let found = match oid {
        _ if !is_master => None,
        Some(Value::Number(n)) => n.as_u64().and_then(|id| ex.find(None, None, Some(id))),
        Some(Value::String(c)) => ex.find(None, Some(&c.to_lowercase()), None),
        _ => None,
    };
    let Some(o) = found else {
        return json!({"status": "unknownOid"});
    };
    let status = match o.status {
        SimStatus::New | SimStatus::PartiallyFilled => "open",
        SimStatus::Filled => "filled",
        SimStatus::Cancelled | SimStatus::PartiallyFilledCancelled => "canceled",
    };
    json!({"status": "order", "order": {
        "order": order_row(o), "status": status, "statusTimestamp": o.updated_ms,
    }})
}

/// The account's fills, newest first, at most [`super::fills::KEPT`]: the rows and trade ids
/// the `userFills` stream pushes.
fn user_fills(sh: &Shared, is_master: bool) -> Value {
    if !is_master {
        return json!([]);
    }
    let ex = sh.exchange();
    let mut hl = super::lock(super::state(sh));
    hl.fills.sync(&ex);
    Value::Array(hl.fills.newest_first().iter().map(|f| f.row()).collect())
}

/// `{"role": "agent", "data": {"user": master}}` for the approved API wallet, `user` for the
/// master, `missing` for anyone else.
fn user_role(sh: &Shared, user: &str) -> Value {
    let agent = sig::address_of_private_key(&sh.options.api_secret).map(|a| sig::address_text(&a));
    if user == master(sh) {
        json!({"role": "user"})
    } else if agent.as_deref() == Some(user) {
        json!({"role": "agent", "data": {"user": master(sh)}})
    } else {
        json!({"role": "missing"})
    }
}
