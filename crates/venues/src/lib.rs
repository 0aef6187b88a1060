//! Where orders go: the [`Venue`] trait every exchange adapter implements, the paper venue, and
//! the exchange adapters.
//!
//! The engine only ever talks to `dyn Venue`; everything venue-specific (symbols, units, signing,
//! envelopes, error codes) stays behind it. Quantities cross this boundary in **base units**;
//! adapters convert to venue units with the instrument's contract size.
//!
//! Adapters are built with [`connect`] from a [`VenueId`] and an [`AdapterConfig`]; everything
//! that differs by venue at that level (hosts, key checks, which adapter) is one row of
//! [`registry`]. The machinery they share, and
//! that later adapters (BloFin, KuCoin, MEXC) reuse: [`credentials`] (secrets that never print),
//! [`signing`] (HMAC), [`http`] (signed-request plumbing, venue clock offset, error
//! classification), [`ratelimit`] (documented scopes plus the venue's own headers), [`ws`] (a
//! supervised private stream with heartbeat and reconnect) and [`tracker`] (streamed order
//! updates a caller can wait on).

pub mod adapters;
pub mod batch;
pub mod binance;
pub mod blofin;
pub mod bybit;
pub mod checks;
pub mod connect;
pub mod connect_hosts;
pub mod connect_public;
pub mod credentials;
pub mod error;
pub mod feed;
pub(crate) mod fill_fees;
pub mod http;
pub mod hyperliquid;
pub mod instruments;
pub mod kucoin;
pub mod market;
pub mod mexc;
pub mod paper;
pub mod parse;
pub mod permissions;
pub mod ratelimit;
pub mod registry;
pub mod selftest;
pub mod signing;
pub mod stream_setting;
pub mod tracker;
pub mod venue;
pub mod venue_probe;
pub mod ws;

pub use connect::{AdapterConfig, connect, default_base_url, public_price_feed};
pub use credentials::Credentials;
pub use error::{VenueError, VenueErrorKind};
pub use feed::{PriceFeed, RandomWalkFeed, RecordedFeed};
pub use paper::{PaperConfig, PaperVenue};
pub use stream_setting::StreamSetting;
pub use tradeengine_model::VenueId;
pub use venue::{AccountBalance, Venue, VenueHealth};
