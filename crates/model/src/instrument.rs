//! The trading rules of one symbol on one venue.
//!
//! Venues count size in their own units: base coin on Bybit and Binance, contracts of
//! `contractValue` on BloFin, lots of `multiplier` on KuCoin, contracts of `contractSize` on MEXC.
//! `contract_size` is how many base units one venue unit holds, so `base = venue × contract_size`.
//! Steps, minimums and maximums below are in **venue units**; notionals are in quote units.
//! Conversions, rounding and order checks against these rules are in [`crate::grid`].

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{ModelError, Symbol, grid};

/// One venue's rules for one symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instrument {
    /// Unified symbol (`BTCUSDT`).
    pub symbol: Symbol,
    /// The venue's own name for it (`BTC-USDT`, `XBTUSDTM`).
    pub venue_symbol: String,
    /// Order size increment, venue units.
    pub qty_step: Decimal,
    /// Smallest order size, venue units.
    pub min_qty: Decimal,
    /// Largest size of one market order, venue units; larger orders are split into legs.
    pub max_market_qty: Option<Decimal>,
    /// Price increment, quote units.
    pub tick_size: Decimal,
    /// Smallest order value, quote units (0 where the venue has none).
    pub min_notional: Decimal,
    /// Base units per venue unit (1 on Bybit and Binance).
    pub contract_size: Decimal,
    /// Highest leverage the venue allows on this symbol.
    pub max_leverage: Decimal,
}

impl Instrument {
    /// Checks the numbers a venue (or a simulator, or a config file) handed us before any sizing
    /// divides by them.
    pub fn validate(&self) -> Result<(), ModelError> {
        let positive = |field: &'static str, v: Decimal| {
            if v > Decimal::ZERO {
                Ok(())
            } else {
                Err(ModelError::BadNumber {
                    field,
                    value: v.to_string(),
                    rule: "must be greater than zero",
                })
            }
        };
        let non_negative = |field: &'static str, v: Decimal| {
            if v >= Decimal::ZERO {
                Ok(())
            } else {
                Err(ModelError::BadNumber {
                    field,
                    value: v.to_string(),
                    rule: "must not be negative",
                })
            }
        };
        positive("qty_step", self.qty_step)?;
        non_negative("min_qty", self.min_qty)?;
        if let Some(max) = self.max_market_qty {
            positive("max_market_qty", max)?;
            if max < self.qty_step {
                return Err(ModelError::BadNumber {
                    field: "max_market_qty",
                    value: max.to_string(),
                    rule: "must be at least one qty_step",
                });
            }
        }
        positive("tick_size", self.tick_size)?;
        non_negative("min_notional", self.min_notional)?;
        positive("contract_size", self.contract_size)?;
        positive("max_leverage", self.max_leverage)?;
        Ok(())
    }

    /// Base units → venue units, exact (no rounding; [`crate::grid::to_venue`]). `None` on
    /// overflow.
    pub fn base_to_venue(&self, base: Decimal) -> Option<Decimal> {
        grid::to_venue(base, self.contract_size)
    }

    /// Venue units → base units, exact ([`crate::grid::to_base`]). `None` on overflow.
    pub fn venue_to_base(&self, venue: Decimal) -> Option<Decimal> {
        grid::to_base(venue, self.contract_size)
    }

    /// The same rules counted in base units (contract size 1): steps, minimum and market
    /// maximum multiplied by the contract size, as the paper venue trades an exchange's
    /// instrument. A value that would overflow stays as it was.
    pub fn in_base_units(mut self) -> Self {
        let k = self.contract_size;
        if k > Decimal::ZERO && k != Decimal::ONE {
            let base = |v: Decimal| grid::to_base(v, k).unwrap_or(v);
            self.qty_step = base(self.qty_step);
            self.min_qty = base(self.min_qty);
            self.max_market_qty = self.max_market_qty.map(base);
            self.contract_size = Decimal::ONE;
        }
        self
    }

    /// A linear USDT perpetual with base-unit sizing, for tests, the paper venue and examples.
    pub fn linear(symbol: Symbol, qty_step: Decimal, tick_size: Decimal) -> Self {
        Self {
            venue_symbol: symbol.as_str().to_string(),
            symbol,
            qty_step,
            min_qty: qty_step,
            max_market_qty: None,
            tick_size,
            min_notional: Decimal::ZERO,
            contract_size: Decimal::ONE,
            max_leverage: Decimal::from(100),
        }
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn kucoin_btc() -> Instrument {
        Instrument {
            symbol: Symbol::new("BTCUSDT").unwrap_or_else(|e| panic!("{e}")),
            venue_symbol: "XBTUSDTM".into(),
            qty_step: dec!(1),
            min_qty: dec!(1),
            max_market_qty: Some(dec!(1000000)),
            tick_size: dec!(0.1),
            min_notional: dec!(0),
            contract_size: dec!(0.001),
            max_leverage: dec!(125),
        }
    }

    #[test]
    fn converts_between_base_and_lots() {
        let i = kucoin_btc();
        assert_eq!(i.base_to_venue(dec!(0.0125)), Some(dec!(12.5)));
        assert_eq!(i.venue_to_base(dec!(12)), Some(dec!(0.012)));
    }

    #[test]
    fn validation_refuses_zero_step_and_contract_size() {
        let mut i = kucoin_btc();
        assert!(i.validate().is_ok());
        i.qty_step = dec!(0);
        assert!(i.validate().is_err());
        let mut j = kucoin_btc();
        j.contract_size = dec!(0);
        assert!(j.validate().is_err());
        let mut k = kucoin_btc();
        k.max_market_qty = Some(dec!(0.5));
        assert!(k.validate().is_err());
    }
}
