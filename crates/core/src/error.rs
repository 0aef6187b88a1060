//! Errors of the money core. Each names the value and the rule it broke, because the engine shows
//! them to operators as they are and audits them next to the plan they stopped.
//!
//! A refused *signal* is not an error: it is a decision with a reason
//! ([`crate::sleeve::Refusal`]). Errors here mean the inputs cannot produce a safe answer at all
//! (bad configuration, an invalid instrument, arithmetic that would overflow), and in that case
//! nothing is produced: no half-built plan, no partly scaled target.

use tradeengine_model::ModelError;

/// Why the core could not compute an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// A `checked_*` operation failed: the inputs are valid one by one but their product or
    /// quotient leaves `Decimal`'s range (about ±7.9e28).
    #[error("arithmetic overflow while computing {0}")]
    Overflow(&'static str),
    /// The venue (or a config file) handed us instrument rules we cannot size against.
    #[error("instrument {symbol} is invalid: {source}")]
    BadInstrument { symbol: String, source: ModelError },
    /// Sizing is a fraction of account value; zero or negative value has no meaning.
    #[error("account value {0} must be greater than zero")]
    NonPositiveAccountValue(String),
    /// A configuration or input number outside its allowed range.
    #[error("{field} {value} is invalid: {rule}")]
    BadInput {
        field: &'static str,
        value: String,
        rule: &'static str,
    },
    /// Two inputs that must agree do not (a sleeve of another symbol passed to a blend, a
    /// signal applied to another source's sleeve).
    #[error("{what}: expected {expected}, found {found}")]
    Mismatch {
        what: &'static str,
        expected: String,
        found: String,
    },
    /// Two sleeves of one source in one symbol: the blend would be ambiguous.
    #[error("two sleeves of source {source_id} in {symbol}")]
    DuplicateSleeve { source_id: String, symbol: String },
    /// The plan would need more orders than any sane plan has; the inputs are almost certainly
    /// wrong (a tiny `max_market_qty` or a huge target).
    #[error("plan needs {legs} orders, more than the limit of {max}")]
    TooManyLegs { legs: String, max: usize },
}

impl CoreError {
    /// Shorthand for [`CoreError::BadInput`] with the value formatted.
    pub(crate) fn bad(field: &'static str, value: impl ToString, rule: &'static str) -> Self {
        Self::BadInput {
            field,
            value: value.to_string(),
            rule,
        }
    }
}
