//! Validation errors for model values. They name the value and the rule it broke, because they are
//! shown to operators and to signal senders as they are.

/// Why a value could not become a model type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("symbol {0:?} is not a unified symbol (2–40 characters of A–Z and 0–9, like BTCUSDT)")]
    BadSymbol(String),
    #[error("{kind} {value:?} is invalid: {rule}")]
    BadId {
        kind: &'static str,
        value: String,
        rule: &'static str,
    },
    #[error("price {0} must be greater than zero")]
    NonPositivePrice(String),
    #[error("{field} {value} is invalid: {rule}")]
    BadNumber {
        field: &'static str,
        value: String,
        rule: &'static str,
    },
    #[error("order state cannot move from {from:?} to {to:?}")]
    BadTransition {
        from: crate::OrderState,
        to: crate::OrderState,
    },
}
