//! The money core of tradeengine: the pure path from the signals held by sources to the orders
//! that move an account (ARCHITECTURE.md, "The signal path").
//!
//! ```text
//! Signal ──apply_signal──► Sleeve ──blend──► Blend ──size_target / account_targets──► SizedTarget ──plan──► Plan
//!  (per source)            (per source      (per symbol:      (per account and symbol:             (orders from the
//!                           and symbol)      D, B, L)          base and venue units)                actual position)
//! ```
//!
//! No async, no I/O, no clock: time is an argument, and every function returns the same answer
//! for the same input. Money is `rust_decimal::Decimal`; every operation on outside input is
//! checked and fails with [`CoreError`] instead of panicking.
//!
//! Units used throughout (see `tradeengine_model`): **base** units of the asset (BTC), **venue**
//! units (contracts, lots: `base = venue × contract_size`), **quote** units (USDT) for prices,
//! notionals and account value `V`. Depth `D` is a dimensionless fraction of `V`; leverage `L` a
//! dimensionless multiple.
//!
//! The target of one account in one symbol is
//!
//! ```text
//! qty [base] = V × D × L / P  +  Σ_src w_src × q_src
//! ```
//!
//! where the first term comes from depth sleeves (target intents, order intents sized as a
//! fraction of the account) and the second from base-unit sleeves (order intents sized in base
//! or quote units), which are the same quantity on every account. See [`mod@blend`], [`size`] and
//! [`mod@plan`] for the rules of each stage and [`sleeve`] for the sleeve state machine.
//!
//! Typical cycle in the engine:
//!
//! 1. each new signal: [`sleeve::apply_signal`]; audit the [`sleeve::SleeveDecision`];
//! 2. each cycle: [`sleeve::sleeve_exits`] → [`sleeve::close_sleeve`] for the sleeves that exit;
//! 3. per symbol, once: [`blend::blend`];
//! 4. per account: [`size::account_targets`] over its symbols (gross budget included);
//! 5. per account and symbol: [`plan::plan`] from the venue's actual position.

// Tests may unwrap (team rules); library code may not (workspace lint).
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod attribution;
pub mod blend;
pub mod client_id;
pub mod error;
mod instrument;
pub mod margin;
pub mod num;
pub mod plan;
mod plan_split;
pub mod risk;
pub mod size;
pub mod sleeve;

pub use blend::{
    Blend, BlendPolicy, Contribution, OnStale, SourceStaleness, SymbolConfig, blend,
    integer_leverage,
};
pub use client_id::client_order_id;
pub use error::CoreError;
pub use plan::{MAX_LEGS, PlanInput, plan};
pub use risk::{PortfolioState, RiskRefusal, RiskRule};
pub use size::{
    AccountSizing, Limit, SizeInput, SizedTarget, account_targets, apply_gross_budget, size_target,
};
pub use sleeve::{
    ExitReason, Refusal, SleeveChange, SleeveDecision, SleeveExit, SleeveRules, apply_signal,
    close_sleeve, is_cooling, sleeve_exits,
};

use tradeengine_model::{Instrument, Price, Sleeve, Timestamp};

/// Blend → size for one account and one symbol: the whole path from sleeves to a target, for
/// callers that handle one symbol at a time (the gross budget needs [`account_targets`]).
pub fn account_target(
    config: &SymbolConfig,
    sleeves: &[Sleeve],
    policy: &BlendPolicy,
    now: Timestamp,
    account: &AccountSizing,
    price: Price,
    instrument: &Instrument,
) -> Result<(Blend, SizedTarget), CoreError> {
    let b = blend(config, sleeves, policy, now)?;
    let t = size_target(
        &SizeInput {
            blend: &b,
            price,
            instrument,
        },
        account,
        policy,
    )?;
    Ok((b, t))
}
