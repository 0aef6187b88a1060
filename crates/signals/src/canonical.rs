//! tradeengine's own signal schema (README.md, "Sources"), accepted on
//! `POST /api/v1/signals` and on the brokers. It is ours, so unknown keys are refused by name:
//! a typo never silently changes a trade.
//!
//! ```json
//! {"v": 1, "id": "client-key-1", "ts": "2026-07-14T14:35:06Z", "max_lag_s": 60,
//!  "symbol": "BTCUSDT", "mode": "target",
//!  "target": {"side": "long", "exposure": 0.25, "unit": "equity_fraction", "leverage": 3}}
//!
//! {"v": 1, "id": "client-key-2", "symbol": "ETHUSDT", "mode": "delta", "confidence": 0.8,
//!  "price": 3000,
//!  "order": {"action": "open", "side": "buy", "size": 100, "unit": "quote", "type": "market"},
//!  "stop_loss": {"pct": 0.02}, "take_profits": [{"price": 3300}]}
//! ```
//!
//! - `mode: "target"` → a [`TargetIntent`]: depth = ±`exposure` (a fraction of account value;
//!   `side: flat` is depth 0). Only `unit: equity_fraction`.
//! - `mode: "delta"` → an [`OrderIntent`]: `open` / `increase` with `side` buy|long or
//!   sell|short → Buy / Sell (the sleeve rules decide whether it opens or adds); `close` →
//!   Close; `hold` → Hold. Sizes in `equity_fraction`, `quote` or `base` units.
//! - Refused as unsupported, with the reason: `reduce` (a sell into a flat sleeve would open a
//!   short; send `close` or an opposite order), `reverse` (an order never flips a sleeve),
//!   `cancel`, limit orders, `contracts` / `risk_pct` / `ptn_leverage` units, more than one
//!   take-profit level or a partial `portion`, and protective levels on a target.
//! - `stop_loss` / `take_profits[0]`: `price` (absolute) wins over `pct` (fraction of entry).
//! - `ts` (RFC 3339, or epoch seconds or milliseconds) is the sender time; with `max_lag_s`, an
//!   older signal is refused as stale. `id` is the body id of the idempotency key.
//! - `venue` and `tags` are informational and kept in the raw payload.

use rust_decimal::Decimal;
use serde_json::{Map, Value};
use tradeengine_model::{
    Intent, OrderAction, OrderIntent, OrderSize, Price, ProtectiveLevel, Signal, TargetIntent,
    Timestamp,
};

use crate::message::{
    MessageContext, MessageError, check_age, fraction, json_object, keys, number, price, symbol,
    text,
};

const TOP_KEYS: [&str; 14] = [
    "v",
    "id",
    "ts",
    "max_lag_s",
    "symbol",
    "venue",
    "mode",
    "target",
    "order",
    "stop_loss",
    "take_profits",
    "tags",
    "confidence",
    "price",
];
const TARGET_KEYS: [&str; 4] = ["side", "exposure", "unit", "leverage"];
const ORDER_KEYS: [&str; 6] = ["action", "side", "size", "unit", "type", "limit_price"];
const LEVEL_KEYS: [&str; 3] = ["price", "pct", "portion"];

/// Parses one message body.
pub fn parse_canonical(body: &[u8], ctx: &MessageContext<'_>) -> Result<Signal, MessageError> {
    canonical_signal(&json_object(body)?, ctx)
}

/// True when an object looks like a canonical signal (it has `mode`, `target` or `order`), for
/// sources that accept several formats.
pub fn looks_like_canonical(obj: &Map<String, Value>) -> bool {
    obj.contains_key("mode") || obj.contains_key("target") || obj.contains_key("order")
}

/// Reads one signal object.
pub fn canonical_signal(
    obj: &Map<String, Value>,
    ctx: &MessageContext<'_>,
) -> Result<Signal, MessageError> {
    only_keys("", obj, &TOP_KEYS)?;
    if let Some(v) = number("v", obj.get("v"))?
        && v != Decimal::ONE
    {
        return Err(MessageError::unsupported(
            "v",
            v.to_string(),
            "this engine reads version 1",
        ));
    }
    let symbol = symbol(ctx, "symbol", obj.get("symbol"))?;
    text("venue", obj.get("venue"))?;
    if let Some(tags) = obj.get("tags")
        && !tags.is_object()
        && !tags.is_null()
    {
        return Err(MessageError::invalid("tags", "must be an object"));
    }
    let emitted_at = time(obj.get("ts"))?;
    check_lag(obj, ctx, emitted_at)?;
    check_age(ctx, emitted_at)?;
    let reference_price = price("price", obj.get("price"))?;
    let confidence = fraction("confidence", obj.get("confidence"))?;
    let intent = read_intent(obj, confidence, reference_price)?;
    let raw = Value::Object(obj.clone());
    let body_id = text("id", obj.get("id"))?;
    let (idempotency_key, id) = keys(ctx, body_id, &raw, emitted_at.is_some(), "cn")?;
    Ok(Signal {
        id,
        source: ctx.source.clone(),
        symbol,
        intent,
        emitted_at,
        received_at: ctx.now,
        idempotency_key,
        raw,
    })
}

/// `max_lag_s`: the sender's own staleness limit, which needs `ts`.
fn check_lag(
    obj: &Map<String, Value>,
    ctx: &MessageContext<'_>,
    emitted_at: Option<Timestamp>,
) -> Result<(), MessageError> {
    if let Some(lag) = number("max_lag_s", obj.get("max_lag_s"))? {
        if lag <= Decimal::ZERO {
            return Err(MessageError::invalid(
                "max_lag_s",
                format!("{lag} must be above zero"),
            ));
        }
        if emitted_at.is_none() {
            return Err(MessageError::invalid("max_lag_s", "needs ts"));
        }
        let ms = lag
            .checked_mul(Decimal::from(1000))
            .and_then(|m| i64::try_from(m.trunc()).ok())
            .ok_or_else(|| MessageError::invalid("max_lag_s", "is too large"))?;
        let limited = MessageContext {
            max_age: Some(chrono::TimeDelta::milliseconds(ms)),
            ..ctx.clone()
        };
        check_age(&limited, emitted_at)?;
    }
    Ok(())
}

/// The intent `mode` names: a target (`target`, no protective levels) or an order (`order`).
fn read_intent(
    obj: &Map<String, Value>,
    confidence: Option<Decimal>,
    reference_price: Option<Price>,
) -> Result<Intent, MessageError> {
    let mode = text("mode", obj.get("mode"))?;
    let intent = match (mode, obj.get("target"), obj.get("order")) {
        (Some("target") | None, Some(t), None) => {
            for field in ["stop_loss", "take_profits"] {
                if obj.get(field).is_some_and(|v| !v.is_null()) {
                    return Err(MessageError::unsupported(
                        field,
                        "set",
                        "a target carries no protective levels; send an order (mode delta)",
                    ));
                }
            }
            Intent::Target(target(t, reference_price)?)
        }
        (Some("delta") | None, None, Some(o)) => {
            Intent::Order(order(o, obj, confidence, reference_price)?)
        }
        (Some(m), _, _) if m != "target" && m != "delta" => {
            return Err(MessageError::invalid(
                "mode",
                format!("{m:?} is not target or delta"),
            ));
        }
        (Some("target"), _, _) => return Err(MessageError::missing("target")),
        (Some(_), _, _) => return Err(MessageError::missing("order")),
        (None, _, _) => {
            return Err(MessageError::invalid("mode", "give one of target or order"));
        }
    };
    Ok(intent)
}

fn only_keys(prefix: &str, obj: &Map<String, Value>, allowed: &[&str]) -> Result<(), MessageError> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(MessageError::invalid(
            format!("{prefix}{}", k.chars().take(64).collect::<String>()),
            format!("unknown field (expected one of {})", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

fn object<'v>(field: &str, v: &'v Value) -> Result<&'v Map<String, Value>, MessageError> {
    v.as_object()
        .ok_or_else(|| MessageError::invalid(field, "must be an object"))
}

/// `ts`: RFC 3339 text, or an epoch number (≥ 10¹¹ is milliseconds, below is seconds).
fn time(v: Option<&Value>) -> Result<Option<Timestamp>, MessageError> {
    let shown = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(MessageError::invalid("ts", "must be a text or a number")),
    };
    crate::tradingview::parse_time(&shown)
        .map(Some)
        .ok_or_else(|| {
            MessageError::invalid("ts", "must be RFC 3339 or epoch seconds / milliseconds")
        })
}

fn target(v: &Value, reference_price: Option<Price>) -> Result<TargetIntent, MessageError> {
    let t = object("target", v)?;
    only_keys("target.", t, &TARGET_KEYS)?;
    unit("target.unit", t.get("unit"), &["equity_fraction"])?;
    let side =
        text("target.side", t.get("side"))?.ok_or_else(|| MessageError::missing("target.side"))?;
    let exposure = number("target.exposure", t.get("exposure"))?;
    let depth = match (side, exposure) {
        ("flat", None) => Decimal::ZERO,
        ("flat", Some(e)) if e.is_zero() => Decimal::ZERO,
        ("flat", Some(_)) => {
            return Err(MessageError::invalid(
                "target.exposure",
                "must be 0 or absent for flat",
            ));
        }
        (_, None) => return Err(MessageError::missing("target.exposure")),
        (_, Some(e)) if e < Decimal::ZERO => {
            return Err(MessageError::invalid(
                "target.exposure",
                format!("{e} must not be negative (the side gives the sign)"),
            ));
        }
        ("long", Some(e)) => e,
        ("short", Some(e)) => -e,
        (other, _) => {
            return Err(MessageError::invalid(
                "target.side",
                format!("{other:?} is not long, short or flat"),
            ));
        }
    };
    let leverage = number("target.leverage", t.get("leverage"))?;
    // Venues take leverage from 1×; a fraction is no venue's leverage (a typo or a template
    // error that would size the target to next to nothing).
    if let Some(l) = leverage
        && l < Decimal::ONE
    {
        return Err(MessageError::invalid(
            "target.leverage",
            format!("{l} must be at least 1"),
        ));
    }
    Ok(TargetIntent {
        depth: crate::round_depth(depth),
        leverage: leverage.filter(|_| !depth.is_zero()),
        reference_price,
    })
}

fn unit(field: &str, v: Option<&Value>, allowed: &[&str]) -> Result<(), MessageError> {
    let Some(u) = text(field, v)? else {
        return Ok(());
    };
    if allowed.contains(&u) {
        return Ok(());
    }
    let known = [
        "equity_fraction",
        "quote",
        "base",
        "contracts",
        "risk_pct",
        "ptn_leverage",
    ];
    if known.contains(&u) {
        Err(MessageError::unsupported(
            field,
            u,
            format!("use one of {}", allowed.join(", ")),
        ))
    } else {
        Err(MessageError::invalid(field, format!("{u:?} is not a unit")))
    }
}

fn order(
    v: &Value,
    obj: &Map<String, Value>,
    confidence: Option<Decimal>,
    reference_price: Option<Price>,
) -> Result<OrderIntent, MessageError> {
    let o = object("order", v)?;
    only_keys("order.", o, &ORDER_KEYS)?;
    market_only(o)?;
    let action = order_action(o)?;
    let size = order_size(o)?;
    if matches!(action, OrderAction::Buy | OrderAction::Sell) && size.is_none() {
        return Err(MessageError::missing("order.size"));
    }
    let stop_loss = match obj.get("stop_loss") {
        None | Some(Value::Null) => None,
        Some(v) => protective("stop_loss", v)?,
    };
    let take_profit = take_profit(obj)?;
    Ok(OrderIntent {
        action,
        size,
        confidence,
        stop_loss,
        take_profit,
        leverage: None,
        reference_price,
    })
}

/// Market orders only: a limit type or price is refused.
fn market_only(o: &Map<String, Value>) -> Result<(), MessageError> {
    match text("order.type", o.get("type"))? {
        None | Some("market") => {}
        Some("limit") => {
            return Err(MessageError::unsupported(
                "order.type",
                "limit",
                "the engine moves positions with market orders",
            ));
        }
        Some(other) => {
            return Err(MessageError::invalid(
                "order.type",
                format!("{other:?} is not market"),
            ));
        }
    }
    if o.get("limit_price").is_some_and(|v| !v.is_null()) {
        return Err(MessageError::unsupported(
            "order.limit_price",
            "set",
            "market orders only",
        ));
    }
    Ok(())
}

/// `order.action` (and `order.side` for an open): only what moves a sleeve without flipping it.
fn order_action(o: &Map<String, Value>) -> Result<OrderAction, MessageError> {
    let action_text = text("order.action", o.get("action"))?
        .ok_or_else(|| MessageError::missing("order.action"))?;
    let action = match action_text {
        "open" | "increase" => {
            let side = text("order.side", o.get("side"))?
                .ok_or_else(|| MessageError::missing("order.side"))?;
            match side {
                "buy" | "long" => OrderAction::Buy,
                "sell" | "short" => OrderAction::Sell,
                other => {
                    return Err(MessageError::invalid(
                        "order.side",
                        format!("{other:?} is not buy, sell, long or short"),
                    ));
                }
            }
        }
        "close" => OrderAction::Close,
        "hold" => OrderAction::Hold,
        "reduce" => {
            return Err(MessageError::unsupported(
                "order.action",
                "reduce",
                "into a flat sleeve it would open the other side; send close, or an opposite \
                 open with a size",
            ));
        }
        "reverse" | "cancel" => {
            return Err(MessageError::unsupported(
                "order.action",
                action_text,
                "an order never flips a sleeve and signals leave no resting orders",
            ));
        }
        other => {
            return Err(MessageError::invalid(
                "order.action",
                format!("{other:?} is not open, increase, close or hold"),
            ));
        }
    };
    Ok(action)
}

/// `order.size` in its `order.unit` (a fraction of equity when no unit is given).
fn order_size(o: &Map<String, Value>) -> Result<Option<OrderSize>, MessageError> {
    let size = match number("order.size", o.get("size"))? {
        None => None,
        Some(s) if s <= Decimal::ZERO => {
            return Err(MessageError::invalid(
                "order.size",
                format!("{s} must be above zero"),
            ));
        }
        Some(s) => {
            unit(
                "order.unit",
                o.get("unit"),
                &["equity_fraction", "quote", "base"],
            )?;
            Some(match text("order.unit", o.get("unit"))? {
                Some("quote") => OrderSize::Quote(s),
                Some("base") => OrderSize::Base(s),
                _ => OrderSize::AccountFraction(s),
            })
        }
    };
    Ok(size)
}

/// `take_profits`: at most one level.
fn take_profit(obj: &Map<String, Value>) -> Result<Option<ProtectiveLevel>, MessageError> {
    let take_profit = match obj.get("take_profits") {
        None | Some(Value::Null) => None,
        Some(Value::Array(levels)) => match levels.as_slice() {
            [] => None,
            [one] => protective("take_profits[0]", one)?,
            _ => {
                return Err(MessageError::unsupported(
                    "take_profits",
                    format!("{} levels", levels.len()),
                    "one take-profit level per sleeve",
                ));
            }
        },
        Some(_) => return Err(MessageError::invalid("take_profits", "must be an array")),
    };
    Ok(take_profit)
}

fn protective(field: &str, v: &Value) -> Result<Option<ProtectiveLevel>, MessageError> {
    let l = object(field, v)?;
    only_keys(&format!("{field}."), l, &LEVEL_KEYS)?;
    if let Some(portion) = number(&format!("{field}.portion"), l.get("portion"))?
        && portion != Decimal::ONE
    {
        return Err(MessageError::unsupported(
            format!("{field}.portion"),
            portion.to_string(),
            "a sleeve closes whole",
        ));
    }
    if let Some(p) = price(&format!("{field}.price"), l.get("price"))? {
        return Ok(Some(ProtectiveLevel::Price(p)));
    }
    let pct_field = format!("{field}.pct");
    match number(&pct_field, l.get("pct"))? {
        None => Err(MessageError::missing(format!("{field}.price"))),
        Some(f) if f <= Decimal::ZERO || f >= Decimal::ONE => Err(MessageError::invalid(
            pct_field,
            format!("{f} must be a fraction above 0 and below 1"),
        )),
        Some(f) => Ok(Some(ProtectiveLevel::Fraction(f))),
    }
}

#[cfg(test)]
#[path = "canonical_tests.rs"]
mod tests;
