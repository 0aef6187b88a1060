//! Strategy signals: the `contracts/signal.py` schema PetroSa2/petrosa-tradeengine's producers
//! publish on NATS (`signals.trading.<strategy>`) and post to `POST /trade`, read as an order
//! intent, so those producers work unchanged (`format = "petrosa"`).
//!
//! Schema checks follow petrosa-tradeengine's model, so a message petrosa-tradeengine would refuse
//! is refused here too, naming the field: the required fields (`strategy_id`, `symbol`, `action`,
//! `confidence`, `price`, `quantity`, `current_price`, `source`, `strategy`), `action` in
//! `buy | sell | hold | close`, fractions (`confidence`, `model_confidence`,
//! `position_size_pct`, `stop_loss_pct`, `take_profit_pct`) in 0..=1, and the enumerations
//! (`strategy_mode`, `order_type`, `time_in_force`, `conditional_direction`).
//!
//! Mapping to [`OrderIntent`]:
//! - `action` → Buy / Sell / Hold / Close. `meta.simulate = true` (petrosa-tradeengine's "track
//!   locally, send nothing") becomes Hold: recorded, changes nothing.
//! - size: `position_size_pct > 0` → [`OrderSize::AccountFraction`], multiplied by
//!   `confidence` (by `min(confidence, 0.8)` for `llm_reasoning`) as petrosa-tradeengine's strategy
//!   paths do when [`StrategySignalOptions::scale_size_by_confidence`] is set; else `quantity > 0`
//!   → [`OrderSize::Base`]; else `quote_quantity > 0` → [`OrderSize::Quote`]; else none (an open
//!   is then refused by the sleeve rules; petrosa-tradeengine would have sent its minimum lot).
//! - `stop_loss` / `take_profit` (prices) win over `stop_loss_pct` / `take_profit_pct`
//!   (fractions of entry). Zero means "none", as in petrosa-tradeengine's truthiness checks.
//! - reference price: `current_price`, else `price` (when above zero).
//! - `order_type` other than `market` is refused as unsupported: the engine trades to targets
//!   with market orders, and acting on a stop or take-profit order at once would be wrong.
//! - `price` and `current_price` must be above zero. The sender time is `timestamp`
//!   ([`crate::message::sender_time`]); a timestamp that is present but unreadable, outside
//!   2000–2100, or more than [`crate::message::MAX_FUTURE_SKEW`] ahead is refused. The body id is
//!   `signal_id` (else `id`) with the symbol, as petrosa-tradeengine's lock fingerprint.

use rust_decimal::Decimal;
use serde_json::{Map, Value};
use tradeengine_model::{Intent, OrderAction, OrderIntent, OrderSize, ProtectiveLevel, Signal};

use crate::message::{
    MessageContext, MessageError, check_age, fraction, json_object, keys, number, price,
    required_number, strict_sender_time, symbol, text,
};

/// Choices petrosa-tradeengine made differently per deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrategySignalOptions {
    /// Scale `position_size_pct` by confidence, as petrosa-tradeengine's strategy paths do.
    pub scale_size_by_confidence: bool,
}

impl Default for StrategySignalOptions {
    fn default() -> Self {
        Self {
            scale_size_by_confidence: true,
        }
    }
}

const ACTIONS: [&str; 4] = ["buy", "sell", "hold", "close"];
const MODES: [&str; 3] = ["deterministic", "ml_light", "llm_reasoning"];
const ORDER_TYPES: [&str; 8] = [
    "market",
    "limit",
    "stop",
    "stop_limit",
    "take_profit",
    "take_profit_limit",
    "conditional_limit",
    "conditional_stop",
];
const TIME_IN_FORCE: [&str; 4] = ["GTC", "IOC", "FOK", "GTX"];
/// petrosa-tradeengine's cap on confidence in size scaling on the LLM path.
const LLM_SCALE_CAP: Decimal = Decimal::from_parts(8, 0, 0, false, 1);

/// Parses one message body.
pub fn parse_strategy_signal(
    body: &[u8],
    ctx: &MessageContext<'_>,
    options: &StrategySignalOptions,
) -> Result<Signal, MessageError> {
    strategy_signal(&json_object(body)?, ctx, options)
}

/// True when an object looks like a strategy signal (it has `strategy_id` and `action`), for
/// sources that accept several formats.
pub fn looks_like_strategy_signal(obj: &Map<String, Value>) -> bool {
    obj.contains_key("strategy_id") && obj.contains_key("action")
}

/// Reads one signal object (a message body, or one element of `POST /trade`'s `signals`).
pub fn strategy_signal(
    obj: &Map<String, Value>,
    ctx: &MessageContext<'_>,
    options: &StrategySignalOptions,
) -> Result<Signal, MessageError> {
    for field in ["strategy_id", "source", "strategy"] {
        text(field, obj.get(field))?.ok_or_else(|| MessageError::missing(field))?;
    }
    let symbol = symbol(ctx, "symbol", obj.get("symbol"))?;
    let action = read_action(obj)?;
    let confidence = fraction("confidence", obj.get("confidence"))?
        .ok_or_else(|| MessageError::missing("confidence"))?;
    fraction("model_confidence", obj.get("model_confidence"))?;
    let signal_price = positive("price", required_number("price", obj.get("price"))?)?;
    let quantity = required_number("quantity", obj.get("quantity"))?;
    let current_price = positive(
        "current_price",
        required_number("current_price", obj.get("current_price"))?,
    )?;
    if quantity < Decimal::ZERO {
        return Err(MessageError::invalid(
            "quantity",
            format!("{quantity} must not be negative"),
        ));
    }
    let (mode, simulate) = order_options(obj)?;
    // A simulated signal is recorded but moves nothing.
    let action = if simulate { OrderAction::Hold } else { action };

    let size = size(obj, quantity, confidence, mode, options)?;
    let stop_loss = level(obj, "stop_loss", "stop_loss_pct")?;
    let take_profit = level(obj, "take_profit", "take_profit_pct")?;
    let reference_price = [current_price, signal_price]
        .into_iter()
        .find(|p| *p > Decimal::ZERO)
        .and_then(|p| tradeengine_model::Price::new(p).ok());

    let emitted_at = strict_sender_time("timestamp", obj.get("timestamp"))?;
    check_age(ctx, emitted_at)?;
    let body_id = text("signal_id", obj.get("signal_id"))?
        .or(text("id", obj.get("id"))?)
        .map(|id| format!("{id}:{symbol}"));
    let raw = Value::Object(obj.clone());
    let (idempotency_key, id) = keys(ctx, body_id.as_deref(), &raw, emitted_at.is_some(), "pt")?;
    Ok(Signal {
        id,
        source: ctx.source.clone(),
        symbol,
        intent: Intent::Order(OrderIntent {
            action,
            size,
            confidence: Some(confidence),
            stop_loss,
            take_profit,
            leverage: None,
            reference_price,
        }),
        emitted_at,
        received_at: ctx.now,
        idempotency_key,
        raw,
    })
}

/// `action`: buy, sell, hold or close.
fn read_action(obj: &Map<String, Value>) -> Result<OrderAction, MessageError> {
    let action_text =
        text("action", obj.get("action"))?.ok_or_else(|| MessageError::missing("action"))?;
    Ok(match action_text {
        "buy" => OrderAction::Buy,
        "sell" => OrderAction::Sell,
        "hold" => OrderAction::Hold,
        "close" => OrderAction::Close,
        other => {
            return Err(MessageError::invalid(
                "action",
                format!("{other:?} is not one of {}", ACTIONS.join(", ")),
            ));
        }
    })
}

/// The order options petrosa-tradeengine's model carries, checked: the strategy mode (returned),
/// market orders only, `meta` an object, and whether `meta.simulate` is set (returned).
fn order_options(obj: &Map<String, Value>) -> Result<(&str, bool), MessageError> {
    let mode = one_of("strategy_mode", obj, &MODES, "deterministic")?;
    let order_type = one_of("order_type", obj, &ORDER_TYPES, "market")?;
    one_of("time_in_force", obj, &TIME_IN_FORCE, "GTC")?;
    one_of("conditional_direction", obj, &["above", "below"], "above")?;
    if order_type != "market" {
        return Err(MessageError::unsupported(
            "order_type",
            order_type,
            "the engine moves positions with market orders; stop, take-profit, limit and \
             conditional orders are not taken from signals",
        ));
    }
    if let Some(meta) = obj.get("meta")
        && !meta.is_object()
        && !meta.is_null()
    {
        return Err(MessageError::invalid("meta", "must be an object"));
    }
    let simulate = obj
        .get("meta")
        .and_then(|m| m.get("simulate"))
        .is_some_and(|v| v == &Value::Bool(true));
    Ok((mode, simulate))
}

/// A price petrosa-tradeengine requires: it must be above zero (a negative or zero price is a
/// broken producer, not a market).
fn positive(field: &str, v: Decimal) -> Result<Decimal, MessageError> {
    if v > Decimal::ZERO {
        Ok(v)
    } else {
        Err(MessageError::invalid(
            field,
            format!("{v} must be above zero"),
        ))
    }
}

/// An enumerated text field, or its default when absent.
fn one_of<'v>(
    field: &str,
    obj: &'v Map<String, Value>,
    allowed: &[&'static str],
    default: &'static str,
) -> Result<&'v str, MessageError> {
    match text(field, obj.get(field))? {
        None => Ok(default),
        Some(v) if allowed.contains(&v) => Ok(v),
        Some(v) => Err(MessageError::invalid(
            field,
            format!("{v:?} is not one of {}", allowed.join(", ")),
        )),
    }
}

fn size(
    obj: &Map<String, Value>,
    quantity: Decimal,
    confidence: Decimal,
    mode: &str,
    options: &StrategySignalOptions,
) -> Result<Option<OrderSize>, MessageError> {
    let pct = fraction("position_size_pct", obj.get("position_size_pct"))?;
    let quote = number("quote_quantity", obj.get("quote_quantity"))?;
    if let Some(pct) = pct.filter(|p| *p > Decimal::ZERO) {
        let scale = match (options.scale_size_by_confidence, mode) {
            (false, _) => Decimal::ONE,
            (true, "llm_reasoning") => confidence.min(LLM_SCALE_CAP),
            (true, _) => confidence,
        };
        // Both factors are in 0..=1, so the product cannot overflow.
        let fraction = crate::round_depth(pct.checked_mul(scale).unwrap_or(pct));
        return Ok(Some(OrderSize::AccountFraction(fraction)));
    }
    if quantity > Decimal::ZERO {
        return Ok(Some(OrderSize::Base(quantity)));
    }
    match quote {
        Some(q) if q < Decimal::ZERO => Err(MessageError::invalid(
            "quote_quantity",
            format!("{q} must not be negative"),
        )),
        Some(q) if q > Decimal::ZERO => Ok(Some(OrderSize::Quote(q))),
        _ => Ok(None),
    }
}

/// A protective level: the absolute price field wins over the fraction field; zero is none.
fn level(
    obj: &Map<String, Value>,
    price_field: &str,
    pct_field: &str,
) -> Result<Option<ProtectiveLevel>, MessageError> {
    let fraction_value = fraction(pct_field, obj.get(pct_field))?;
    match number(price_field, obj.get(price_field))? {
        Some(p) if p < Decimal::ZERO => {
            return Err(MessageError::invalid(
                price_field,
                format!("{p} must not be negative"),
            ));
        }
        Some(p) if p > Decimal::ZERO => {
            return Ok(price(price_field, obj.get(price_field))?.map(ProtectiveLevel::Price));
        }
        _ => {}
    }
    Ok(fraction_value
        .filter(|f| *f > Decimal::ZERO)
        .map(ProtectiveLevel::Fraction))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone, Utc};
    use rust_decimal_macros::dec;
    use serde_json::json;
    use tradeengine_model::{Price, SourceId};

    use super::*;
    use crate::SymbolMap;

    fn example() -> Value {
        // The example petrosa-tradeengine's TA bot publishes.
        json!({"strategy_id":"volume_surge_breakout","signal_id":"b3f0","symbol":"BTCUSDT",
               "action":"buy","confidence":0.85,"price":50000.0,"quantity":0.001,
               "current_price":50000.0,"source":"ta-bot","strategy":"volume_surge_breakout",
               "timeframe":"15m","stop_loss":49000.0,"take_profit":51500.0,
               "position_size_pct":0.05,"meta":{"simulate":false},
               "timestamp":"2026-08-21T12:00:00Z"})
    }

    fn parse(v: &Value) -> Result<Signal, MessageError> {
        let source = SourceId::new("petrosa").unwrap();
        let map = SymbolMap::new([("BTCUSDT", "BTCUSDT")]).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 8, 21, 12, 0, 30).unwrap();
        let ctx = MessageContext::new(&source, &map, now);
        parse_strategy_signal(
            v.to_string().as_bytes(),
            &ctx,
            &StrategySignalOptions::default(),
        )
    }

    fn order(s: &Signal) -> &OrderIntent {
        match &s.intent {
            Intent::Order(o) => o,
            Intent::Target(_) => panic!("not an order"),
        }
    }

    #[test]
    fn the_seed_example_becomes_a_scaled_buy_with_price_levels() {
        let s = parse(&example()).unwrap();
        let o = order(&s);
        assert_eq!(o.action, OrderAction::Buy);
        // position_size_pct 0.05 × confidence 0.85, as petrosa-tradeengine's deterministic path
        // sizes.
        assert_eq!(o.size, Some(OrderSize::AccountFraction(dec!(0.0425))));
        assert_eq!(o.confidence, Some(dec!(0.85)));
        assert_eq!(
            o.stop_loss,
            Some(ProtectiveLevel::Price(Price::new(dec!(49000)).unwrap()))
        );
        assert_eq!(
            o.take_profit,
            Some(ProtectiveLevel::Price(Price::new(dec!(51500)).unwrap()))
        );
        assert_eq!(o.reference_price.map(Price::get), Some(dec!(50000)));
        assert_eq!(s.idempotency_key, "id:b3f0:BTCUSDT");
        assert_eq!(
            s.emitted_at,
            Some(Utc.with_ymd_and_hms(2026, 8, 21, 12, 0, 0).unwrap())
        );
        assert_eq!(s.raw["source"], "ta-bot");
    }

    #[test]
    fn size_falls_back_to_quantity_then_quote() {
        let mut v = example();
        v.as_object_mut().unwrap().remove("position_size_pct");
        assert_eq!(
            order(&parse(&v).unwrap()).size,
            Some(OrderSize::Base(dec!(0.001)))
        );
        v["quantity"] = json!(0);
        v["quote_quantity"] = json!(100);
        assert_eq!(
            order(&parse(&v).unwrap()).size,
            Some(OrderSize::Quote(dec!(100)))
        );
        v["quote_quantity"] = Value::Null;
        assert_eq!(order(&parse(&v).unwrap()).size, None);
    }

    #[test]
    fn llm_path_caps_the_scale_and_fractions_become_levels() {
        let mut v = example();
        v["strategy_mode"] = json!("llm_reasoning");
        v["confidence"] = json!(0.95);
        v["stop_loss"] = json!(0);
        v["stop_loss_pct"] = json!(0.02);
        v["take_profit"] = Value::Null;
        v["take_profit_pct"] = json!(0.05);
        let o = parse(&v).unwrap();
        let o = order(&o);
        assert_eq!(o.size, Some(OrderSize::AccountFraction(dec!(0.04))));
        assert_eq!(o.stop_loss, Some(ProtectiveLevel::Fraction(dec!(0.02))));
        assert_eq!(o.take_profit, Some(ProtectiveLevel::Fraction(dec!(0.05))));
    }

    #[test]
    fn simulate_and_hold_change_nothing_close_closes() {
        let mut v = example();
        v["meta"] = json!({"simulate": true});
        assert_eq!(order(&parse(&v).unwrap()).action, OrderAction::Hold);
        let mut v = example();
        v["action"] = json!("close");
        assert_eq!(order(&parse(&v).unwrap()).action, OrderAction::Close);
    }

    #[test]
    fn refusals_name_the_field() {
        let cases: Vec<(&str, Value, &str)> = vec![
            ("strategy_id", Value::Null, "missing"),
            ("action", json!("BUY"), "invalid"),
            ("confidence", json!(1.2), "invalid"),
            ("confidence", Value::Null, "missing"),
            ("position_size_pct", json!(2), "invalid"),
            ("order_type", json!("stop"), "unsupported"),
            ("order_type", json!("bogus"), "invalid"),
            ("time_in_force", json!("DAY"), "invalid"),
            ("symbol", json!("DOGEUSDT"), "invalid"),
            ("price", json!("abc"), "invalid"),
            ("quantity", json!(-1), "invalid"),
            ("stop_loss", json!(-5), "invalid"),
            ("source", json!(7), "invalid"),
        ];
        for (field, value, kind) in cases {
            let mut v = example();
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
    fn stale_signals_are_refused_when_a_limit_is_set() {
        let source = SourceId::new("petrosa").unwrap();
        let map = SymbolMap::new([("BTCUSDT", "BTCUSDT")]).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 8, 21, 12, 10, 0).unwrap();
        let mut ctx = MessageContext::new(&source, &map, now);
        ctx.max_age = Some(TimeDelta::seconds(300));
        let e = parse_strategy_signal(
            example().to_string().as_bytes(),
            &ctx,
            &StrategySignalOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e.kind(), "stale");
    }

    #[test]
    fn format_detection() {
        assert!(looks_like_strategy_signal(example().as_object().unwrap()));
        assert!(!looks_like_strategy_signal(
            json!({"symbol": "BTCUSDT"}).as_object().unwrap()
        ));
    }
}
