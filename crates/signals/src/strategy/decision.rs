//! The decision schema (Single-Agent-Trader's `TradeAction`), strict parsing of an LLM reply,
//! validation with that bot's business rules, and the conversion to an order intent.
//!
//! Percentages stay percentages (`size_pct` 10 = 10 % of account value) until
//! [`Decision::to_intent`], which divides by 100 into `Decimal` fractions, the unit sleeves use.
//! Parsing goes through the JSON text of each number, never through `f64`.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tradeengine_model::{OrderAction, OrderIntent, OrderSize, Price, ProtectiveLevel};

/// What the decision asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Action {
    Long,
    Short,
    Close,
    Hold,
}

impl Action {
    fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "LONG" => Some(Self::Long),
            "SHORT" => Some(Self::Short),
            "CLOSE" => Some(Self::Close),
            "HOLD" => Some(Self::Hold),
            _ => None,
        }
    }

    fn opens(self) -> bool {
        matches!(self, Self::Long | Self::Short)
    }
}

/// The strategy's own position in the symbol (its sleeve), as the decision makers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    Flat,
    Long,
    Short,
}

/// A validated decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub action: Action,
    /// Percent of account value, 0..=`max_size_pct`; 0 for CLOSE and HOLD.
    pub size_pct: Decimal,
    /// Percent from entry, (0, 20] for LONG/SHORT.
    pub take_profit_pct: Decimal,
    /// Percent from entry, (0, 10] for LONG/SHORT.
    pub stop_loss_pct: Decimal,
    /// 1..=`max_leverage` when given.
    pub leverage: Option<Decimal>,
    /// At most [`RATIONALE_MAX`] characters.
    pub rationale: String,
    pub reduce_only: bool,
}

/// The longest rationale kept (Single-Agent-Trader's limit; the prompt asks for 120).
pub const RATIONALE_MAX: usize = 200;

/// Limits a decision is validated against (configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRules {
    /// Largest size in percent of account value (Single-Agent-Trader's `trading.max_size_pct`: 20).
    pub max_size_pct: Decimal,
    /// Largest leverage a decision may ask for (Single-Agent-Trader: 1..=100; configure lower).
    pub max_leverage: Decimal,
}

impl Default for DecisionRules {
    fn default() -> Self {
        Self {
            max_size_pct: Decimal::from(20),
            max_leverage: Decimal::from(5),
        }
    }
}

/// Why a reply is not a decision. Each names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    #[error("reply is not a JSON object: {0}")]
    NotJson(String),
    #[error("field {0} is missing")]
    Missing(&'static str),
    #[error("field {field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("unknown field {0}")]
    Unknown(String),
}

fn invalid(field: &str, reason: impl Into<String>) -> DecisionError {
    DecisionError::Invalid {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// Strips Markdown code fences and any text outside the outermost braces (as Single-Agent-Trader's
/// `sanitize_llm_output`): models wrap JSON in prose despite being told not to.
pub fn sanitize(reply: &str) -> &str {
    match (reply.find('{'), reply.rfind('}')) {
        (Some(a), Some(b)) if a < b => &reply[a..=b],
        _ => reply.trim(),
    }
}

/// A reply as the model wrote it, fields checked for type only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDecision {
    pub action: Action,
    pub size_pct: Decimal,
    pub take_profit_pct: Decimal,
    pub stop_loss_pct: Decimal,
    pub leverage: Option<Decimal>,
    pub rationale: String,
    pub reduce_only: bool,
}

const FIELDS: [&str; 7] = [
    "action",
    "size_pct",
    "take_profit_pct",
    "stop_loss_pct",
    "leverage",
    "rationale",
    "reduce_only",
];

fn number(v: &Value, field: &'static str) -> Result<Decimal, DecisionError> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return Err(invalid(field, "must be a number")),
    };
    // Exponent forms (1e2) are legal JSON; parse them exactly too.
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|_| invalid(field, format!("{text:?} is not a number")))
}

/// Parses a reply strictly: one JSON object, exactly the schema's fields (unknown ones refused),
/// each of the right type.
pub fn parse_reply(reply: &str) -> Result<RawDecision, DecisionError> {
    let v: Value =
        serde_json::from_str(sanitize(reply)).map_err(|e| DecisionError::NotJson(e.to_string()))?;
    let obj = v
        .as_object()
        .ok_or_else(|| DecisionError::NotJson("not an object".into()))?;
    if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(DecisionError::Unknown(k.clone()));
    }
    let get = |f: &'static str| obj.get(f).filter(|v| !v.is_null());
    let action = get("action")
        .ok_or(DecisionError::Missing("action"))?
        .as_str()
        .and_then(Action::parse)
        .ok_or_else(|| invalid("action", "must be LONG, SHORT, CLOSE or HOLD"))?;
    let size_pct = number(
        get("size_pct").ok_or(DecisionError::Missing("size_pct"))?,
        "size_pct",
    )?;
    let take_profit_pct = number(
        get("take_profit_pct").ok_or(DecisionError::Missing("take_profit_pct"))?,
        "take_profit_pct",
    )?;
    let stop_loss_pct = number(
        get("stop_loss_pct").ok_or(DecisionError::Missing("stop_loss_pct"))?,
        "stop_loss_pct",
    )?;
    let leverage = get("leverage").map(|v| number(v, "leverage")).transpose()?;
    let rationale = match get("rationale") {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(invalid("rationale", "must be a string")),
    };
    let reduce_only = match get("reduce_only") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("reduce_only", "must be true or false")),
    };
    Ok(RawDecision {
        action,
        size_pct,
        take_profit_pct,
        stop_loss_pct,
        leverage,
        rationale,
        reduce_only,
    })
}

/// A validated decision and the adjustments validation made (kept for the audit trail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    pub decision: Decision,
    pub adjustments: Vec<String>,
}

/// Applies Single-Agent-Trader's validator and its single-position rule, in that bot's order:
/// ranges (refused when outside), defaults and caps (adjusted, each adjustment noted), then the
/// business rules. A refusal sends the caller to the fallback rules.
pub fn validate(
    raw: RawDecision,
    rules: &DecisionRules,
    position: Position,
) -> Result<Validated, DecisionError> {
    // 1. Ranges.
    check_ranges(&raw)?;
    let mut notes = Vec::new();
    let RawDecision {
        action,
        size_pct,
        take_profit_pct,
        stop_loss_pct,
        leverage,
        rationale,
        reduce_only,
    } = raw;
    let mut d = Decision {
        action,
        size_pct,
        take_profit_pct,
        stop_loss_pct,
        leverage,
        // 5. Rationale.
        rationale: tidy_rationale(&rationale),
        reduce_only,
    };
    // 2. Single position: no adding, no flipping; CLOSE first.
    if d.action.opens() && position != Position::Flat {
        notes.push(format!(
            "{:?} while {position:?}: only CLOSE or HOLD allowed, held",
            d.action
        ));
        d.action = Action::Hold;
    }
    if d.action == Action::Close && position == Position::Flat {
        notes.push("CLOSE while flat: held".into());
        d.action = Action::Hold;
    }
    // 3. and 4.
    apply_caps(&mut d, rules, &mut notes);
    // 6. Business rules.
    if !d.action.opens() {
        d.size_pct = Decimal::ZERO;
    } else {
        balance_reward_risk(&mut d, &mut notes);
    }
    d.reduce_only = d.reduce_only || d.action == Action::Close;
    Ok(Validated {
        decision: d,
        adjustments: notes,
    })
}

/// Step 1: a value outside its range refuses the decision.
fn check_ranges(raw: &RawDecision) -> Result<(), DecisionError> {
    let hundred = Decimal::ONE_HUNDRED;
    let fifty = Decimal::from(50);
    let size_pct = raw.size_pct;
    if size_pct < Decimal::ZERO || size_pct > hundred {
        return Err(invalid(
            "size_pct",
            format!("{size_pct} is outside 0..=100"),
        ));
    }
    for (name, v) in [
        ("take_profit_pct", raw.take_profit_pct),
        ("stop_loss_pct", raw.stop_loss_pct),
    ] {
        if v < Decimal::ZERO || v > fifty {
            return Err(invalid(name, format!("{v} is outside 0..=50")));
        }
        if raw.action.opens() && v.is_zero() {
            return Err(invalid(name, "must be above 0 for LONG/SHORT"));
        }
    }
    if let Some(l) = raw.leverage
        && (l < Decimal::ONE || l > hundred)
    {
        return Err(invalid("leverage", format!("{l} is outside 1..=100")));
    }
    Ok(())
}

/// Steps 3 and 4: the size's default and cap, then the protective and leverage caps, each
/// adjustment noted.
fn apply_caps(d: &mut Decision, rules: &DecisionRules, notes: &mut Vec<String>) {
    if d.action.opens() && d.size_pct.is_zero() {
        notes.push("size 0 for an open: 5 %".into());
        d.size_pct = Decimal::from(5);
    }
    if d.size_pct > rules.max_size_pct {
        notes.push(format!(
            "size {} % capped at {} %",
            d.size_pct, rules.max_size_pct
        ));
        d.size_pct = rules.max_size_pct;
    }
    if d.take_profit_pct > Decimal::from(20) {
        notes.push(format!(
            "take-profit {} % capped at 20 %",
            d.take_profit_pct
        ));
        d.take_profit_pct = Decimal::from(20);
    }
    if d.stop_loss_pct > Decimal::TEN {
        notes.push(format!("stop-loss {} % capped at 10 %", d.stop_loss_pct));
        d.stop_loss_pct = Decimal::TEN;
    }
    if let Some(l) = d.leverage
        && l > rules.max_leverage
    {
        notes.push(format!("leverage {l} capped at {}", rules.max_leverage));
        d.leverage = Some(rules.max_leverage);
    }
}

/// Step 6 for an open: a reward/risk ratio below 0.5 raises the take-profit, one above 10 raises
/// the stop-loss.
fn balance_reward_risk(d: &mut Decision, notes: &mut Vec<String>) {
    let half = Decimal::new(5, 1);
    let ratio = d.take_profit_pct / d.stop_loss_pct;
    if ratio < half {
        let tp = d.stop_loss_pct.max(Decimal::ONE);
        notes.push(format!("reward/risk {ratio:.2} < 0.5: take-profit {tp} %"));
        d.take_profit_pct = tp.min(Decimal::from(20));
    } else if ratio > Decimal::TEN {
        let sl = (d.take_profit_pct / Decimal::from(5)).max(half);
        notes.push(format!("reward/risk {ratio:.2} > 10: stop-loss {sl} %"));
        d.stop_loss_pct = sl.min(Decimal::TEN);
    }
}

/// Empty → "No rationale provided"; longer than [`RATIONALE_MAX`] characters → cut to 197 plus
/// "…"; control characters (newlines from a chatty model) become spaces.
pub fn tidy_rationale(s: &str) -> String {
    let clean: String = s
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.is_empty() {
        return "No rationale provided".into();
    }
    if clean.chars().count() > RATIONALE_MAX {
        let mut cut: String = clean.chars().take(RATIONALE_MAX - 3).collect();
        cut.push('…');
        return cut;
    }
    clean
}

impl Decision {
    /// The order intent for the strategy's sleeve: LONG/SHORT open with the size as an account
    /// fraction and relative protective levels; CLOSE closes; HOLD changes nothing but is
    /// recorded with its rationale.
    pub fn to_intent(&self, reference_price: Option<Price>) -> OrderIntent {
        let hundred = Decimal::ONE_HUNDRED;
        let frac = |pct: Decimal| crate::round_depth(pct / hundred);
        let (action, opens) = match self.action {
            Action::Long => (OrderAction::Buy, true),
            Action::Short => (OrderAction::Sell, true),
            Action::Close => (OrderAction::Close, false),
            Action::Hold => (OrderAction::Hold, false),
        };
        OrderIntent {
            action,
            size: opens.then(|| OrderSize::AccountFraction(frac(self.size_pct))),
            confidence: None,
            stop_loss: opens.then(|| ProtectiveLevel::Fraction(frac(self.stop_loss_pct))),
            take_profit: opens.then(|| ProtectiveLevel::Fraction(frac(self.take_profit_pct))),
            leverage: if opens { self.leverage } else { None },
            reference_price,
        }
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    const GOOD: &str = r#"{"action":"LONG","size_pct":10,"take_profit_pct":2.5,"stop_loss_pct":1.5,"leverage":3,"rationale":"trend up","reduce_only":false}"#;

    fn ok(reply: &str, pos: Position) -> Validated {
        validate(parse_reply(reply).unwrap(), &DecisionRules::default(), pos).unwrap()
    }

    #[test]
    fn good_reply_parses_exactly() {
        let v = ok(GOOD, Position::Flat);
        assert_eq!(v.decision.action, Action::Long);
        assert_eq!(v.decision.size_pct, dec!(10));
        assert_eq!(v.decision.take_profit_pct, dec!(2.5));
        assert_eq!(v.decision.stop_loss_pct, dec!(1.5));
        assert_eq!(v.decision.leverage, Some(dec!(3)));
        assert!(v.adjustments.is_empty());
        let i = v.decision.to_intent(None);
        assert_eq!(i.action, OrderAction::Buy);
        assert_eq!(i.size, Some(OrderSize::AccountFraction(dec!(0.1))));
        assert_eq!(i.stop_loss, Some(ProtectiveLevel::Fraction(dec!(0.015))));
        assert_eq!(i.take_profit, Some(ProtectiveLevel::Fraction(dec!(0.025))));
    }

    #[test]
    fn fences_and_prose_are_stripped() {
        let wrapped = format!("Sure! ```json\n{GOOD}\n``` hope that helps");
        assert_eq!(ok(&wrapped, Position::Flat).decision.action, Action::Long);
    }

    #[test]
    fn malformed_replies_are_refused_by_field() {
        let cases = [
            ("not json", "JSON"),
            (
                r#"{"action":"BUY","size_pct":1,"take_profit_pct":1,"stop_loss_pct":1}"#,
                "action",
            ),
            (
                r#"{"action":"LONG","take_profit_pct":1,"stop_loss_pct":1}"#,
                "size_pct",
            ),
            (
                r#"{"action":"LONG","size_pct":"ten","take_profit_pct":1,"stop_loss_pct":1}"#,
                "size_pct",
            ),
            (
                r#"{"action":"LONG","size_pct":1,"take_profit_pct":1,"stop_loss_pct":1,"yolo":1}"#,
                "yolo",
            ),
            (
                r#"{"action":"LONG","size_pct":101,"take_profit_pct":1,"stop_loss_pct":1}"#,
                "size_pct",
            ),
            (
                r#"{"action":"LONG","size_pct":5,"take_profit_pct":0,"stop_loss_pct":1}"#,
                "take_profit_pct",
            ),
            (
                r#"{"action":"LONG","size_pct":5,"take_profit_pct":2,"stop_loss_pct":-1}"#,
                "stop_loss_pct",
            ),
            (
                r#"{"action":"LONG","size_pct":5,"take_profit_pct":2,"stop_loss_pct":1,"leverage":0}"#,
                "leverage",
            ),
        ];
        for (reply, field) in cases {
            let r = parse_reply(reply)
                .and_then(|raw| validate(raw, &DecisionRules::default(), Position::Flat));
            let e = r.expect_err(reply).to_string();
            assert!(e.contains(field), "{reply}: {e}");
        }
    }

    #[test]
    fn business_rules_adjust_and_say_so() {
        let v = ok(
            r#"{"action":"SHORT","size_pct":0,"take_profit_pct":30,"stop_loss_pct":0.2,"leverage":50,"rationale":""}"#,
            Position::Flat,
        );
        let d = &v.decision;
        assert_eq!(d.size_pct, dec!(5), "size 0 defaults to 5");
        assert_eq!(d.take_profit_pct, dec!(20), "capped");
        assert_eq!(d.stop_loss_pct, dec!(4), "ratio 100 > 10: SL = TP / 5");
        assert_eq!(d.leverage, Some(dec!(5)));
        assert_eq!(d.rationale, "No rationale provided");
        assert_eq!(v.adjustments.len(), 4, "{:?}", v.adjustments);

        let v = ok(
            r#"{"action":"LONG","size_pct":50,"take_profit_pct":0.5,"stop_loss_pct":3}"#,
            Position::Flat,
        );
        assert_eq!(v.decision.size_pct, dec!(20));
        assert_eq!(
            v.decision.take_profit_pct,
            dec!(3),
            "ratio < 0.5: TP = max(SL, 1)"
        );
    }

    #[test]
    fn single_position_rule_and_close_when_flat() {
        assert_eq!(ok(GOOD, Position::Long).decision.action, Action::Hold);
        assert_eq!(ok(GOOD, Position::Short).decision.size_pct, dec!(0));
        let close = r#"{"action":"CLOSE","size_pct":10,"take_profit_pct":0,"stop_loss_pct":0}"#;
        let v = ok(close, Position::Long);
        assert_eq!(v.decision.action, Action::Close);
        assert_eq!(v.decision.size_pct, dec!(0));
        assert!(v.decision.reduce_only);
        assert_eq!(v.decision.to_intent(None).action, OrderAction::Close);
        assert_eq!(ok(close, Position::Flat).decision.action, Action::Hold);
    }

    #[test]
    fn rationale_is_bounded_and_single_line() {
        let long = "x".repeat(500);
        let t = tidy_rationale(&long);
        assert_eq!(t.chars().count(), 198, "197 kept, plus the ellipsis");
        assert!(t.ends_with('…'));
        assert_eq!(tidy_rationale("a\nb"), "a b");
    }
}
