//! Binance USDⓈ-M futures adapter: USDT-margined perpetuals, one-way mode.
//!
//! - [`auth`]: request signatures;
//! - [`codes`]: what each error code means for the caller;
//! - [`http`]: signed requests, weights and order counts, clock resync;
//! - [`models`]: reply shapes and their conversion to the model;
//! - [`stream`]: the user-data stream (listen key, order and account updates);
//! - [`venue`]: [`BinanceVenue`], the [`crate::Venue`] implementation.

pub mod auth;
pub mod codes;
pub mod http;
pub mod klines;
pub mod models;
pub mod permissions;
pub mod stream;
pub mod venue;

pub use venue::BinanceVenue;

pub const VENUE: &str = "binance";
pub const MAINNET_URL: &str = "https://fapi.binance.com";
pub const TESTNET_URL: &str = "https://demo-fapi.binance.com";
pub const MAINNET_STREAM: &str = "wss://fstream.binance.com/ws";
pub const TESTNET_STREAM: &str = "wss://fstream.binancefuture.com/ws";

/// The user-data stream base (the listen key is appended) for a REST base URL.
pub fn stream_base(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    match base {
        MAINNET_URL => MAINNET_STREAM.to_string(),
        TESTNET_URL | "https://testnet.binancefuture.com" => TESTNET_STREAM.to_string(),
        _ => {
            let ws = if let Some(rest) = base.strip_prefix("https://") {
                format!("wss://{rest}")
            } else if let Some(rest) = base.strip_prefix("http://") {
                format!("ws://{rest}")
            } else {
                base.to_string()
            };
            format!("{ws}/ws")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_bases() {
        assert_eq!(stream_base("https://fapi.binance.com"), MAINNET_STREAM);
        assert_eq!(stream_base(TESTNET_URL), TESTNET_STREAM);
        assert_eq!(
            stream_base("http://127.0.0.1:9001/"),
            "ws://127.0.0.1:9001/ws"
        );
    }
}
