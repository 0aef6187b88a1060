//! The rule-based decision used when no LLM is configured, or it is unreachable, slow, refuses
//! or answers something invalid (Single-Agent-Trader's `_get_fallback_decision`, without the
//! stablecoin dominance bias, which tradeengine has no data for).
//!
//! - **LONG** when flat, Cipher A's trend dot is up (EMA11 > EMA34), the WaveTrend is above its
//!   signal line, money flow (MFI) is not bearish (≥ 50) and Cipher A does not print a bearish
//!   mark on the bar. **SHORT** is the mirror.
//! - **CLOSE** a long on the short conditions or RSI > 80; a short on the long conditions or
//!   RSI < 20 (the prompt's exit rules, B.4).
//! - Otherwise **HOLD**.
//!
//! Stops: with `atr_multiples`, stop-loss and take-profit are multiples of ATR(14) as a percent
//! of price (ATR stops, as the broker sources use), clamped to 0.25–10 % and 0.5–20 %; without,
//! fixed percentages (Single-Agent-Trader's: TP 2 %, SL 1.5 %). The result still goes through
//! [`super::decision::validate`], so the same caps apply to both paths.

use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;

use super::cipher::MarketState;
use super::decision::{Action, Position, RawDecision};

/// Fallback parameters (configuration).
#[derive(Debug, Clone, PartialEq)]
pub struct FallbackParams {
    /// Size of an open, percent of account value (Single-Agent-Trader's: 10).
    pub size_pct: Decimal,
    /// Fixed take-profit and stop-loss percentages when ATR stops are off.
    pub take_profit_pct: Decimal,
    pub stop_loss_pct: Decimal,
    /// `(stop_loss, take_profit)` multiples of ATR; `None` uses the fixed percentages.
    pub atr_multiples: Option<(f64, f64)>,
    pub leverage: Option<Decimal>,
}

impl Default for FallbackParams {
    fn default() -> Self {
        Self {
            size_pct: Decimal::TEN,
            take_profit_pct: Decimal::TWO,
            stop_loss_pct: Decimal::new(15, 1),
            atr_multiples: Some((1.5, 3.0)),
            leverage: None,
        }
    }
}

/// ATR-based protective distances in percent of price, `(stop_loss, take_profit)`, rounded to
/// 0.01 % and clamped; `None` when the ATR is not usable.
pub fn atr_stops(state: &MarketState, sl_mult: f64, tp_mult: f64) -> Option<(Decimal, Decimal)> {
    let pct = state.atr_fraction * 100.0;
    if !(pct.is_finite() && pct > 0.0) {
        return None;
    }
    let to_dec = |x: f64, lo: Decimal, hi: Decimal| -> Option<Decimal> {
        Decimal::from_f64(x).map(|d| d.round_dp(2).clamp(lo, hi))
    };
    let sl = to_dec(pct * sl_mult, Decimal::new(25, 2), Decimal::TEN)?;
    let tp = to_dec(pct * tp_mult, Decimal::new(5, 1), Decimal::from(20))?;
    Some((sl, tp))
}

/// The fallback decision, unvalidated (the caller validates it like an LLM reply).
pub fn decide(state: &MarketState, position: Position, p: &FallbackParams) -> RawDecision {
    let wave_up = state.wave > state.wave_signal;
    let wave_down = state.wave < state.wave_signal;
    let long_ok = state.trend_dot > 0 && wave_up && state.mfi >= 50.0 && state.cipher_a >= 0;
    let short_ok = state.trend_dot < 0 && wave_down && state.mfi <= 50.0 && state.cipher_a <= 0;
    let (action, why) = match position {
        Position::Flat if long_ok => (Action::Long, "trend dot up, wave above signal, MFI ≥ 50"),
        Position::Flat if short_ok => {
            (Action::Short, "trend dot down, wave below signal, MFI ≤ 50")
        }
        Position::Long if short_ok => (Action::Close, "long against a bearish reversal"),
        Position::Long if state.rsi > 80.0 => (Action::Close, "long with RSI > 80"),
        Position::Short if long_ok => (Action::Close, "short against a bullish reversal"),
        Position::Short if state.rsi < 20.0 => (Action::Close, "short with RSI < 20"),
        _ => (Action::Hold, "no aligned signal"),
    };
    let (sl, tp, stops) = match p.atr_multiples.and_then(|(s, t)| atr_stops(state, s, t)) {
        Some((sl, tp)) => (sl, tp, "ATR stops"),
        None => (p.stop_loss_pct, p.take_profit_pct, "fixed stops"),
    };
    let opens = matches!(action, Action::Long | Action::Short);
    RawDecision {
        action,
        size_pct: if opens { p.size_pct } else { Decimal::ZERO },
        take_profit_pct: tp,
        stop_loss_pct: sl,
        leverage: if opens { p.leverage } else { None },
        rationale: format!(
            "Fallback rules: {why} (dot {}, wt {:.1}/{:.1}, MFI {:.0}, RSI {:.0}); {stops}",
            state.trend_dot, state.wave, state.wave_signal, state.mfi, state.rsi
        ),
        reduce_only: action == Action::Close,
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::strategy::cipher::WaveCross;
    use crate::strategy::decision::{DecisionRules, validate};

    fn state(dot: i8, wave: f64, signal: f64, mfi: f64, rsi: f64) -> MarketState {
        MarketState {
            symbol: "BTCUSDT".into(),
            interval_secs: 60,
            price: 100.0,
            candle_open_ms: 0,
            trend_dot: dot,
            ema_fast: 100.0,
            ema_slow: 100.0,
            wave,
            wave_signal: signal,
            wave_cross: WaveCross::Above,
            mfi,
            money_flow: 0.0,
            rsi,
            stoch_k: 50.0,
            stoch_d: 50.0,
            atr: 0.8,
            atr_fraction: 0.008,
            cipher_a: 0,
            recent_marks: vec![],
            last_candles: vec![],
        }
    }

    #[test]
    fn opens_closes_and_holds_by_the_rules() {
        let p = FallbackParams::default();
        let bull = state(1, 10.0, 5.0, 60.0, 55.0);
        let bear = state(-1, -10.0, -5.0, 40.0, 45.0);
        assert_eq!(decide(&bull, Position::Flat, &p).action, Action::Long);
        assert_eq!(decide(&bear, Position::Flat, &p).action, Action::Short);
        assert_eq!(decide(&bear, Position::Long, &p).action, Action::Close);
        assert_eq!(decide(&bull, Position::Short, &p).action, Action::Close);
        assert_eq!(decide(&bull, Position::Long, &p).action, Action::Hold);
        let mixed = state(1, -10.0, -5.0, 60.0, 55.0);
        assert_eq!(decide(&mixed, Position::Flat, &p).action, Action::Hold);
        let hot = state(1, 10.0, 5.0, 60.0, 85.0);
        assert_eq!(decide(&hot, Position::Long, &p).action, Action::Close);
    }

    #[test]
    fn atr_stops_are_multiples_of_atr_percent_and_validate() {
        let p = FallbackParams::default();
        let d = decide(&state(1, 10.0, 5.0, 60.0, 55.0), Position::Flat, &p);
        // ATR 0.8 % of price: SL 1.5 × 0.8 = 1.2 %, TP 3 × 0.8 = 2.4 %.
        assert_eq!((d.stop_loss_pct, d.take_profit_pct), (dec!(1.2), dec!(2.4)));
        assert!(d.rationale.contains("ATR stops"));
        let v = validate(d, &DecisionRules::default(), Position::Flat).unwrap();
        assert!(v.adjustments.is_empty());
        assert_eq!(v.decision.size_pct, dec!(10));

        let fixed = FallbackParams {
            atr_multiples: None,
            ..p
        };
        let d = decide(&state(1, 10.0, 5.0, 60.0, 55.0), Position::Flat, &fixed);
        assert_eq!((d.stop_loss_pct, d.take_profit_pct), (dec!(1.5), dec!(2)));
    }

    #[test]
    fn atr_stops_clamp_and_refuse_nonsense() {
        let mut s = state(1, 1.0, 0.0, 60.0, 50.0);
        s.atr_fraction = 0.5;
        assert_eq!(atr_stops(&s, 1.5, 3.0), Some((dec!(10), dec!(20))));
        s.atr_fraction = 0.0;
        assert_eq!(atr_stops(&s, 1.5, 3.0), None);
        s.atr_fraction = f64::NAN;
        assert_eq!(atr_stops(&s, 1.5, 3.0), None);
    }
}
