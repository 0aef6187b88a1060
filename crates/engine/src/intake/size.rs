//! The intake's size bounds: a signal whose size no configured account could carry is refused
//! before it reaches a sleeve (see [`check`]).

use rust_decimal::Decimal;
use tradeengine_core::CoreError;
use tradeengine_model::{Intent, OrderSize, Signal};

use super::IntakeError;
use crate::state::SharedState;

/// A size no account could carry is refused rather than taken and clamped: one
/// fat-fingered signal (`size: 1e9` base units, `exposure: 5`) otherwise became the
/// source's whole sleeve, and the gross-exposure fit then closed every other symbol to
/// make room for it. The bounds are the largest any account allows:
/// - a depth (a target's, or an order sized as a fraction of account value) above 1 (the
///   whole account) or the largest `[risk] max_depth`, whichever is higher;
/// - an order in base or quote units whose value at the engine's mark is above that depth
///   at the largest `max_leverage`, on the largest account value the engine has read
///   (not checked before the engine has a mark and an account value).
pub(crate) async fn check(state: &SharedState, signal: &Signal) -> Result<(), IntakeError> {
    let config = state.config();
    let limits: Vec<_> = config
        .accounts
        .iter()
        .map(|a| config.risk_limits(Some(a)))
        .collect();
    // Not the accounts' caps themselves: a source may ask for more than an account's cap and
    // each account clamps it to its own (a 0.9 with caps of 0.5 and 0.25 is a normal signal).
    // Past the whole account (or past the largest cap, when one is above 1) it is a typo.
    let cap = limits
        .iter()
        .map(|l| l.max_depth)
        .max()
        .unwrap_or_else(|| config.risk_limits(None).max_depth)
        .max(Decimal::ONE);
    let too_big = |field: &'static str, value: Decimal| {
        IntakeError::Core(CoreError::BadInput {
            field,
            value: format!(
                "{} (at most {}: the whole account, or the largest [risk] max_depth when above 1)",
                value.normalize(),
                cap.normalize()
            ),
            rule: "a size past the whole account and every account's risk cap is taken for a typo",
        })
    };
    let order_size = match &signal.intent {
        Intent::Target(t) if t.depth.abs() > cap => return Err(too_big("depth", t.depth)),
        Intent::Target(_) => return Ok(()),
        Intent::Order(o) => match o.size {
            Some(OrderSize::AccountFraction(f)) if f.abs() > cap => {
                return Err(too_big("size", f));
            }
            Some(s) => s,
            None => return Ok(()),
        },
    };
    let mark = state.price(&signal.symbol).await;
    let value = state
        .account_views()
        .await
        .values()
        .filter_map(|v| v.value)
        .max();
    let notional = match (order_size, mark) {
        (OrderSize::Base(q), Some(p)) => q.abs().checked_mul(p.get()),
        (OrderSize::Quote(n), _) => Some(n.abs()),
        _ => return Ok(()),
    };
    let leverage = limits
        .iter()
        .map(|l| l.max_leverage)
        .max()
        .unwrap_or_else(|| config.risk_limits(None).max_leverage);
    let Some(value) = value else { return Ok(()) };
    let bound = cap.checked_mul(leverage).and_then(|x| x.checked_mul(value));
    match (notional, bound) {
        (None, _) => Err(too_big("size", order_size_value(order_size))),
        (Some(n), Some(b)) if n > b => Err(IntakeError::Core(CoreError::BadInput {
            field: "size",
            value: format!(
                "{} worth {} at the mark (at most {} on the largest account: depth {} × max_leverage {})",
                order_size_value(order_size).normalize(),
                n.round_dp(2),
                b.round_dp(2),
                cap.normalize(),
                leverage.normalize()
            ),
            rule: "a size past the whole account and every account's risk cap is taken for a typo",
        })),
        _ => Ok(()),
    }
}

fn order_size_value(size: OrderSize) -> Decimal {
    match size {
        OrderSize::Base(x) | OrderSize::Quote(x) | OrderSize::AccountFraction(x) => x,
    }
}
