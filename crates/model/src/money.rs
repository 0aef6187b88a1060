//! Prices and quantities as exact decimals.
//!
//! [`Price`] is always strictly positive: a zero or negative price would make sizing divide by
//! zero or flip a position's sign, so it is refused where it enters. [`Quantity`] is a signed
//! amount of the base asset (+ long, − short); venue units appear only inside
//! [`crate::Instrument`] conversions and venue adapters.

use std::fmt;
use std::ops::{Add, Neg, Sub};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ModelError;

/// A strictly positive price in quote units per base unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct Price(Decimal);

impl Price {
    pub fn new(value: Decimal) -> Result<Self, ModelError> {
        if value > Decimal::ZERO {
            Ok(Self(value))
        } else {
            Err(ModelError::NonPositivePrice(value.to_string()))
        }
    }

    pub fn get(self) -> Decimal {
        self.0
    }
}

impl TryFrom<Decimal> for Price {
    type Error = ModelError;
    fn try_from(value: Decimal) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Price> for Decimal {
    fn from(value: Price) -> Self {
        value.0
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A signed quantity of the base asset: positive is long, negative is short.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Quantity(Decimal);

impl Quantity {
    pub const ZERO: Self = Self(Decimal::ZERO);

    pub fn new(value: Decimal) -> Self {
        Self(value)
    }

    pub fn get(self) -> Decimal {
        self.0
    }

    pub fn abs(self) -> Self {
        Self(self.0.abs())
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    pub fn is_long(self) -> bool {
        self.0 > Decimal::ZERO
    }

    pub fn is_short(self) -> bool {
        self.0 < Decimal::ZERO
    }

    /// True when the two are non-zero and on opposite sides: moving from one to the other is a flip.
    pub fn opposes(self, other: Self) -> bool {
        (self.is_long() && other.is_short()) || (self.is_short() && other.is_long())
    }

    /// Quote value of this quantity at `price`, as a magnitude. `None` on overflow.
    pub fn notional_at(self, price: Price) -> Option<Decimal> {
        self.0.abs().checked_mul(price.get())
    }

    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0.checked_sub(other.0).map(Self)
    }
}

impl Add for Quantity {
    type Output = Self;
    /// Panics only on overflow past 7.9e28 base units, which no venue can hold; the planner
    /// uses the `checked_*` forms on outside input.
    fn add(self, rhs: Self) -> Self {
        Self(self.0 + rhs.0)
    }
}

impl Sub for Quantity {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        Self(self.0 - rhs.0)
    }
}

impl Neg for Quantity {
    type Output = Self;
    fn neg(self) -> Self {
        Self(-self.0)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn price_must_be_positive() {
        assert!(Price::new(dec!(0)).is_err());
        assert!(Price::new(dec!(-1)).is_err());
        assert_eq!(Price::new(dec!(60000)).map(Price::get), Ok(dec!(60000)));
    }

    #[test]
    fn price_refuses_zero_from_json() {
        assert!(serde_json::from_str::<Price>("\"0\"").is_err());
        assert!(serde_json::from_str::<Price>("\"101.5\"").is_ok());
    }

    #[test]
    fn quantity_sides_and_flips() {
        let long = Quantity::new(dec!(0.5));
        let short = Quantity::new(dec!(-0.2));
        assert!(long.opposes(short));
        assert!(!long.opposes(Quantity::ZERO));
        assert_eq!((long + short).get(), dec!(0.3));
        assert_eq!((-short).get(), dec!(0.2));
    }

    #[test]
    fn notional_is_a_magnitude() {
        let p = Price::new(dec!(100)).ok();
        let n = p.and_then(|p| Quantity::new(dec!(-2)).notional_at(p));
        assert_eq!(n, Some(dec!(200)));
    }
}
