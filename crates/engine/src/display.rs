//! How numbers are shown to an operator: the dashboard, `tradeengine status`, the session
//! summary and the REST API all round through here, so the same price never shows as
//! `60243.2` in one place and `60243.206825006825006825006824` in another.
//!
//! Exact `Decimal` arithmetic keeps every digit of a quotient (an average entry price, a
//! blended depth), which is right for the money path and useless to a reader. The rules:
//! - a **price** is shown at the instrument's tick when it is known (the venue cannot trade
//!   finer), otherwise at [`price_fallback_dp`] decimals (six significant digits, 2 to 8 dp);
//! - **money** (equity, P&L, fees in a USDT-margined account) at 2 dp;
//! - **blend figures** (depths, weights, contributions as fractions of account value, raw
//!   leverage) at 4 dp: 0.01 % of account value is below any order a venue would take;
//! - **base quantities** computed by the blend at 8 dp (finer than any venue's quantity step);
//! - **risk fractions** (daily, weekly, monthly loss and drawdown, as fractions of equity) at
//!   6 dp: 0.0001 % of equity, finer than any limit an operator sets.
//!
//! Rounding is half away from zero, then trailing zeros are dropped (`0.5000` shows `0.5`),
//! except that a price at a tick keeps the tick's decimals (`60243.20` at a 0.01 tick).

use rust_decimal::{Decimal, RoundingStrategy};

/// Decimals for money in the quote currency (USDT).
pub const MONEY_DP: u32 = 2;
/// Decimals for blend figures (fractions of account value, weights, raw leverage).
pub const BLEND_DP: u32 = 4;
/// Decimals for computed base quantities.
pub const QTY_DP: u32 = 8;
/// Decimals for risk fractions (loss and drawdown as fractions of equity).
pub const FRACTION_DP: u32 = 6;

fn round(value: Decimal, dp: u32) -> Decimal {
    value
        .round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
        .normalize()
}

/// Money (equity, P&L, fees) at [`MONEY_DP`] decimals.
pub fn money(value: Decimal) -> Decimal {
    round(value, MONEY_DP)
}

/// A blend figure at [`BLEND_DP`] decimals.
pub fn blend(value: Decimal) -> Decimal {
    round(value, BLEND_DP)
}

/// A risk fraction at [`FRACTION_DP`] decimals.
pub fn fraction(value: Decimal) -> Decimal {
    round(value, FRACTION_DP)
}

/// A computed base quantity at [`QTY_DP`] decimals.
pub fn qty(value: Decimal) -> Decimal {
    round(value, QTY_DP)
}

/// Decimals for a price whose tick is unknown: six significant digits, at least 2 and at most 8
/// decimals (`60243.21`, `3012.46`, `0.00271234`).
pub fn price_fallback_dp(value: Decimal) -> u32 {
    let abs = value.abs();
    if abs.is_zero() {
        return 2;
    }
    // Digits before the point (≥ 1), or minus the leading zeros after it.
    let mut magnitude: i32 = 0;
    let ten = Decimal::TEN;
    let mut x = abs;
    if x >= Decimal::ONE {
        while x >= Decimal::ONE {
            x /= ten;
            magnitude += 1;
        }
    } else {
        while x < Decimal::ONE && magnitude > -28 {
            x *= ten;
            magnitude -= 1;
        }
        magnitude += 1;
    }
    (6 - magnitude).clamp(2, 8) as u32
}

/// A price at `tick` when one is known (a positive tick), else at [`price_fallback_dp`].
pub fn price(value: Decimal, tick: Option<Decimal>) -> Decimal {
    match tick.filter(|t| t.is_sign_positive() && !t.is_zero()) {
        Some(tick) => {
            let Some(mut out) = value.checked_div(tick).and_then(|ticks| {
                ticks
                    .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
                    .checked_mul(tick)
            }) else {
                return round(value, price_fallback_dp(value));
            };
            // Show the tick's own decimals: a 0.01 tick prints 60243.20, not 60243.2.
            let scale = tick.normalize().scale();
            out.rescale(scale);
            out
        }
        None => round(value, price_fallback_dp(value)),
    }
}

/// An optional price, see [`price`].
pub fn price_opt(value: Option<Decimal>, tick: Option<Decimal>) -> Option<Decimal> {
    value.map(|v| price(v, tick))
}

/// Text for a table cell: the value, or `-` when there is none.
/// Money for a person to read: always [`MONEY_DP`] decimals ("178.60", "0.00"), where the API's
/// numbers drop trailing zeros.
pub fn money_text(value: Decimal) -> String {
    let mut v = value.round_dp_with_strategy(MONEY_DP, RoundingStrategy::MidpointAwayFromZero);
    if v.is_zero() {
        v = Decimal::ZERO;
    }
    v.rescale(MONEY_DP);
    v.to_string()
}

pub fn or_dash(value: Option<Decimal>) -> String {
    value.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

/// Where the engine keeps the ticks it learnt (store state), so `tradeengine status`,
/// `positions` and `orders` show prices at the tick without a running engine.
pub const TICKS_KEY: &str = "display.ticks";

/// Records the ticks a worker learnt (`SharedState::learn_ticks`) in the store,
/// for the CLI. A store error only costs precision of display, so it is logged, not raised.
pub async fn store_ticks(
    store: &dyn tradeengine_store::Store,
    ticks: &std::collections::BTreeMap<tradeengine_model::Symbol, Decimal>,
) {
    let value = serde_json::json!(
        ticks
            .iter()
            .map(|(s, t)| (s.to_string(), t.to_string()))
            .collect::<std::collections::BTreeMap<_, _>>()
    );
    if let Err(e) = store.put_state(TICKS_KEY, &value).await {
        tracing::debug!(error = %e, "cannot store instrument ticks for display");
    }
}

/// The ticks [`store_ticks`] stored, by symbol name (empty when none were stored or the store
/// cannot be read).
pub async fn stored_ticks(
    store: &dyn tradeengine_store::Store,
) -> std::collections::BTreeMap<String, Decimal> {
    let Ok(Some(serde_json::Value::Object(map))) = store.get_state(TICKS_KEY).await else {
        return Default::default();
    };
    map.into_iter()
        .filter_map(|(k, v)| Some((k, v.as_str()?.parse::<Decimal>().ok()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap_or_default()
    }

    #[test]
    fn money_text_always_has_two_decimals() {
        for (v, want) in [
            ("178.6", "178.60"),
            ("0", "0.00"),
            ("-0.004", "0.00"),
            ("12.345", "12.35"),
            ("-12.345", "-12.35"),
            ("1000000", "1000000.00"),
        ] {
            assert_eq!(money_text(d(v)), want, "{v}");
        }
    }

    #[test]
    fn a_long_quotient_shows_at_the_tick() {
        let avg = d("60243.206825006825006825006824");
        assert_eq!(price(avg, Some(d("0.1"))).to_string(), "60243.2");
        assert_eq!(price(avg, Some(d("0.01"))).to_string(), "60243.21");
        assert_eq!(price(avg, Some(d("0.5"))).to_string(), "60243.0");
        assert_eq!(price(d("60243.2"), Some(d("0.01"))).to_string(), "60243.20");
        assert_eq!(price(d("3000.125"), Some(d("0.05"))).to_string(), "3000.15");
    }

    #[test]
    fn without_a_tick_a_price_keeps_six_significant_digits() {
        let avg = d("60243.206825006825006825006824");
        assert_eq!(price(avg, None).to_string(), "60243.21");
        assert_eq!(price(avg, Some(Decimal::ZERO)).to_string(), "60243.21");
        assert_eq!(price(d("3012.4567"), None).to_string(), "3012.46");
        assert_eq!(price(d("150.123456"), None).to_string(), "150.123");
        assert_eq!(price(d("0.0027123456"), None).to_string(), "0.00271235");
        assert_eq!(price(d("-1.23456789"), None).to_string(), "-1.23457");
        assert_eq!(price(Decimal::ZERO, None).to_string(), "0");
        assert_eq!(price_fallback_dp(d("0.5")), 6);
        assert_eq!(price_fallback_dp(d("1")), 5);
        assert_eq!(price_fallback_dp(d("123456789")), 2);
    }

    #[test]
    fn money_blend_and_qty_have_fixed_decimals() {
        assert_eq!(money(d("-12.345")).to_string(), "-12.35");
        assert_eq!(money(d("10000.0000")).to_string(), "10000");
        assert_eq!(blend(d("0.33333333333333333333")).to_string(), "0.3333");
        assert_eq!(blend(d("0.5000")).to_string(), "0.5");
        assert_eq!(qty(d("0.0000123456789")).to_string(), "0.00001235");
        assert_eq!(or_dash(None), "-");
        assert_eq!(or_dash(Some(money(d("1.005")))), "1.01");
        assert_eq!(price_opt(None, None), None);
    }
}
