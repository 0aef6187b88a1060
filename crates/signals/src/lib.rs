//! Signal sources: everything between a source's bytes and a normalised
//! [`tradeengine_model::Signal`].
//!
//! - [`tradingview`]: webhook alerts: parse (JSON, whatever the content type), authenticate
//!   (secret in constant time, optional IP allow-list), validate (caps, symbol mapping, TTL),
//!   deduplicate (event id, else payload hash) and order close/open pairs that arrive together.
//! - [`sn8`]: Bittensor subnet 8 (PTN/Vanta): tolerant parsing of the validator's REST payloads,
//!   miner selection (`seed` or `ptn` scoring), rank weights, per-asset depth, a population guard
//!   that cannot lock itself out, staleness handling, and the HTTP poller client.
//! - [`canonical`], [`strategy_signal`] and [`amount_signal`]: the message schemas the brokers
//!   and the REST API accept, each to an order or target signal, sharing [`message`] (context,
//!   idempotency key, errors naming the field).
//!
//! Everything except the poller's HTTP client is pure: time is a parameter, nothing here reads a
//! clock or a file. Parsers never panic on any input (property-tested with random bytes).

// Tests may unwrap (team rule); library code may not.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod amount_signal;
pub mod canonical;
pub mod mapping;
pub mod message;
pub mod num;
pub mod occurrence;
pub mod sn8;
pub mod strategy;
pub mod strategy_signal;
pub mod tradingview;

pub use mapping::{SymbolError, SymbolMap};

/// Decimal places a signal's depth is rounded to (half to even). Depth is a fraction of account
/// value; 10⁻¹² of even a $10 M account is $0.00001, far below any venue's lot, so the rounding
/// never changes an order. It keeps repeating fractions (`1/3`, rank weights `1/6`) from
/// carrying 28 digits of noise into the store and the audit trail.
pub const DEPTH_DECIMALS: u32 = 12;

/// Rounds a depth by the rule above.
pub fn round_depth(d: rust_decimal::Decimal) -> rust_decimal::Decimal {
    d.round_dp_with_strategy(
        DEPTH_DECIMALS,
        rust_decimal::RoundingStrategy::MidpointNearestEven,
    )
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn depth_rounding_is_half_even_at_12_places() {
        assert_eq!(round_depth(dec!(1) / dec!(3)), dec!(0.333333333333));
        assert_eq!(round_depth(dec!(-2) / dec!(3)), dec!(-0.666666666667));
        assert_eq!(round_depth(dec!(0.0000000000005)), dec!(0));
        assert_eq!(round_depth(dec!(0.0000000000015)), dec!(0.000000000002));
        assert_eq!(round_depth(dec!(0.1408)), dec!(0.1408));
    }
}
