//! The engine's reconciliation cycle on every venue simulator, from one table ([`venues`]): the
//! same scenarios the per-venue cycle files used to repeat with paths swapped — targets reached
//! on each venue's grid and a quiet cycle that sends nothing, a position that opens, moves,
//! flips (reduce-only close, then open) and closes, leverage changes, the smallest position
//! closing, and every simulator fault converging without an order doubled. [`cells!`] makes one
//! test per (scenario, venue), so a failure names both and the cells run in parallel.
//!
//! What only one venue has (MEXC's restricted order entry, KuCoin's synthetic lots) is in
//! [`specific`]; `crates/venues/tests/CONFORMANCE.md` maps every former test to its cell.
#![allow(clippy::unwrap_used)]

#[path = "../sims/mod.rs"]
mod sims;

mod cycles;
mod faults;
mod specific;
mod venues;

/// One `#[tokio::test]` per venue named after it, in a module named after the scenario.
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
pub(crate) use cells;
