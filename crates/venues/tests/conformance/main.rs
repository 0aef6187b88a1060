//! The venue conformance suite: every scenario an exchange adapter must pass, run against each
//! venue's simulator from one table ([`venues`]: one row per venue with its paths, codes and
//! quirks). A scenario is written once, as a function of a row; [`cells!`] makes one test per
//! (scenario, venue) cell, so a failure names both and the cells run in parallel.
//!
//! A venue is left out of a scenario only where the scenario cannot apply to it, and the
//! scenario's module says why. What is truly one venue's own (KuCoin's lot conversion, Bybit's
//! "not modified" code 110026, Hyperliquid's signing and nonces, MEXC's order entry) stays in
//! that venue's own test file. `CONFORMANCE.md` beside this directory maps every test the
//! per-venue copies had to its cell here or to the venue's own file.
#![allow(clippy::unwrap_used)]

// Defined before the modules that use it (a `macro_rules!` is in scope below its definition).
/// One `#[tokio::test]` per venue named after it, in a module named after the scenario:
/// `cells!(scenario: bybit, binance)` runs `scenario(&venues::bybit())` and
/// `scenario(&venues::binance())`.
macro_rules! cells {
    ($scenario:ident : $($venue:ident),+ $(,)?) => {
        mod $scenario {
            $(
                #[tokio::test]
                async fn $venue() {
                    super::$scenario(&crate::venues::$venue()).await;
                }
            )+
        }
    };
}

#[path = "../sim/mod.rs"]
mod sim;

mod adapter;
mod auth;
mod faults;
mod klines;
mod listing;
mod orders;
mod reads;
mod settings;
mod stream;
mod venues;
