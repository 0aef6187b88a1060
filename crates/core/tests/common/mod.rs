//! What the money core's property tests share: a fixed time and symbol, the signed size of a
//! leg, and a runner with a fixed seed and no persisted failures (every run checks the same
//! cases; CI writes no regression files).

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use chrono::TimeZone;
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use rust_decimal::Decimal;
use tradeengine_model::{Side, Symbol, Timestamp};

pub fn t0() -> Timestamp {
    chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

pub fn sym() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

/// A leg's signed size: buys add, sells take away.
pub fn signed(side: Side, qty: Decimal) -> Decimal {
    match side {
        Side::Buy => qty,
        Side::Sell => -qty,
    }
}

/// Runs `test` over `strategy` from the seed `[seed; 32]`, with `cases` cases (`None`: the
/// default, which `PROPTEST_CASES` sets).
pub fn check_seeded<S: Strategy>(
    seed: u8,
    cases: Option<u32>,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let mut config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    if let Some(cases) = cases {
        config.cases = cases;
    }
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}
