//! `[risk]` and `[accounts.risk]`: the limits, the presets that fill them, and how they resolve
//! into one account's effective limits.
//!
//! Every key is optional. An account's limits are, later winning:
//! built-in defaults < `[risk] preset` < `[risk]` keys < `[accounts.risk] preset` <
//! `[accounts.risk]` keys. A symbol's `[[symbols]] max_leverage` and `max_position_notional`
//! then tighten the pre-trade limits for that symbol only.
//!
//! Presets follow Angleito/Single-Agent-Trader's risk profiles, which its users know: position size
//! → `max_depth`, leverage → `max_leverage`, daily loss → `daily_loss_limit`, concurrent trades →
//! `max_open_positions`; weekly and monthly limits are 3× and 6× the daily one (that bot's
//! moderate profile had 5 / 15 / 30 % but never enforced the last two). The README's
//! configuration reference lists every number.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tradeengine_core::risk::{LossLimits, PreTradeLimits};

/// A named set of limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskPreset {
    Conservative,
    Moderate,
    Aggressive,
}

impl RiskPreset {
    pub const ALL: [Self; 3] = [Self::Conservative, Self::Moderate, Self::Aggressive];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Conservative => "conservative",
            Self::Moderate => "moderate",
            Self::Aggressive => "aggressive",
        }
    }

    /// The preset as a `[risk]` table with every key it fills set.
    pub fn table(self) -> RiskConfig {
        let d = |n: i64, scale: u32| Some(Decimal::new(n, scale));
        // (conservative, moderate, aggressive)
        fn pick<T>(p: RiskPreset, c: T, m: T, a: T) -> T {
            match p {
                RiskPreset::Conservative => c,
                RiskPreset::Moderate => m,
                RiskPreset::Aggressive => a,
            }
        }
        RiskConfig {
            preset: None,
            max_depth: pick(self, d(10, 2), d(20, 2), d(40, 2)),
            max_leverage: pick(self, d(2, 0), d(5, 0), d(10, 0)),
            // One, three or five positions at full depth and leverage.
            max_gross_exposure: pick(self, d(2, 1), d(3, 0), d(20, 0)),
            max_order_notional: None,
            leverage_override_sizes: None,
            max_position_notional: None,
            price_band: pick(self, d(2, 2), d(5, 2), d(10, 2)),
            max_orders_per_minute: pick(self, Some(10), Some(30), Some(60)),
            max_open_positions: pick(self, Some(1), Some(3), Some(5)),
            daily_loss_limit: pick(self, d(2, 2), d(5, 2), d(10, 2)),
            weekly_loss_limit: pick(self, d(6, 2), d(15, 2), d(30, 2)),
            monthly_loss_limit: pick(self, d(12, 2), d(30, 2), d(60, 2)),
            max_drawdown: pick(self, d(10, 2), d(20, 2), d(30, 2)),
            reduce_at: None,
            margin_buffer: None,
        }
    }
}

/// `[risk]` (engine-wide) and `[accounts.risk]` (one account): every key optional; unset keys
/// come from the preset, then from the level below (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RiskConfig {
    /// Fill every limit from a named profile; keys set beside it win.
    pub preset: Option<RiskPreset>,
    /// Cap on |blended depth| per symbol (sizing; sirouk/trade-engine had none: "300/100" meant
    /// 3×).
    pub max_depth: Option<Decimal>,
    /// Cap on leverage whatever a source asks for (sizing), checked again before sending.
    pub max_leverage: Option<Decimal>,
    /// Σ |notional| across symbols ≤ this × equity: targets scale down to fit (sizing), and any
    /// order that would take the account's whole book (unmanaged positions included) past it is
    /// refused.
    pub max_gross_exposure: Option<Decimal>,
    /// Largest single opening order, quote units.
    pub max_order_notional: Option<Decimal>,
    /// Apply an account's leverage override to sizing too (sirouk/trade-engine applied it to the
    /// venue setting only, so the override changed margin but not size). Default true.
    pub leverage_override_sizes: Option<bool>,
    /// Largest position notional per symbol after an order, quote units (refused, not resized;
    /// `[[symbols]] max_notional` is the sizing cap).
    pub max_position_notional: Option<Decimal>,
    /// Fat-finger guard: |order price − mark| / mark at most this (0.05 = 5 %).
    pub price_band: Option<Decimal>,
    /// Orders per account in any 60 s (closing orders count but are never refused).
    pub max_orders_per_minute: Option<u32>,
    /// Non-flat positions per account at once.
    pub max_open_positions: Option<u32>,
    /// Loss since 00:00 UTC as a fraction of that day's first equity reading.
    pub daily_loss_limit: Option<Decimal>,
    /// The same from Monday 00:00 UTC.
    pub weekly_loss_limit: Option<Decimal>,
    /// The same from the 1st of the month.
    pub monthly_loss_limit: Option<Decimal>,
    /// Fall from the equity high-water mark, fraction.
    pub max_drawdown: Option<Decimal>,
    /// Fraction of a loss limit at which the account starts REDUCING (default 0.75); at the
    /// limit itself it is HALTED.
    pub reduce_at: Option<Decimal>,
    /// Fraction of the account value kept free when sizing an opening target (default 0.05):
    /// a target the venue's free margin cannot carry at the symbol's leverage is cut to
    /// `(available − margin_buffer × value) × leverage / price` more than the position, so the
    /// venue does not refuse it for insufficient margin.
    pub margin_buffer: Option<Decimal>,
}

impl RiskConfig {
    /// True when the table sets nothing (an account that inherits everything).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One account's effective limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RiskLimits {
    pub max_depth: Decimal,
    pub max_leverage: Decimal,
    pub max_gross_exposure: Option<Decimal>,
    pub max_order_notional: Option<Decimal>,
    pub leverage_override_sizes: bool,
    pub max_position_notional: Option<Decimal>,
    pub price_band: Option<Decimal>,
    pub max_orders_per_minute: Option<u32>,
    pub max_open_positions: Option<u32>,
    pub daily_loss_limit: Option<Decimal>,
    pub weekly_loss_limit: Option<Decimal>,
    pub monthly_loss_limit: Option<Decimal>,
    pub max_drawdown: Option<Decimal>,
    pub reduce_at: Decimal,
    pub margin_buffer: Decimal,
}

impl Default for RiskLimits {
    /// No preset, no keys: the limits tradeengine always had (depth 1, leverage 20).
    fn default() -> Self {
        Self {
            max_depth: Decimal::ONE,
            max_leverage: Decimal::from(20),
            max_gross_exposure: None,
            max_order_notional: None,
            leverage_override_sizes: true,
            max_position_notional: None,
            price_band: None,
            max_orders_per_minute: None,
            max_open_positions: None,
            daily_loss_limit: None,
            weekly_loss_limit: None,
            monthly_loss_limit: None,
            max_drawdown: None,
            reduce_at: Decimal::new(75, 2),
            margin_buffer: Decimal::new(5, 2),
        }
    }
}

impl RiskLimits {
    /// These limits with `table`'s preset, then its keys, laid over them.
    pub fn overlay(mut self, table: &RiskConfig) -> Self {
        if let Some(p) = table.preset {
            self.set(&p.table());
        }
        self.set(table);
        self
    }

    /// Every key `t` sets replaces the current value.
    fn set(&mut self, t: &RiskConfig) {
        fn put<T: Copy>(slot: &mut T, v: Option<T>) {
            if let Some(v) = v {
                *slot = v;
            }
        }
        fn put_opt<T: Copy>(slot: &mut Option<T>, v: Option<T>) {
            if v.is_some() {
                *slot = v;
            }
        }
        put(&mut self.max_depth, t.max_depth);
        put(&mut self.max_leverage, t.max_leverage);
        put_opt(&mut self.max_gross_exposure, t.max_gross_exposure);
        put_opt(&mut self.max_order_notional, t.max_order_notional);
        put(&mut self.leverage_override_sizes, t.leverage_override_sizes);
        put_opt(&mut self.max_position_notional, t.max_position_notional);
        put_opt(&mut self.price_band, t.price_band);
        put_opt(&mut self.max_orders_per_minute, t.max_orders_per_minute);
        put_opt(&mut self.max_open_positions, t.max_open_positions);
        put_opt(&mut self.daily_loss_limit, t.daily_loss_limit);
        put_opt(&mut self.weekly_loss_limit, t.weekly_loss_limit);
        put_opt(&mut self.monthly_loss_limit, t.monthly_loss_limit);
        put_opt(&mut self.max_drawdown, t.max_drawdown);
        put(&mut self.reduce_at, t.reduce_at);
        put(&mut self.margin_buffer, t.margin_buffer);
    }

    /// The pre-trade limits of one symbol: a symbol's own leverage and position limits tighten
    /// the account's.
    pub fn pre_trade(&self, symbol: Option<&super::SymbolConfig>) -> PreTradeLimits {
        let tighter = |a: Option<Decimal>, b: Option<Decimal>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        PreTradeLimits {
            max_leverage: tighter(Some(self.max_leverage), symbol.and_then(|s| s.max_leverage)),
            max_position_notional: tighter(
                self.max_position_notional,
                symbol.and_then(|s| s.max_position_notional),
            ),
            max_gross_exposure: self.max_gross_exposure,
            max_order_notional: self.max_order_notional,
            price_band: self.price_band,
            max_open_positions: self.max_open_positions,
            max_orders_per_minute: self.max_orders_per_minute,
        }
    }

    pub fn loss_limits(&self) -> LossLimits {
        LossLimits {
            daily: self.daily_loss_limit,
            weekly: self.weekly_loss_limit,
            monthly: self.monthly_loss_limit,
            max_drawdown: self.max_drawdown,
            reduce_at: self.reduce_at,
        }
    }
}

/// Range checks on one risk table; `prefix` is `risk` or `accounts[i].risk`.
pub(super) fn validate_table(prefix: &str, t: &RiskConfig) -> Result<(), (String, String)> {
    let fail = |field: &str, reason: &str| Err((format!("{prefix}.{field}"), reason.to_string()));
    let positive = [
        ("max_depth", t.max_depth),
        ("max_gross_exposure", t.max_gross_exposure),
        ("max_order_notional", t.max_order_notional),
        ("max_position_notional", t.max_position_notional),
    ];
    for (field, v) in positive {
        if v.is_some_and(|v| v <= Decimal::ZERO) {
            return fail(field, "must be greater than 0");
        }
    }
    if t.max_leverage.is_some_and(|l| l < Decimal::ONE) {
        return fail("max_leverage", "must be at least 1");
    }
    let fractions = [
        ("price_band", t.price_band),
        ("daily_loss_limit", t.daily_loss_limit),
        ("weekly_loss_limit", t.weekly_loss_limit),
        ("monthly_loss_limit", t.monthly_loss_limit),
        ("max_drawdown", t.max_drawdown),
        ("reduce_at", t.reduce_at),
    ];
    for (field, v) in fractions {
        if v.is_some_and(|v| v <= Decimal::ZERO || v > Decimal::ONE) {
            return fail(
                field,
                "must be a fraction above 0 and at most 1 (0.05 = 5 %)",
            );
        }
    }
    if t.margin_buffer
        .is_some_and(|v| v < Decimal::ZERO || v >= Decimal::ONE)
    {
        return fail(
            "margin_buffer",
            "must be a fraction from 0 up to (not including) 1 (0.05 = 5 %)",
        );
    }
    for (field, v) in [
        ("max_orders_per_minute", t.max_orders_per_minute),
        ("max_open_positions", t.max_open_positions),
    ] {
        if v == Some(0) {
            return fail(field, "must be at least 1 (leave it out for no limit)");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn explicit_keys_beat_the_preset_and_accounts_beat_the_engine() {
        let engine = RiskConfig {
            preset: Some(RiskPreset::Moderate),
            max_leverage: Some(dec!(3)),
            ..RiskConfig::default()
        };
        let l = RiskLimits::default().overlay(&engine);
        assert_eq!(l.max_leverage, dec!(3), "key beats preset");
        assert_eq!(
            l.daily_loss_limit,
            Some(dec!(0.05)),
            "preset fills the rest"
        );
        assert_eq!(l.max_open_positions, Some(3));
        let account = RiskConfig {
            preset: Some(RiskPreset::Conservative),
            daily_loss_limit: Some(dec!(0.01)),
            ..RiskConfig::default()
        };
        let a = l.clone().overlay(&account);
        assert_eq!(a.daily_loss_limit, Some(dec!(0.01)));
        assert_eq!(
            a.max_leverage,
            dec!(2),
            "the account's preset beats the engine's key"
        );
        assert_eq!(a.max_open_positions, Some(1));
        let empty = l.clone().overlay(&RiskConfig::default());
        assert_eq!(empty, l, "an empty account table inherits everything");
    }

    #[test]
    fn presets_order_from_conservative_to_aggressive_and_are_valid() {
        let [c, m, a] = RiskPreset::ALL.map(|p| RiskLimits::default().overlay(&p.table()));
        assert!(c.max_leverage < m.max_leverage && m.max_leverage < a.max_leverage);
        assert!(c.daily_loss_limit < m.daily_loss_limit && m.daily_loss_limit < a.daily_loss_limit);
        assert!(c.max_open_positions < m.max_open_positions);
        // Single-Agent-Trader's moderate profile: 20 % size, 5×, 5 % daily, 3 trades, 15 / 30 %
        // weekly / monthly.
        assert_eq!(
            (
                m.max_depth,
                m.max_leverage,
                m.daily_loss_limit,
                m.max_open_positions
            ),
            (dec!(0.20), dec!(5), Some(dec!(0.05)), Some(3))
        );
        assert_eq!(
            (m.weekly_loss_limit, m.monthly_loss_limit),
            (Some(dec!(0.15)), Some(dec!(0.30)))
        );
        for p in RiskPreset::ALL {
            assert_eq!(validate_table("risk", &p.table()), Ok(()), "{p:?}");
        }
    }

    #[test]
    fn a_symbol_tightens_but_never_loosens() {
        let l = RiskLimits {
            max_position_notional: Some(dec!(1000)),
            ..RiskLimits::default()
        };
        let mut s: super::super::SymbolConfig =
            toml::from_str("symbol = \"BTCUSDT\"\nmax_leverage = 50\nmax_position_notional = 500")
                .unwrap();
        let p = l.pre_trade(Some(&s));
        assert_eq!(
            (p.max_leverage, p.max_position_notional),
            (Some(dec!(20)), Some(dec!(500)))
        );
        s.max_leverage = Some(dec!(3));
        assert_eq!(l.pre_trade(Some(&s)).max_leverage, Some(dec!(3)));
    }

    #[test]
    fn out_of_range_values_name_their_key() {
        let bad = RiskConfig {
            daily_loss_limit: Some(dec!(5)),
            ..RiskConfig::default()
        };
        assert_eq!(
            validate_table("accounts[0].risk", &bad).unwrap_err().0,
            "accounts[0].risk.daily_loss_limit"
        );
        let zero = RiskConfig {
            max_open_positions: Some(0),
            ..RiskConfig::default()
        };
        assert!(validate_table("risk", &zero).is_err());
    }
}
