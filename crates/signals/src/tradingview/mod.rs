//! TradingView webhooks: parse, authenticate, normalise, deduplicate and order alerts.
//!
//! The HTTP route lives in the server; it hands the body, content type, URL token and peer
//! address to [`parse_request`] and answers with [`TvError::http_status`] (401 / 400 / 422) or
//! 200 once the signal is stored. [`Dedup`] is the in-memory fast path for repeats; the store's
//! unique idempotency key is the durable one. [`resolve_order`] orders a close and an open that
//! arrive together.
//!
//! Weaknesses of sirouk/trade-engine's webhook fixed here:
//! - **no authentication**: a secret is required (body field or URL token), compared in constant
//!   time; an optional allow-list with TradingView's published addresses as a preset;
//! - **no replay protection**: idempotency by `event_id`, else by payload hash, and alerts older
//!   than the source's TTL (or the alert's own `max_lag`) are refused;
//! - **unbounded depth and leverage**: caps per source, refused with 422 instead of accepted;
//! - **a negative numerator on a `long` alert opened a short**: the direction decides the sign;
//! - **a non-flat alert with an `Exit @ …` size was skipped**: it now closes (depth 0);
//! - **numbers had to be quoted** (Pydantic `str` fields): strings and numbers are both accepted;
//! - **unmapped symbols passed through**: a symbol outside the source's mapping gets 422.

pub mod auth;
pub mod config;
pub mod dedup;
pub mod error;
mod fields;
pub mod ordering;
pub mod parse;
pub mod proxy;
pub mod size;

pub use auth::{IpAllowList, IpNet, TRADINGVIEW_WEBHOOK_IPS, check_secret, secret_matches};
pub use config::{TvAliases, TvConfig};
pub use dedup::{Dedup, DedupVerdict};
pub use error::{AuthFailure, TvError, TvErrorClass};
pub use ordering::{
    DEFAULT_PAIR_WINDOW, Ordered, OrderingBasis, PriorState, Resolution, Sequenced, resolve_order,
};
pub use parse::{TvAlert, TvRequest, parse, parse_request, parse_time};
pub use size::{Direction, SizeSpec};
