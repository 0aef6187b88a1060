//! Hyperliquid perpetuals.
//!
//! - [`signing`]: L1 action signing (msgpack + keccak action hash, the EIP-712 phantom agent),
//!   exactly as the official Python SDK signs;
//! - [`actions`]: the `/exchange` actions, fields in the order the exchange hashes them;
//! - [`wire`]: prices, sizes, market-order slippage and `cloid`s on the wire;
//! - [`nonce`]: per-signer nonces that only go up, also across restarts;
//! - [`http`]: `/info` and `/exchange`, the IP weight limit, the reply envelope;
//! - [`models`]: the reply shapes we read;
//! - [`connect`]: keys (master address + API wallet key) checked;
//! - `dead_man`: the scheduled cancel kept ahead while the engine places orders;
//! - [`batch`]: many orders in one `order` action;
//! - [`venue`], [`orders`]: [`HyperliquidVenue`], the [`crate::Venue`] implementation;
//! - [`stream`], [`stream_book`]: fills and order updates pushed on the WebSocket
//!   (`userFills`, `orderUpdates`), learnt early; REST read-back stays the truth;
//! - [`klines`]: public candles.

pub mod actions;
pub mod batch;
pub mod connect;
mod dead_man;
pub mod http;
pub mod klines;
pub mod models;
pub mod nonce;
pub mod orders;
#[cfg(test)]
mod sdk_vectors;
pub mod signing;
pub mod stream;
pub mod stream_book;
pub mod venue;
pub mod wire;

pub use connect::{connect_hyperliquid, connect_hyperliquid_with};
pub use venue::{HyperliquidOptions, HyperliquidVenue};

/// The `venue` of every Hyperliquid error.
pub const VENUE: &str = "hyperliquid";
/// <https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api>
pub const MAINNET_URL: &str = "https://api.hyperliquid.xyz";
pub const TESTNET_URL: &str = "https://api.hyperliquid-testnet.xyz";
