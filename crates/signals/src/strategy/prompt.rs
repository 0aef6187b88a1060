//! The prompt: Single-Agent-Trader's `trade_action` prompt rebuilt from a [`MarketState`], with the
//! real Cipher values (normalised WaveTrend, MFI, marks) instead of a price-unit wave.

use super::cipher::MarketState;
use super::decision::{DecisionRules, Position};

/// The system message: role, output contract, rules of thumb and risk guidance.
pub fn system_prompt(rules: &DecisionRules) -> String {
    format!(
        "You are an expert cryptocurrency futures trader. Respond ONLY with one JSON object, no \
         prose, no code fences, exactly these keys: \
         {{\"action\": \"LONG\"|\"SHORT\"|\"CLOSE\"|\"HOLD\", \"size_pct\": number 0-{max_size}, \
         \"take_profit_pct\": number, \"stop_loss_pct\": number, \"leverage\": number 1-{max_lev} or null, \
         \"rationale\": string of at most 120 characters, \"reduce_only\": boolean}}.\n\
         Rules of thumb: LONG when the trend dot is +1, the wave (WaveTrend wt1) crosses or stays \
         above its signal line (wt2), RSI 30-50 and recovering, MFI > 60. SHORT is the mirror \
         with MFI < 40. CLOSE on a reversal against the position, RSI > 80 (long) or < 20 \
         (short), or an EMA cross against the position. Otherwise HOLD. WaveTrend above 53 is \
         overbought, below -53 oversold.\n\
         Only one position at a time: while a position is open, answer CLOSE or HOLD.\n\
         Risk: stop-loss 1.5-2.5 %, take-profit 2-4 %, reward/risk at least 1.2; prefer HOLD \
         when in doubt.",
        max_size = rules.max_size_pct,
        max_lev = rules.max_leverage,
    )
}

/// The user message: the market state and the position, as compact JSON plus a short summary.
pub fn user_prompt(state: &MarketState, position: Position) -> String {
    let state_json = serde_json::to_string(state).unwrap_or_else(|_| "{}".into());
    format!(
        "Symbol {sym}, {interval}s candles. Price {price}. Current position: {position:?}.\n\
         Trend dot {dot}, EMA11 {ef:.4}, EMA34 {es:.4}; wave {w:.2} vs signal {ws:.2} ({cross:?}); \
         MFI {mfi:.1}; money flow {mf:.2}; RSI {rsi:.1}; Stoch RSI {k:.1}/{d:.1}; ATR {atr_pct:.3} % \
         of price; Cipher A {ca}; recent marks {marks:?}.\n\
         Market state JSON: {state_json}",
        sym = state.symbol,
        interval = state.interval_secs,
        price = state.price,
        dot = state.trend_dot,
        ef = state.ema_fast,
        es = state.ema_slow,
        w = state.wave,
        ws = state.wave_signal,
        cross = state.wave_cross,
        mfi = state.mfi,
        mf = state.money_flow,
        rsi = state.rsi,
        k = state.stoch_k,
        d = state.stoch_d,
        atr_pct = state.atr_fraction * 100.0,
        ca = state.cipher_a,
        marks = state.recent_marks,
    )
}
