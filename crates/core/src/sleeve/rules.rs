//! Per-source rules for order intents, and the reasons a signal is refused.

use chrono::TimeDelta;
use rust_decimal::Decimal;
use serde::Serialize;
use tradeengine_model::{Price, Timestamp};

use crate::CoreError;

/// How one source's order intents move its sleeves. Target intents ignore these rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SleeveRules {
    /// Opens and adds below this confidence (0..=1) are refused. 0.6 by default, the
    /// threshold petrosa-tradeengine's users already run with.
    pub min_confidence: Decimal,
    /// When false a signal without a confidence passes (an amount signal carries none); when true
    /// it is refused like a low one.
    pub require_confidence: bool,
    /// Whether a same-side order adds to an open sleeve. Off by default: one open sleeve per
    /// symbol and source, as algo_trading_platform enforces.
    pub allow_add: bool,
    /// Whether a Sell from flat opens a short. Spot-style sources cannot short.
    pub allow_short: bool,
    /// Whether any opposite-side order closes the whole sleeve (an amount signal's SELL) instead of
    /// reducing it by the order's size.
    pub opposite_closes: bool,
    /// After a close, opens are refused for this long (algo_trading_platform: 60 min).
    pub cooling: TimeDelta,
    /// Stop-loss distance from entry as a fraction (0.02 = 2 %), used when the signal has none.
    /// `None` leaves such sleeves without a stop-loss.
    pub default_stop_loss: Option<Decimal>,
    /// Take-profit distance from entry as a fraction, used when the signal has none.
    pub default_take_profit: Option<Decimal>,
    /// Stop-loss distance from entry in quote units, used when the signal has none; wins over
    /// `default_stop_loss`. The engine sets it per signal from an ATR multiple it has already
    /// rounded to the instrument's tick (away from entry), so this crate does no float math.
    pub default_stop_distance: Option<Decimal>,
    /// Take-profit distance from entry in quote units; wins over `default_take_profit`.
    pub default_take_distance: Option<Decimal>,
}

impl Default for SleeveRules {
    fn default() -> Self {
        Self {
            min_confidence: Decimal::new(6, 1),
            require_confidence: false,
            allow_add: false,
            allow_short: true,
            opposite_closes: false,
            cooling: TimeDelta::minutes(60),
            default_stop_loss: None,
            default_take_profit: None,
            default_stop_distance: None,
            default_take_distance: None,
        }
    }
}

impl SleeveRules {
    /// The rules algo_trading_platform's consumer applies: 2 % stop-loss and 3 % take-profit
    /// defaults, long only, a sell closes.
    pub fn spot_long_only() -> Self {
        Self {
            allow_short: false,
            opposite_closes: true,
            default_stop_loss: Some(Decimal::new(2, 2)),
            default_take_profit: Some(Decimal::new(3, 2)),
            ..Self::default()
        }
    }

    /// Checks the numbers before any signal is judged against them.
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.min_confidence < Decimal::ZERO || self.min_confidence > Decimal::ONE {
            return Err(CoreError::bad(
                "min_confidence",
                self.min_confidence,
                "must be between 0 and 1",
            ));
        }
        if self.cooling < TimeDelta::zero() {
            return Err(CoreError::bad(
                "cooling",
                self.cooling,
                "must not be negative",
            ));
        }
        for (field, v) in [
            ("default_stop_loss", self.default_stop_loss),
            ("default_take_profit", self.default_take_profit),
        ] {
            if let Some(f) = v
                && (f <= Decimal::ZERO || f >= Decimal::ONE)
            {
                return Err(CoreError::bad(
                    field,
                    f,
                    "must be a fraction above 0 and below 1",
                ));
            }
        }
        for (field, v) in [
            ("default_stop_distance", self.default_stop_distance),
            ("default_take_distance", self.default_take_distance),
        ] {
            if let Some(d) = v
                && d <= Decimal::ZERO
            {
                return Err(CoreError::bad(field, d, "must be above 0"));
            }
        }
        Ok(())
    }

    /// The default stop-loss level: the distance when set, else the fraction.
    pub(crate) fn stop_default(&self) -> Option<DefaultLevel> {
        DefaultLevel::pick(self.default_stop_distance, self.default_stop_loss)
    }

    /// The default take-profit level: the distance when set, else the fraction.
    pub(crate) fn take_default(&self) -> Option<DefaultLevel> {
        DefaultLevel::pick(self.default_take_distance, self.default_take_profit)
    }
}

/// A protective level the rules supply when the signal has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DefaultLevel {
    /// A fraction of entry (0.02 = 2 %).
    Fraction(Decimal),
    /// Quote units from entry.
    Distance(Decimal),
}

impl DefaultLevel {
    fn pick(distance: Option<Decimal>, fraction: Option<Decimal>) -> Option<Self> {
        distance
            .map(Self::Distance)
            .or(fraction.map(Self::Fraction))
    }
}

/// Why an order or target intent did not move the sleeve. The engine audits it with the signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    /// Confidence below the source's minimum.
    LowConfidence { confidence: Decimal, min: Decimal },
    /// No confidence while the source requires one.
    MissingConfidence,
    /// Confidence outside 0..=1: the sender is confused, so nothing it says is trusted.
    InvalidConfidence { confidence: Decimal },
    /// A same-side order while the sleeve is open and adding is not allowed.
    AlreadyOpen,
    /// An open while the sleeve is cooling after its last close.
    Cooling { until: Timestamp },
    /// Buy or Sell that would open or add, without a size.
    MissingSize,
    /// A size of zero or below.
    NonPositiveSize { size: Decimal },
    /// A depth or fraction that is not a number a sleeve may hold (|fraction| > 1000).
    SizeOutOfRange { size: Decimal },
    /// A leverage of zero or below.
    BadLeverage { leverage: Decimal },
    /// A quote-sized order, a fractional stop-loss/take-profit or a default level needs a price,
    /// and neither the signal nor the engine gave one.
    NoPrice,
    /// Sell from flat on a long-only source.
    ShortNotAllowed,
    /// Add or reduce in a different unit from the sleeve's (see the module docs).
    UnitMismatch,
    /// A stop-loss or take-profit on the wrong side of the entry price (it would fire at once),
    /// or a fraction that puts it at or below zero.
    ProtectiveLevelWrongSide {
        level: &'static str,
        price: Decimal,
        entry: Price,
    },
    /// A protective level fraction outside (0, 1).
    BadProtectiveFraction {
        level: &'static str,
        fraction: Decimal,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::LowConfidence { confidence, min } => {
                write!(
                    f,
                    "confidence {confidence} is below the source's minimum {min}"
                )
            }
            Self::MissingConfidence => {
                f.write_str("the source requires a confidence and none was given")
            }
            Self::InvalidConfidence { confidence } => {
                write!(f, "confidence {confidence} is outside 0..=1")
            }
            Self::AlreadyOpen => {
                f.write_str("the sleeve is already open and adding is not allowed")
            }
            Self::Cooling { until } => write!(f, "the sleeve is cooling until {until}"),
            Self::MissingSize => f.write_str("an open or add needs a size"),
            Self::NonPositiveSize { size } => write!(f, "size {size} must be greater than zero"),
            Self::SizeOutOfRange { size } => write!(f, "size {size} is out of range"),
            Self::BadLeverage { leverage } => {
                write!(f, "leverage {leverage} must be greater than zero")
            }
            Self::NoPrice => {
                f.write_str("a price is needed and neither the signal nor a mark price gave one")
            }
            Self::ShortNotAllowed => f.write_str("the source is long-only"),
            Self::UnitMismatch => f.write_str("the order's size unit differs from the sleeve's"),
            Self::ProtectiveLevelWrongSide {
                level,
                price,
                entry,
            } => {
                write!(f, "{level} {price} is on the wrong side of entry {entry}")
            }
            Self::BadProtectiveFraction { level, fraction } => {
                write!(f, "{level} fraction {fraction} must be above 0 and below 1")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn defaults_follow_the_issue() {
        let r = SleeveRules::default();
        assert_eq!(r.min_confidence, dec!(0.6));
        assert_eq!(r.cooling, TimeDelta::minutes(60));
        assert!(!r.allow_add);
        assert_eq!(r.default_stop_loss, None);
        assert_eq!(r.default_take_profit, None);
        assert!(r.validate().is_ok());
        let s = SleeveRules::spot_long_only();
        assert_eq!(s.default_stop_loss, Some(dec!(0.02)));
        assert_eq!(s.default_take_profit, Some(dec!(0.03)));
        assert!(s.validate().is_ok());
    }

    #[test]
    fn validation_names_the_bad_field() {
        let r = SleeveRules {
            min_confidence: dec!(1.5),
            ..SleeveRules::default()
        };
        assert!(matches!(
            r.validate(),
            Err(CoreError::BadInput {
                field: "min_confidence",
                ..
            })
        ));
        let r = SleeveRules {
            default_take_profit: Some(dec!(1)),
            ..SleeveRules::default()
        };
        assert!(matches!(
            r.validate(),
            Err(CoreError::BadInput {
                field: "default_take_profit",
                ..
            })
        ));
        let r = SleeveRules {
            cooling: TimeDelta::seconds(-1),
            ..SleeveRules::default()
        };
        assert!(r.validate().is_err());
    }
}
