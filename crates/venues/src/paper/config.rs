//! Settings of the paper venue, and its default instruments.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tradeengine_model::{Instrument, Symbol};

use super::PaperError;

/// How the paper venue fills and charges. Fees and slippage apply to fills after a restart too;
/// `starting_balance` only seeds a brand-new state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaperConfig {
    /// Wallet balance of a new account, USDT.
    pub starting_balance: Decimal,
    /// Fee rate on market fills and marketable limit orders (0.00055 = 0.055 %, Bybit's
    /// non-VIP taker rate).
    pub taker_fee_rate: Decimal,
    /// Fee rate on resting limit orders that fill later (Bybit non-VIP maker: 0.02 %).
    pub maker_fee_rate: Decimal,
    /// Adverse price move applied to taker fills, basis points of the feed price.
    pub slippage_bps: Decimal,
    /// Cap on `set_leverage`, on top of each instrument's own `max_leverage`.
    pub max_leverage: Decimal,
    /// Leverage of a symbol that was never set. 1 keeps an unconfigured account unlevered.
    pub default_leverage: Decimal,
    /// What can be traded. Quantities are base units (`contract_size` must be 1).
    pub instruments: Vec<Instrument>,
    /// How many finished orders stay known by client order id (for idempotent retries and
    /// `order_by_client_id`); older ones are forgotten. Why a count suffices: the venue
    /// module's "Idempotency" section.
    pub recent_orders: usize,
    /// How many of the latest fills [`super::PaperVenue::fills`] keeps.
    pub recent_fills: usize,
}

impl Default for PaperConfig {
    fn default() -> Self {
        Self {
            starting_balance: Decimal::from(10_000),
            taker_fee_rate: Decimal::new(55, 5),
            maker_fee_rate: Decimal::new(2, 4),
            slippage_bps: Decimal::from(2),
            max_leverage: Decimal::from(20),
            default_leverage: Decimal::ONE,
            instruments: default_instruments(),
            recent_orders: 4096,
            recent_fills: 1000,
        }
    }
}

/// BTCUSDT, ETHUSDT and SOLUSDT linear perpetuals with Bybit-like rules: quantity steps 0.001 /
/// 0.01 / 0.1, ticks 0.1 / 0.01 / 0.001, minimum order value 5 USDT.
pub fn default_instruments() -> Vec<Instrument> {
    [
        ("BTCUSDT", Decimal::new(1, 3), Decimal::new(1, 1)),
        ("ETHUSDT", Decimal::new(1, 2), Decimal::new(1, 2)),
        ("SOLUSDT", Decimal::new(1, 1), Decimal::new(1, 3)),
    ]
    .into_iter()
    .filter_map(|(name, qty_step, tick)| {
        let mut i = Instrument::linear(Symbol::new(name).ok()?, qty_step, tick);
        i.min_notional = Decimal::from(5);
        Some(i)
    })
    .collect()
}

impl PaperConfig {
    /// Refuses settings that would make fills meaningless or divide by zero.
    pub fn validate(&self) -> Result<(), PaperError> {
        let bad = |field: &str, value: Decimal, rule: &'static str| PaperError::BadConfig {
            field: field.to_string(),
            value: value.to_string(),
            rule,
        };
        if self.starting_balance < Decimal::ZERO {
            return Err(bad(
                "starting_balance",
                self.starting_balance,
                "must not be negative",
            ));
        }
        let rate_ok = |r: Decimal| r >= Decimal::ZERO && r < Decimal::new(1, 1);
        if !rate_ok(self.taker_fee_rate) {
            return Err(bad(
                "taker_fee_rate",
                self.taker_fee_rate,
                "must be in [0, 0.1)",
            ));
        }
        // A negative maker rate is a rebate, which some venues pay.
        if self.maker_fee_rate <= Decimal::new(-1, 1) || self.maker_fee_rate >= Decimal::new(1, 1) {
            return Err(bad(
                "maker_fee_rate",
                self.maker_fee_rate,
                "must be in (-0.1, 0.1)",
            ));
        }
        if self.slippage_bps < Decimal::ZERO || self.slippage_bps > Decimal::from(1000) {
            return Err(bad(
                "slippage_bps",
                self.slippage_bps,
                "must be in [0, 1000]",
            ));
        }
        if self.max_leverage < Decimal::ONE {
            return Err(bad("max_leverage", self.max_leverage, "must be at least 1"));
        }
        if self.default_leverage < Decimal::ONE || self.default_leverage > self.max_leverage {
            return Err(bad(
                "default_leverage",
                self.default_leverage,
                "must be between 1 and max_leverage",
            ));
        }
        if self.recent_orders == 0 {
            return Err(PaperError::BadConfig {
                field: "recent_orders".into(),
                value: "0".into(),
                rule: "must be at least 1",
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for i in &self.instruments {
            i.validate().map_err(|e| PaperError::BadInstrument {
                symbol: i.symbol.clone(),
                reason: e.to_string(),
            })?;
            if i.contract_size != Decimal::ONE {
                return Err(PaperError::BadInstrument {
                    symbol: i.symbol.clone(),
                    reason: format!(
                        "contract_size {} is not 1: the paper venue counts in base units",
                        i.contract_size
                    ),
                });
            }
            if !seen.insert(i.symbol.clone()) {
                return Err(PaperError::BadInstrument {
                    symbol: i.symbol.clone(),
                    reason: "listed twice".into(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn default_is_valid_with_realistic_steps() {
        let c = PaperConfig::default();
        assert!(c.validate().is_ok());
        let btc = &c.instruments[0];
        assert_eq!(btc.symbol.as_str(), "BTCUSDT");
        assert_eq!(
            (btc.qty_step, btc.tick_size, btc.min_notional),
            (dec!(0.001), dec!(0.1), dec!(5))
        );
        let sol = &c.instruments[2];
        assert_eq!((sol.qty_step, sol.tick_size), (dec!(0.1), dec!(0.001)));
    }

    #[test]
    fn bad_settings_are_named() {
        let mut c = PaperConfig {
            slippage_bps: dec!(-1),
            ..PaperConfig::default()
        };
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("slippage_bps")
        );
        c.slippage_bps = dec!(2);
        c.default_leverage = dec!(50);
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("default_leverage")
        );
        c.default_leverage = dec!(1);
        let dup = c.instruments[0].clone();
        c.instruments.push(dup);
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("listed twice")
        );
    }

    #[test]
    fn reads_from_partial_json() {
        let c: PaperConfig = serde_json::from_str(r#"{"starting_balance":"500"}"#).unwrap();
        assert_eq!(c.starting_balance, dec!(500));
        assert_eq!(c.taker_fee_rate, dec!(0.00055));
        assert!(serde_json::from_str::<PaperConfig>(r#"{"fee":"1"}"#).is_err());
    }
}
