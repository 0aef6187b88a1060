//! Amount signals: the `TradingSignal` that etovityusha/algo_trading_platform's producers publish
//! to the RabbitMQ queue `trading_signals`, read as an order intent, so those producers work
//! unchanged (`format = "seed004"` in a RabbitMQ source).
//!
//! ```json
//! {"symbol":"BTCUSDT","amount":"100","take_profit":3.2,"stop_loss":1.9,"action":1,"source":"trand"}
//! ```
//!
//! - `amount` is the quote (USDT) notional: [`OrderSize::Quote`]. Required by the producers'
//!   model whatever the action; it must be above zero for a BUY.
//! - `take_profit` / `stop_loss` are **percent** (3.2 = 3.2 %), optional: they become fractions
//!   of entry (0.032). Zero or null means none, so the source's `default_stop_loss` /
//!   `default_take_profit` apply, as that platform's consumer falls back to 2 % / 3 %.
//! - `action`: 1 = BUY, 2 = SELL, 3 = NOTHING, as the integer the producers' JSON dump writes, or
//!   the name in any case; absent means BUY (the producers' model default).
//! - BUY → Buy. **SELL → Close**: the platform trades spot and a SELL sells the whole open BUY of
//!   that symbol and source, or does nothing when there is none; it never opens a short.
//!   NOTHING → Hold (recorded, changes nothing; it keeps the source from going stale).
//! - `source` (the strategy that owns the position) is required and kept in the raw payload.
//!
//! The message has no id and no time; see [`crate::message`] for the key it gets.

use rust_decimal::Decimal;
use serde_json::{Map, Value};
use tradeengine_model::{Intent, OrderAction, OrderIntent, OrderSize, ProtectiveLevel, Signal};

use crate::message::{MessageContext, MessageError, json_object, keys, number, symbol, text};

/// Parses one message body.
pub fn parse_amount_signal(body: &[u8], ctx: &MessageContext<'_>) -> Result<Signal, MessageError> {
    amount_signal(&json_object(body)?, ctx)
}

/// Reads one message object.
pub fn amount_signal(
    obj: &Map<String, Value>,
    ctx: &MessageContext<'_>,
) -> Result<Signal, MessageError> {
    let symbol = symbol(ctx, "symbol", obj.get("symbol"))?;
    text("source", obj.get("source"))?.ok_or_else(|| MessageError::missing("source"))?;
    let action = action(obj.get("action"))?;
    let amount =
        number("amount", obj.get("amount"))?.ok_or_else(|| MessageError::missing("amount"))?;
    if amount < Decimal::ZERO || (action == OrderAction::Buy && amount.is_zero()) {
        return Err(MessageError::invalid(
            "amount",
            format!("{amount} must be above zero"),
        ));
    }
    let take_profit = percent(obj, "take_profit")?;
    let stop_loss = percent(obj, "stop_loss")?;
    let raw = Value::Object(obj.clone());
    let (idempotency_key, id) = keys(ctx, None, &raw, false, "s4")?;
    Ok(Signal {
        id,
        source: ctx.source.clone(),
        symbol,
        intent: Intent::Order(OrderIntent {
            action,
            size: (action == OrderAction::Buy).then_some(OrderSize::Quote(amount)),
            confidence: None,
            stop_loss,
            take_profit,
            leverage: None,
            reference_price: None,
        }),
        emitted_at: None,
        received_at: ctx.now,
        idempotency_key,
        raw,
    })
}

fn action(v: Option<&Value>) -> Result<OrderAction, MessageError> {
    let bad = |shown: String| {
        MessageError::invalid(
            "action",
            format!("{shown} is not 1 (BUY), 2 (SELL) or 3 (NOTHING)"),
        )
    };
    let code = match v {
        None => return Ok(OrderAction::Buy),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| bad(n.to_string()))?,
        Some(Value::String(s)) => match s.trim().to_ascii_uppercase().as_str() {
            "BUY" | "1" => 1,
            "SELL" | "2" => 2,
            "NOTHING" | "3" => 3,
            _ => return Err(bad(format!("{:?}", s.chars().take(32).collect::<String>()))),
        },
        Some(other) => return Err(bad(other.to_string().chars().take(32).collect())),
    };
    match code {
        1 => Ok(OrderAction::Buy),
        2 => Ok(OrderAction::Close),
        3 => Ok(OrderAction::Hold),
        n => Err(bad(n.to_string())),
    }
}

/// A percent field as a fraction of entry; zero or null is none.
fn percent(obj: &Map<String, Value>, field: &str) -> Result<Option<ProtectiveLevel>, MessageError> {
    let Some(pct) = number(field, obj.get(field))? else {
        return Ok(None);
    };
    if pct.is_zero() {
        return Ok(None);
    }
    if pct < Decimal::ZERO || pct >= Decimal::ONE_HUNDRED {
        return Err(MessageError::invalid(
            field,
            format!("{pct} must be a percent above 0 and below 100"),
        ));
    }
    // pct < 100, so dividing by 100 cannot overflow.
    let fraction = pct.checked_div(Decimal::ONE_HUNDRED).unwrap_or_default();
    Ok(Some(ProtectiveLevel::Fraction(fraction)))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use rust_decimal_macros::dec;
    use serde_json::json;
    use tradeengine_model::SourceId;

    use super::*;
    use crate::SymbolMap;

    fn parse(v: &Value) -> Result<Signal, MessageError> {
        let source = SourceId::new("algo").unwrap();
        let map = SymbolMap::new([("BTCUSDT", "BTCUSDT")]).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        parse_amount_signal(
            v.to_string().as_bytes(),
            &MessageContext::new(&source, &map, now),
        )
    }

    fn order(s: &Signal) -> OrderIntent {
        match &s.intent {
            Intent::Order(o) => o.clone(),
            Intent::Target(_) => panic!("not an order"),
        }
    }

    #[test]
    fn the_seed_example_is_a_quote_sized_buy_with_percent_levels() {
        let s = parse(&json!({"symbol":"BTCUSDT","amount":"100","take_profit":3.2,
                              "stop_loss":1.9,"action":1,"source":"trand"}))
        .unwrap();
        let o = order(&s);
        assert_eq!(o.action, OrderAction::Buy);
        assert_eq!(o.size, Some(OrderSize::Quote(dec!(100))));
        assert_eq!(o.take_profit, Some(ProtectiveLevel::Fraction(dec!(0.032))));
        assert_eq!(o.stop_loss, Some(ProtectiveLevel::Fraction(dec!(0.019))));
        assert_eq!(o.confidence, None);
        assert!(
            s.idempotency_key.starts_with("body:"),
            "{}",
            s.idempotency_key
        );
    }

    #[test]
    fn sell_closes_nothing_holds_and_names_are_accepted() {
        for (action, want) in [
            (json!(2), OrderAction::Close),
            (json!("SELL"), OrderAction::Close),
            (json!(3), OrderAction::Hold),
            (json!("nothing"), OrderAction::Hold),
            (json!("BUY"), OrderAction::Buy),
        ] {
            let s = parse(&json!({"symbol":"BTCUSDT","amount":"100","action":action,"source":"t"}))
                .unwrap();
            let o = order(&s);
            assert_eq!(o.action, want, "{action}");
            assert_eq!(o.size.is_some(), want == OrderAction::Buy);
        }
        // algo_trading_platform's model default action is BUY.
        let s = parse(&json!({"symbol":"BTCUSDT","amount":"50","source":"t"})).unwrap();
        assert_eq!(order(&s).action, OrderAction::Buy);
    }

    #[test]
    fn zero_or_null_levels_leave_the_defaults_to_the_source() {
        let s = parse(&json!({"symbol":"BTCUSDT","amount":100,"take_profit":null,
                              "stop_loss":0,"action":1,"source":"t"}))
        .unwrap();
        let o = order(&s);
        assert_eq!((o.stop_loss, o.take_profit), (None, None));
    }

    #[test]
    fn refusals_name_the_field() {
        let base = json!({"symbol":"BTCUSDT","amount":"100","action":1,"source":"t"});
        let cases: Vec<(&str, Value, &str)> = vec![
            ("symbol", json!("XYZ"), "invalid"),
            ("symbol", Value::Null, "missing"),
            ("amount", json!("-1"), "invalid"),
            ("amount", json!(0), "invalid"),
            ("amount", json!("lots"), "invalid"),
            ("amount", Value::Null, "missing"),
            ("action", json!(4), "invalid"),
            ("action", json!("HODL"), "invalid"),
            ("action", json!(-1), "invalid"),
            ("take_profit", json!(150), "invalid"),
            ("stop_loss", json!(-2), "invalid"),
            ("source", Value::Null, "missing"),
        ];
        for (field, value, kind) in cases {
            let mut v = base.clone();
            if value.is_null() {
                v.as_object_mut().unwrap().remove(field);
            } else {
                v[field] = value.clone();
            }
            let e = parse(&v).unwrap_err();
            assert_eq!(
                (e.field(), e.kind()),
                (Some(field), kind),
                "{field}={value}: {e}"
            );
        }
    }

    #[test]
    fn a_sell_of_zero_amount_is_fine() {
        let s = parse(&json!({"symbol":"BTCUSDT","amount":"0","action":2,"source":"t"})).unwrap();
        assert_eq!(order(&s).action, OrderAction::Close);
    }
}
