//! Signed-request plumbing shared by the exchange adapters: query strings signed as sent
//! ([`query`]), venue time with a measured offset ([`time`]), the HTTP transport and its
//! wire-error classification ([`transport`]), and status/header classification
//! ([`classify`]).

pub mod classify;
pub mod envelope;
pub mod query;
pub mod time;
pub mod transport;

pub use query::Query;
pub use time::VenueClock;
pub use transport::{Method, RawResponse, Request, Transport};
